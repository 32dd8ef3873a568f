"""Rendering for the dashboard and the reports: the template environment, formats, charts.

Templates live in ``include/templates`` and are autoescaped: names and values
that come from partner files (shops, beneficiaries, error values) stay text.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from markupsafe import Markup

from reseller_sync.dashboard.charts import Bar, bar_chart
from reseller_sync.dashboard.queries import DaySales, SalesLine
from reseller_sync.templates import template_environment

MAX_BARS = 15


@cache
def templates() -> jinja2.Environment:
    environment = template_environment().overlay()
    environment.filters.update(
        amount=format_amount,
        amounts=format_amounts,
        age=format_age,
        moment=format_moment,
    )
    return environment


def render(template: str, **values: Any) -> str:
    return templates().get_template(template).render(**values)


def format_amount(cents: int, currency: str) -> str:
    """``685000, "EUR"`` → ``6,850.00 EUR``."""
    sign = "-" if cents < 0 else ""
    units, rest = divmod(abs(cents), 100)
    return f"{sign}{units:,}.{rest:02d} {currency}"


def format_amounts(amounts: dict[str, int]) -> str:
    """Amounts in several currencies, never added together: ``12.00 CHF + 68.50 EUR``."""
    if not amounts:
        return "0.00"
    return " + ".join(format_amount(cents, currency) for currency, cents in amounts.items())


def format_age(age: dt.timedelta | None) -> str:
    """``3 h 12 min``, ``2 d 4 h``; ``never`` when there is no age."""
    if age is None:
        return "never"
    minutes = max(0, int(age.total_seconds() // 60))
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min"


def format_moment(moment: dt.datetime | None, zone: str | None = None) -> str:
    """A timestamp in the organiser's zone (UTC when none is given), to the minute."""
    if moment is None:
        return "—"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    shown = moment.astimezone(ZoneInfo(zone)) if zone else moment.astimezone(dt.UTC)
    return shown.strftime("%Y-%m-%d %H:%M") + ("" if zone else " UTC")


def sales_charts(sales: DaySales, *, by: str) -> list[Markup]:
    """Bar charts of one breakdown (``point_of_sale``, ``performance``, ``product``,
    ``tariff``): tickets, then the amount in each currency sold that day."""
    lines: list[SalesLine] = getattr(sales, f"by_{by}")[:MAX_BARS]
    title = by.replace("_", " ")
    charts = [
        bar_chart(
            [Bar(line.label, line.tickets) for line in lines],
            title=f"Tickets by {title}",
        )
    ]
    for currency in sorted(sales.amounts):
        bars = [
            Bar(line.label, cents, format_amount(cents, currency))
            for line in sorted(lines, key=lambda line: -line.amounts.get(currency, 0))
            if (cents := line.amounts.get(currency, 0))
        ]
        charts.append(bar_chart(bars, title=f"Amount in {currency} by {title}"))
    return charts
