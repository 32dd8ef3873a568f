"""The dashboard's queries on the demo box office (SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import Direction, ExchangeFile, FileState, OnboardingState
from reseller_sync.dashboard import queries
from reseller_sync.dashboard.queries import JournalFilter
from reseller_sync.fnac.settings import FnacSettings
from tests.dashboard.activity import DAY, NOW, SCRIPT

FNAC = "fnac"


def test_sales_of_the_day_are_counted_in_the_organisers_time_zone(
    active_session: Session, fnac_settings: FnacSettings
) -> None:
    """00:30 in Paris belongs to the day, 23:30 the evening before does not; tests never count."""
    sales = queries.day_sales(active_session, FNAC, fnac_settings, DAY)

    assert (sales.orders, sales.tickets, sales.cancelled) == (3, 4, 0)
    assert sales.amounts == {"CHF": 2400, "EUR": 3 * 6850}
    by_shop = {line.key: (line.tickets, line.amounts) for line in sales.by_point_of_sale}
    assert by_shop == {
        "FR0751": (2, {"EUR": 2 * 6850}),
        "FR0999": (1, {"EUR": 6850}),
        "CH1201": (1, {"CHF": 2400}),
    }
    assert sales.by_point_of_sale[0].label == "FNAC Paris Ternes (FR0751)"
    assert f"{SCRIPT} (FR0999)" in {line.label for line in sales.by_point_of_sale}
    by_product = {line.key: line.tickets for line in sales.by_product}
    assert by_product == {"EVT-LUMEN": 3, "PASS-MAH-JOUR": 1}
    assert sum(line.tickets for line in sales.by_performance) == 4
    assert sales.by_performance[0].label.startswith("EVT-LUMEN S1 · ")
    assert {line.key for line in sales.by_tariff} == {"FNAC_PUBLIC"}

    day_before = queries.day_sales(active_session, FNAC, fnac_settings, DAY - dt.timedelta(days=1))
    assert (day_before.tickets, day_before.amounts) == (1, {"EUR": 6850})


def test_a_day_without_sales_is_empty(active_session: Session, fnac_settings: FnacSettings) -> None:
    sales = queries.day_sales(active_session, FNAC, fnac_settings, DAY + dt.timedelta(days=3))
    assert (sales.orders, sales.tickets, sales.amounts, sales.by_point_of_sale) == (0, 0, {}, [])


def test_day_bounds_follow_daylight_saving(fnac_settings: FnacSettings) -> None:
    start, end = queries.day_bounds(fnac_settings, dt.date(2026, 3, 29))
    assert start == dt.datetime(2026, 3, 28, 23, tzinfo=dt.UTC)
    assert end - start == dt.timedelta(hours=23)


def test_onboarding_lists_every_product_of_the_settings(
    active_session: Session, fnac_settings: FnacSettings
) -> None:
    overview = {p.code: p for p in queries.onboarding_overview(active_session, FNAC, fnac_settings)}

    assert list(overview) == list(fnac_settings.product_codes)
    assert overview["EVT-LUMEN"].state is OnboardingState.PLACES_SENT
    assert overview["EVT-LUMEN"].dag_id == "fnac_onboarding__evt-lumen"
    assert overview["CMP-LYON-NANTES"].state is OnboardingState.NOT_STARTED
    assert overview["CMP-LYON-NANTES"].updated_at is None
    assert overview["PASS-MAH-JOUR"].name


def test_the_journal_lists_newest_first_and_filters(active_session: Session) -> None:
    everything = queries.journal_page(active_session, JournalFilter())
    assert everything.total == 6
    created = [entry.created_at for entry in everything.entries]
    assert created == sorted(created, reverse=True)
    assert everything.entries[0].name.startswith("ANNUL_")

    inbound_ventes = queries.journal_page(
        active_session, JournalFilter(direction=Direction.INBOUND, file_type="VENTES")
    )
    assert [e.sequence for e in inbound_ventes.entries] == [2, 1]
    failed = queries.journal_page(active_session, JournalFilter(state=FileState.FAILED))
    assert [(e.name, e.error_count) for e in failed.entries] == [
        ("VENTES_M0427_000002_20261128140500.csv", 1)
    ]
    outbound = queries.journal_page(active_session, JournalFilter(direction=Direction.OUTBOUND))
    assert {e.file_type for e in outbound.entries} == {"FICHE", "PLACES"}


def test_the_journal_search_finds_names_messages_and_line_errors(active_session: Session) -> None:
    def found(text: str) -> list[str]:
        page = queries.journal_page(active_session, JournalFilter(search=text))
        return [entry.name for entry in page.entries]

    assert found("places_m0427") == ["PLACES_M0427_000001_20261128120000.csv"]
    assert found("NO MAPPING FOR THIS") == ["VENTES_M0427_000002_20261128140500.csv"]
    assert found("has no mapping") == ["VENTES_M0427_000002_20261128140500.csv"]
    assert found("VENTES%000002") == [], "% is a character, not a wildcard"
    assert found("VENTES_M0427_00000_") == [], "_ is a character, not a wildcard"


def test_the_journal_pages(active_session: Session) -> None:
    first = queries.journal_page(active_session, JournalFilter(page_size=4))
    second = queries.journal_page(active_session, JournalFilter(page=2, page_size=4))
    assert (first.pages, first.has_next, first.has_previous) == (2, True, False)
    assert (len(second.entries), second.has_next, second.has_previous) == (2, False, True)
    assert not {e.id for e in first.entries} & {e.id for e in second.entries}


def test_a_files_detail_has_its_errors_and_links_but_no_bytes(active_session: Session) -> None:
    page = queries.journal_page(active_session, JournalFilter(search="VENTES_M0427_000002"))
    detail = queries.file_detail(active_session, FNAC, page.entries[0].id)
    assert detail is not None
    assert [(e.line, e.column, e.value) for e in detail.errors] == [
        (3, "code_manifestation", SCRIPT)
    ]
    assert "content" not in {f.name for f in dataclasses.fields(detail.entry)}
    assert "content" not in {f.name for f in dataclasses.fields(detail)}

    sheet = queries.journal_page(active_session, JournalFilter(file_type="FICHE")).entries[0]
    sheet_detail = queries.file_detail(active_session, FNAC, sheet.id)
    assert sheet_detail is not None
    assert [ack.name for ack in sheet_detail.answered_by] == [
        "ACK_FICHE_M0427_000001_20261128090000.csv"
    ]
    assert queries.file_detail(active_session, FNAC, 10**9) is None


def test_freshness_turns_late_and_shows_what_blocks(
    active_session: Session, fnac_settings: FnacSettings
) -> None:
    streams = {
        (s.direction.value, s.file_type): s
        for s in queries.stream_freshness(active_session, FNAC, fnac_settings, NOW)
    }
    ventes = streams["inbound", "VENTES"]
    assert ventes.last_name == "VENTES_M0427_000001_20261128130500.csv"
    assert ventes.age == dt.timedelta(hours=5)
    assert ventes.late_after == dt.timedelta(hours=3)
    assert ventes.late
    assert ventes.overdue
    assert ventes.blocked_by == "VENTES_M0427_000002_20261128140500.csv"

    annul = streams["inbound", "ANNUL"]
    assert (annul.age, annul.late, annul.needs_attention) == (dt.timedelta(hours=1), False, False)
    assert streams["inbound", "ETATPL"].last_at is None
    assert not streams["inbound", "ETATPL"].late
    assert streams["outbound", "PLACES"].awaiting_ack == 1
    assert streams["outbound", "PLACES"].late
    assert not streams["outbound", "FICHE"].late
    assert ("inbound", "ACK_FICHE") in streams

    earlier = {
        (s.direction.value, s.file_type): s
        for s in queries.stream_freshness(
            active_session, FNAC, fnac_settings, NOW - dt.timedelta(hours=3)
        )
    }
    assert not earlier["inbound", "VENTES"].overdue


def test_latest_alerts_show_undelivered_ones(active_session: Session) -> None:
    alerts = queries.latest_alerts(active_session)
    assert [(a.kind, a.delivered) for a in alerts] == [
        ("files_late", True),
        ("task_failure", False),
    ]
    assert alerts[1].delivery_error == "SMTP server unreachable"


def test_onboarding_links_name_the_dags_the_onboarding_builder_makes() -> None:
    from reseller_sync.airflow.onboarding_dag import build_onboarding_dag
    from reseller_sync.core.resellers import reseller_type

    for code in ("EVT-LUMEN", "PASS-MAH-JOUR"):
        built = build_onboarding_dag(reseller_type("fnac"), code)
        assert queries.onboarding_dag_id(FNAC, code) == built.dag_id


def test_another_resellers_files_stay_out_of_fnacs_journal(
    active_session: Session, fnac_settings: FnacSettings
) -> None:
    """Journal rows are keyed by reseller: a dashboard reads its own reseller's only."""
    other = ExchangeFile(
        reseller_code="other",
        direction=Direction.INBOUND,
        file_type="BATCH",
        sequence=1,
        name="BATCH_000001.json",
        size=2,
        sha256="f" * 64,
        content=b"{}",
        state=FileState.FAILED,
        created_at=NOW,
    )
    active_session.add(other)
    active_session.flush()

    assert queries.journal_page(active_session, JournalFilter()).total == 7, "every reseller's"
    fnacs = queries.journal_page(active_session, JournalFilter(reseller=FNAC))
    assert fnacs.total == 6
    assert other.id not in {entry.id for entry in fnacs.entries}
    assert queries.file_detail(active_session, FNAC, other.id) is None
    assert queries.file_detail(active_session, "other", other.id) is not None
    assert "BATCH" not in queries.journal_file_types(active_session, FNAC)
    streams = queries.stream_freshness(active_session, FNAC, fnac_settings, NOW)
    assert "BATCH" not in {stream.file_type for stream in streams}
