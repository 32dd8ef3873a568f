"""The daily FNAC sales summary: one HTML page with charts, to attach to or link from an e-mail.

``build_sales_summary`` reads the box office (the dashboard's own query, so
both always agree); ``render_sales_summary`` turns it into a self-contained
HTML document: inline CSS and inline SVG bar charts, no script, nothing
fetched from the network. Partner values (shop names) are escaped. The
document names no buyer and no beneficiary: only counts and amounts by point
of sale, performance, product and tariff.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from reseller_sync.config.settings import FnacSettings
from reseller_sync.dashboard.queries import DaySales, day_sales
from reseller_sync.dashboard.views import render, sales_charts

BREAKDOWNS = ("point_of_sale", "performance", "product", "tariff")


@dataclass(frozen=True)
class SalesSummary:
    day: dt.date
    timezone: str
    manager_code: str
    generated_at: dt.datetime
    sales: DaySales
    dashboard_url: str | None = None
    """Where the same figures live in the Airflow UI, linked from the report when given."""

    @property
    def file_name(self) -> str:
        """A name for the attachment: ``fnac-sales-2026-11-28.html``."""
        return f"fnac-sales-{self.day.isoformat()}.html"


def build_sales_summary(
    session: Session,
    settings: FnacSettings,
    day: dt.date,
    *,
    now: dt.datetime | None = None,
    dashboard_url: str | None = None,
) -> SalesSummary:
    """FNAC's sales of ``day`` (a day of the organiser's time zone), test tickets excluded."""
    return SalesSummary(
        day=day,
        timezone=settings.boxoffice.venue_timezone,
        manager_code=settings.manager_code,
        generated_at=now or dt.datetime.now(dt.UTC),
        sales=day_sales(session, settings, day),
        dashboard_url=dashboard_url,
    )


def render_sales_summary(summary: SalesSummary) -> str:
    """The summary as one self-contained HTML document with inline SVG charts."""
    return render(
        "sales_summary.html.j2",
        summary=summary,
        sales=summary.sales,
        charts={by: sales_charts(summary.sales, by=by) for by in BREAKDOWNS},
    )
