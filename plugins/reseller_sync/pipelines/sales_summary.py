"""A reseller's daily sales summary: one HTML page with charts, to attach to or link from an
e-mail.

``build_sales_summary`` reads the box office (the dashboard's own query, so
both always agree); ``render_sales_summary`` turns it into a self-contained
HTML document: inline CSS and inline SVG bar charts, no script, nothing
fetched from the network. Partner values (shop names) are escaped. The
document names no buyer and no beneficiary: only counts and amounts by point
of sale, performance, product and tariff. ``write_sales_summary`` keeps it as
a file; ``sales_summary_mail`` says the day's figures in the e-mail that
carries it, in the configured language.
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from reseller_sync.config.settings import InstanceSettings
from reseller_sync.dashboard.queries import DaySales, day_sales
from reseller_sync.dashboard.views import render, sales_charts
from reseller_sync.domain.texts import Localized

BREAKDOWNS = ("point_of_sale", "performance", "product", "tariff")


@dataclass(frozen=True)
class SalesSummary:
    reseller: str
    """The reseller's code."""
    reseller_name: str
    """How the report names the reseller: the instance's display name."""
    day: dt.date
    timezone: str
    organiser_reference: str | None
    """How the reseller knows the organiser (``InstanceSettings.organiser_reference``)."""
    generated_at: dt.datetime
    sales: DaySales
    dashboard_url: str | None = None
    """Where the same figures live in the Airflow UI, linked from the report when given."""

    @property
    def file_name(self) -> str:
        """A name for the attachment: ``<code>-sales-2026-11-28.html``."""
        return f"{self.reseller}-sales-{self.day.isoformat()}.html"


def build_sales_summary(
    session: Session,
    reseller: str,
    settings: InstanceSettings,
    day: dt.date,
    *,
    now: dt.datetime | None = None,
    dashboard_url: str | None = None,
) -> SalesSummary:
    """The reseller's sales of ``day`` (a day of the organiser's time zone), test tickets
    excluded."""
    return SalesSummary(
        reseller=reseller,
        reseller_name=settings.display_name,
        day=day,
        timezone=settings.boxoffice.venue_timezone,
        organiser_reference=settings.organiser_reference,
        generated_at=now or dt.datetime.now(dt.UTC),
        sales=day_sales(session, reseller, settings, day),
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


def write_sales_summary(
    session: Session,
    reseller: str,
    settings: InstanceSettings,
    day: dt.date,
    folder: Path,
    *,
    dashboard_url: str | None = None,
) -> tuple[SalesSummary, Path]:
    """Build the summary of ``day`` and write its HTML report in ``folder`` (replaced whole)."""
    summary = build_sales_summary(session, reseller, settings, day, dashboard_url=dashboard_url)
    folder.mkdir(parents=True, exist_ok=True)
    report = folder / summary.file_name
    partial = report.with_name(f".{report.name}.partial")
    partial.write_text(render_sales_summary(summary), encoding="utf-8")
    partial.replace(report)
    return summary, report


@dataclass(frozen=True)
class SummaryMail:
    subject: str
    text: str
    html: str


SUMMARY_WORDS = {
    "subject": Localized(fr="[{reseller}] Ventes du {day}", en="[{reseller}] Sales of {day}"),
    "body": Localized(
        fr="Ventes {reseller} du {day} : {tickets} billet(s) en {orders} commande(s), {amounts}.",
        en="{reseller} sales of {day}: {tickets} ticket(s) in {orders} order(s), {amounts}.",
    ),
    "cancelled": Localized(
        fr="Dont {cancelled} billet(s) annulé(s) depuis.",
        en="Of which {cancelled} ticket(s) cancelled since.",
    ),
    "attached": Localized(
        fr="Le rapport détaillé (par point de vente, séance, produit et tarif) est joint : {name}.",
        en="The detailed report (by point of sale, performance, product and tariff) is "
        "attached: {name}.",
    ),
}


def sales_summary_mail(summary: SalesSummary, settings: InstanceSettings) -> SummaryMail:
    """The e-mail that carries the report, in the configured language; its subject starts
    with the reseller's display name."""
    language = settings.notifications.language.value
    reseller = settings.display_name
    sales = summary.sales
    values = {
        "day": f"{summary.day:%d/%m/%Y}",
        "tickets": str(sales.tickets),
        "orders": str(sales.orders),
        "amounts": " + ".join(
            f"{amount / 100:.2f} {currency}" for currency, amount in sorted(sales.amounts.items())
        )
        or "0",
        "cancelled": str(sales.cancelled),
        "name": summary.file_name,
    }

    def say(word: str) -> str:
        return SUMMARY_WORDS[word].render(language, reseller).format(**values)

    lines = [say("body")]
    if sales.cancelled:
        lines.append(say("cancelled"))
    lines.append(say("attached"))
    return SummaryMail(
        subject=say("subject"),
        text="\n\n".join(lines) + "\n",
        html="<!doctype html>\n<html><body>\n"
        + "".join(f"<p>{html.escape(line)}</p>\n" for line in lines)
        + "</body></html>\n",
    )
