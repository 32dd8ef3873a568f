"""The synchronous resellers' sandbox (``realtime-api-v1``): the reseller's side of the
contract. Its customers buy and cancel through the box office's real-time service
(:mod:`~devtools.sandboxes.realtime.customers`, on the spec's client
:mod:`~devtools.sandboxes.realtime.client`), it keeps its books
(:mod:`~devtools.sandboxes.realtime.ledger`), and it serves its nightly sales report over
HTTP (:mod:`~devtools.sandboxes.realtime.report_server`), each with its faults."""

DEFAULT_CONN_ID = "realtime_sandbox_sales_report"
