"""Use cases on canonical lines (``core.lines``), whatever the reseller: sales and
cancellations checked against the box office and written. Nothing here names a reseller;
an adapter hands its lines and an ``IntegrationSettings``. See docs/canonical-lines.md."""
