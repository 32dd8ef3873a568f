"""The SecuTix box office as a reseller type: what it may sell and how it exchanges
(``secutix-reseller-v1`` sections 1, 3, 4, 7 and 9).

Declared here for the pieces of the adapter written so far (settings, mapping
vocabulary, canonical lines); the type joins the registry (``ADAPTER_MODULES``)
once its adapter module provides every hook and passes the contract suite.

The contract names four product kinds (section 1). The box office's kinds map onto
them by :func:`exchanged_kind`: a box-office visit pass is the contract's dated
``VISIT_PASS`` when its performances are visit days or slots (they have a start), and
its ``UNDATED_PASS`` when it has validity dates only.
"""

from __future__ import annotations

from enum import StrEnum

from reseller_sync.core.resellers import (
    QUARTER_HOURLY,
    Acknowledgement,
    InboundStream,
    InterfaceKind,
    NightlyExchange,
    Placement,
    ResellerType,
    SalesReporting,
    StreamRole,
)
from reseller_sync.domain.products import ProductKind

RESELLER_TYPE = ResellerType(
    code="secutix",
    name="SecuTix reseller",
    contract="secutix-reseller-v1",
    interface=InterfaceKind.FILES,
    product_kinds=frozenset(
        {
            ProductKind.EVENT,
            ProductKind.COMPETITION,
            ProductKind.VISIT_PASS,
            ProductKind.UNDATED_PASS,
        }
    ),
    placements=frozenset({Placement.SEATED, Placement.FREE}),
    acknowledgement=Acknowledgement.ANSWER_FILE,
    sales_reporting=SalesReporting.TICKET_STATES,
    nightly=(NightlyExchange.INVENTORY, NightlyExchange.WITHDRAWAL),
    refusal_reference="section 1, RESULT code O01",
    streams=(InboundStream("TICKETS", StreamRole.TICKET_STATES),),
    streams_elsewhere=(("STOCK", "nightly"),),
    identity_mapping=True,
    inbound_rhythm=QUARTER_HOURLY,
)
"""Every 15 minutes a TICKETS file gives the current state of each ticket that changed
(section 7.1); the nightly STOCK is reconciled at night (section 7.3); RESULT files answer
the organiser's OFFER, CONTINGENT and WITHDRAW files line by line (section 7.4)."""


class ExchangedKind(StrEnum):
    """The contract's ``PRODUCT_KIND`` (section 1)."""

    EVENT = "EVENT"
    COMPETITION = "COMPETITION"
    VISIT_PASS = "VISIT_PASS"
    """Dated: one visit day or time slot, a ``PERFORMANCE_CODE`` per day or slot."""
    UNDATED_PASS = "UNDATED_PASS"
    """Validity dates, or undated: no ``PERFORMANCE_CODE``, the pass's single performance."""

    @property
    def dated(self) -> bool:
        """Its lines name a performance (``PERFORMANCE_CODE``)."""
        return self is not ExchangedKind.UNDATED_PASS

    @property
    def seated(self) -> bool:
        """Its lines name a place (``SEAT``): a seat, or a free-placement block."""
        return self in (ExchangedKind.EVENT, ExchangedKind.COMPETITION)


def exchanged_kind(kind: ProductKind, *, dated: bool) -> ExchangedKind | None:
    """The contract's kind of a box-office product of ``kind``; None for a kind the
    reseller may not sell (section 1).

    ``dated``: the product's performances have a start (a visit day or slot), which
    decides between ``VISIT_PASS`` and ``UNDATED_PASS`` for a box-office visit pass.
    """
    if kind is ProductKind.EVENT:
        return ExchangedKind.EVENT
    if kind is ProductKind.COMPETITION:
        return ExchangedKind.COMPETITION
    if kind is ProductKind.VISIT_PASS:
        return ExchangedKind.VISIT_PASS if dated else ExchangedKind.UNDATED_PASS
    if kind is ProductKind.UNDATED_PASS:
        return ExchangedKind.UNDATED_PASS
    return None
