"""Digitick as a reseller type: what it may sell and how it exchanges (``realtime-api-v1``
sections 1, 2, 7, 13 and 18 point 1).

Digitick sells events, competitions and visit passes for one person, dated or not
(section 2); it takes seated and free-placement places (a pass is a count). It answers in
the call itself, reports its sales as orders and cancellations, and serves its sales report
for the nightly reconciliation.
"""

from __future__ import annotations

from reseller_sync.core.resellers import (
    Acknowledgement,
    InterfaceKind,
    NightlyExchange,
    Placement,
    ResellerType,
    SalesReporting,
)
from reseller_sync.domain.products import ProductKind

RESELLER_TYPE = ResellerType(
    code="digitick",
    name="Digitick",
    contract="realtime-api-v1",
    interface=InterfaceKind.REALTIME,
    product_kinds=frozenset(
        {
            ProductKind.EVENT,
            ProductKind.COMPETITION,
            ProductKind.VISIT_PASS,
            ProductKind.UNDATED_PASS,
        }
    ),
    placements=frozenset({Placement.SEATED, Placement.FREE}),
    acknowledgement=Acknowledgement.SYNCHRONOUS,
    sales_reporting=SalesReporting.EVENT_LOG,
    nightly=(NightlyExchange.SALES_REPORT,),
    refusal_reference="section 2",
    identity_mapping=True,
)
"""Its calls are answered at once (orders, cancellations: an event log); at night its sales
report is reconciled with the box office's orders (sections 13 and 14)."""
