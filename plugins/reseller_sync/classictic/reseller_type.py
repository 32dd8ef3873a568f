"""ClassicTic as a reseller type: what it may sell and how it exchanges
(``realtime-api-v1`` sections 1, 2, 7, 13 and 18 point 1).

ClassicTic sells events alone (section 2): a competition or a pass is not on its channel,
and the service answers ``404 not-found`` for one. It takes seated and free-placement
places, answers in the call itself, reports its sales as orders and cancellations, and
serves its sales report for the nightly reconciliation.
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
    code="classictic",
    name="ClassicTic",
    contract="realtime-api-v1",
    interface=InterfaceKind.REALTIME,
    product_kinds=frozenset({ProductKind.EVENT}),
    placements=frozenset({Placement.SEATED, Placement.FREE}),
    acknowledgement=Acknowledgement.SYNCHRONOUS,
    sales_reporting=SalesReporting.EVENT_LOG,
    nightly=(NightlyExchange.SALES_REPORT,),
    refusal_reference="section 2",
    identity_mapping=True,
)
"""Its calls are answered at once (orders, cancellations: an event log); at night its sales
report is reconciled with the box office's orders (sections 13 and 14)."""
