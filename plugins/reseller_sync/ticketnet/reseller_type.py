"""Ticketnet as a reseller type: what it may sell and how it exchanges
(``ticketnet-exchange-v1`` sections 1, 3, 4 and 9).

Declared here for the pieces of the adapter written so far (settings, mapping
vocabulary, canonical lines); the type joins the registry (``ADAPTER_MODULES``)
once its adapter module provides every hook and passes the contract suite.
"""

from __future__ import annotations

from reseller_sync.core.resellers import (
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
    code="ticketnet",
    name="Ticketnet",
    contract="ticketnet-exchange-v1",
    interface=InterfaceKind.FILES,
    product_kinds=frozenset({ProductKind.EVENT, ProductKind.COMPETITION}),
    placements=frozenset({Placement.SEATED, Placement.FREE}),
    acknowledgement=Acknowledgement.ANSWER_PER_BATCH,
    sales_reporting=SalesReporting.EVENT_LOG,
    nightly=(NightlyExchange.INVENTORY, NightlyExchange.WITHDRAWAL),
    refusal_reference="section 1, ACK code C01",
    streams=(
        InboundStream("PRICETYPES", StreamRole.CUSTOMER_CATEGORIES),
        InboundStream("SALES", StreamRole.SALES),
    ),
    streams_elsewhere=(("INVENTORY", "nightly"),),
)
"""Sales and refunds come in one stream (``SALES``): its batches carry both (section 7.1)."""
