"""The bar charts and the daily sales summary report."""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from reseller_sync.dashboard.charts import Bar, bar_chart
from reseller_sync.fnac.settings import FnacSettings
from reseller_sync.pipelines.sales_summary import build_sales_summary, render_sales_summary
from tests.dashboard.activity import DAY, NOW, SCRIPT


def _widths(svg: str) -> list[float]:
    return [float(width) for width in re.findall(r'<rect [^>]*width="([0-9.]+)"', svg)]


def test_bars_are_scaled_to_the_largest_value() -> None:
    svg = bar_chart([Bar("Ternes", 4), Bar("Rive", 2), Bar("Lille", 1)], title="Tickets")
    assert svg.startswith("<svg")
    assert _widths(svg) == [300.0, 150.0, 75.0]
    assert ">4<" in svg


def test_chart_labels_are_escaped() -> None:
    svg = bar_chart([Bar(SCRIPT, 1, shown_value="<b>1</b>")], title="<i>title</i>")
    assert "<script" not in svg
    assert "<b>" not in svg
    assert "<i>" not in svg
    assert "&lt;script&gt;" in svg


def test_a_chart_without_bars_says_so() -> None:
    svg = bar_chart([], title="Tickets")
    assert "no data" in svg
    assert "<rect" not in svg


def test_a_long_label_is_shortened_but_kept_whole_in_the_tooltip() -> None:
    label = "FNAC Paris Champs-Élysées, espace billetterie du premier étage"
    svg = bar_chart([Bar(label, 3)], title="Tickets")
    assert f"<title>{label}: 3</title>" in svg
    assert "…</text>" in svg


def test_the_sales_summary_adds_up_the_day(
    active_session: Session, fnac_settings: FnacSettings
) -> None:
    summary = build_sales_summary(active_session, "fnac", fnac_settings, DAY, now=NOW)

    assert (summary.sales.tickets, summary.sales.orders) == (4, 3)
    assert summary.sales.amounts == {"CHF": 2400, "EUR": 20550}
    assert summary.file_name == "fnac-sales-2026-11-28.html"
    assert summary.timezone == "Europe/Paris"


def test_the_sales_summary_renders_charts_and_no_person(
    active_session: Session, fnac_settings: FnacSettings
) -> None:
    summary = build_sales_summary(
        active_session,
        "fnac",
        fnac_settings,
        DAY,
        now=NOW,
        dashboard_url="http://airflow/plugin/fnac",
    )
    html = render_sales_summary(summary)

    assert html.startswith("<!DOCTYPE html>")
    assert html.count("<svg") == 4 * 3, "tickets, EUR and CHF for each of four breakdowns"
    assert "205.50 EUR + 24.00 CHF" in html or "24.00 CHF + 205.50 EUR" in html
    assert "FNAC Paris Ternes (FR0751)" in html
    assert "FR0001" not in html, "the test tickets' shop"
    assert SCRIPT not in html
    assert "&lt;script&gt;" in html
    assert "Dupré" not in html
    assert "Hélène" not in html
    assert 'href="http://airflow/plugin/fnac"' in html
    assert "Organiser M0427 · " in html, "how FNAC knows the organiser: its manager code"
    assert "<script" not in html
    assert "http" not in html.replace("http://airflow/plugin/fnac", "").replace(
        "http://www.w3.org/2000/svg", ""
    ), "nothing fetched from the network"


def test_a_day_without_sales_renders_a_short_report(
    active_session: Session, fnac_settings: FnacSettings
) -> None:
    summary = build_sales_summary(
        active_session, "fnac", fnac_settings, DAY.replace(day=1), now=NOW
    )
    html = render_sales_summary(summary)
    assert "No FNAC sale on this day." in html
    assert "<svg" not in html
