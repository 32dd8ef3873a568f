"""The synchronous reseller's sandbox: its sales-report endpoint over HTTP (realtime-api-v1,
section 13: every status, the day cut in organiser time, its faults) and its spec client's
retries (same Idempotency-Key and X-Correlation-Id after a timeout, Retry-After honoured)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from devtools.cli import main
from devtools.sandboxes.realtime.cli import Books
from devtools.sandboxes.realtime.client import LossyTransport, RealtimeClient
from devtools.sandboxes.realtime.customers import SimulatedClock
from devtools.sandboxes.realtime.ledger import (
    Ledger,
    LedgerCancellation,
    LedgerLine,
    LedgerOrder,
)
from devtools.sandboxes.realtime.report_server import ReportDesk, ReportFault, ReportServer

PARIS = ZoneInfo("Europe/Paris")
KEY = "report-key-for-the-tests"
DAY = dt.date(2026, 11, 28)
PROBLEM = "urn:problem-type:reseller-sync:"


def _line(n: int, price: int = 6850) -> LedgerLine:
    return LedgerLine(f"T-{n}", f"47{n:014d}", "PF-1", "CAT1", f"A-1-{n}", "FULL", price, 350)


def _ledger() -> Ledger:
    ledger = Ledger("sandbox-reseller")
    ledger.orders = [
        # 00:30 in Paris on the 28th, still the 27th in UTC: the 28th's.
        LedgerOrder("SBX-1", "O-1", "2026-11-27T23:30:00Z", "WEB", "EUR", [_line(1), _line(2)]),
        LedgerOrder("SBX-2", None, "2026-11-28T13:04:40+01:00", "APP", "EUR", [
            LedgerLine(None, None, "PF-1", "FOSSE", None, "FULL", 4250, 350)]),
        LedgerOrder("SBX-3", "O-3", "2026-11-28T18:00:00+01:00", None, "EUR", [_line(3)]),
        # 23:30 UTC on the 28th is the 29th in Paris.
        LedgerOrder("SBX-4", "O-4", "2026-11-28T23:30:00Z", "WEB", "EUR", [_line(4)]),
    ]  # fmt: skip
    ledger.cancellations = [
        LedgerCancellation(
            "SBX-C-1", "C-1", "SBX-1", "O-1", "2026-11-28T13:30:00+01:00",
            "customer_request", ["T-2"], ["47" + "2".zfill(14)], 4500, "EUR",
        ),
    ]  # fmt: skip
    return ledger


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(dt.datetime(2026, 11, 29, 3, 0, tzinfo=PARIS).astimezone(dt.UTC))


@pytest.fixture
def desk(clock: SimulatedClock) -> ReportDesk:
    return ReportDesk(_ledger(), KEY, go_live=dt.date(2026, 11, 1), clock=clock.now, retry_after=7)


@pytest.fixture
def endpoint(desk: ReportDesk) -> Iterator[httpx.Client]:
    with ReportServer(desk) as server, httpx.Client(base_url=server.base_url) as http:
        yield http


def _ask(
    http: httpx.Client, day: str | None = DAY.isoformat(), key: str | None = KEY
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    params = {"date": day} if day is not None else {}
    return http.get("/partner/v1/sales-report", params=params, headers=headers)


def _problem(response: httpx.Response, status: int, name: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == PROBLEM + name
    assert body["status"] == status
    assert set(body) >= {"title", "detail", "instance", "category", "correlation_id", "errors"}
    assert body["correlation_id"] == response.headers["x-correlation-id"]
    return dict(body)


def test_the_report_of_a_closed_day_cut_in_organiser_time(endpoint: httpx.Client) -> None:
    response = _ask(endpoint)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    report = response.json()
    assert [o["reseller_order_ref"] for o in report["orders"]] == ["SBX-1", "SBX-2", "SBX-3"]
    assert report["orders"][1]["order_id"] is None
    assert [c["reseller_cancellation_ref"] for c in report["cancellations"]] == ["SBX-C-1"]
    assert report["totals"] == [
        {"currency": "EUR", "orders": 3, "tickets": 4, "price": 6850 * 3 + 4250,
         "commission": 350 * 4, "cancelled_tickets": 1, "refund_amount": 4500}
    ]  # fmt: skip
    assert (report["reseller_id"], report["date"], report["timezone"], report["revision"]) == (
        "sandbox-reseller", "2026-11-28", "Europe/Paris", 1,
    )  # fmt: skip
    assert "cancelled" not in report["orders"][0]["lines"][0]


def test_the_key_is_required_first(endpoint: httpx.Client) -> None:
    missing = _problem(_ask(endpoint, key=None), 401, "unauthenticated")
    assert missing["category"] == "external"
    wrong = _ask(endpoint, key="another-key")
    _problem(wrong, 401, "unauthenticated")
    assert 'error="invalid_token"' in wrong.headers["www-authenticate"]
    _problem(endpoint.get("/partner/v1/other"), 401, "unauthenticated")
    _problem(
        endpoint.get("/partner/v1/other", headers={"Authorization": f"Bearer {KEY}"}),
        404,
        "not-found",
    )


@pytest.mark.parametrize("day", [None, "2026-11-31", "28/11/2026", "2026-11-2"])
def test_a_missing_or_bad_date_is_malformed(endpoint: httpx.Client, day: str | None) -> None:
    body = _problem(_ask(endpoint, day), 400, "malformed-request")
    assert body["errors"] == [{"parameter": "date", "detail": "one YYYY-MM-DD"}]


@pytest.mark.parametrize("day", ["2026-10-31", "2026-08-30"])
def test_before_go_live_or_older_than_90_days_is_not_found(
    endpoint: httpx.Client, desk: ReportDesk, day: str
) -> None:
    if day == "2026-08-30":
        desk.go_live = dt.date(2026, 1, 1)
    _problem(_ask(endpoint, day), 404, "not-found")


def test_a_day_not_closed_is_not_ready_until_1am_the_next_day(
    endpoint: httpx.Client, clock: SimulatedClock
) -> None:
    clock.set(dt.datetime(2026, 11, 29, 0, 30, tzinfo=PARIS))
    response = _ask(endpoint)
    _problem(response, 409, "report-not-ready")
    assert response.headers["retry-after"] == "1801"
    _problem(_ask(endpoint, "2026-11-29"), 409, "report-not-ready")
    clock.pass_time(1801)
    assert _ask(endpoint).status_code == 200


def test_a_late_report_is_not_ready_twice_then_served(
    endpoint: httpx.Client, desk: ReportDesk
) -> None:
    desk.set_fault(DAY, ReportFault.LATE)
    for _ in range(2):
        response = _ask(endpoint)
        _problem(response, 409, "report-not-ready")
        assert response.headers["retry-after"] == "7"
    assert _ask(endpoint).status_code == 200


def test_a_missing_report_is_never_ready(endpoint: httpx.Client, desk: ReportDesk) -> None:
    desk.set_fault(DAY, ReportFault.MISSING)
    for _ in range(5):
        _problem(_ask(endpoint), 409, "report-not-ready")
    assert _ask(endpoint, "2026-11-27").status_code == 200  # other days are served


def test_content_faults_change_the_report_and_are_recorded_once(
    endpoint: httpx.Client, desk: ReportDesk
) -> None:
    for fault in (ReportFault.AMOUNT_OFF, ReportFault.REFUND_OFF):
        desk.set_fault(DAY, fault)
    first = _ask(endpoint).json()
    again = _ask(endpoint).json()
    assert first["orders"] == again["orders"]
    assert first["orders"][2]["lines"][0]["price"] == 6950  # SBX-3: SBX-1 has a cancellation
    assert first["cancellations"][0]["refund_amount"] == 4600
    assert first["totals"][0]["price"] == 6850 * 3 + 4250 + 100  # recomputed: not corrupt
    assert desk.ledger.expected(DAY) == {
        ("amount_mismatch", "SBX-3"): 1,
        ("refund_mismatch", "SBX-1"): 1,
    }


def test_refusable_faults(endpoint: httpx.Client, desk: ReportDesk) -> None:
    for fault in (ReportFault.TOTALS_OFF, ReportFault.PERSONAL_DATA, ReportFault.UNKNOWN_MEMBER):
        desk.set_fault(DAY, fault)
    report = _ask(endpoint).json()
    assert report["totals"][0]["price"] == 6850 * 3 + 4250 + 100
    assert "@" in report["orders"][0]["buyer_email"]
    assert report["orders"][0]["loyalty_points"] == 12
    assert not desk.ledger.injected  # the box office refuses the whole report: no difference


def test_the_client_retries_a_lost_answer_with_the_same_key_and_correlation_id() -> None:
    seen: list[tuple[str, str, str]] = []

    def service(request: httpx.Request) -> httpx.Response:
        seen.append(
            (
                request.headers["idempotency-key"],
                request.headers["x-correlation-id"],
                request.content.decode(),
            )
        )
        replay = {"Idempotent-Replayed": "true"} if len(seen) > 1 else {}
        return httpx.Response(201, json={"id": "O-1"}, headers=replay)

    transport = LossyTransport(httpx.MockTransport(service))
    client = RealtimeClient("http://box-office/realtime/v1", "rsk_x", transport=transport)
    transport.lose_answers(1)
    outcome = client.order({"hold_id": "H-1"})
    assert outcome.status == 201
    assert outcome.attempts == 2
    assert outcome.response is not None
    assert outcome.response.headers["idempotent-replayed"] == "true"
    assert len(seen) == 2
    assert seen[0] == seen[1]
    assert json.loads(seen[0][2]) == {"hold_id": "H-1"}

    transport.lose_requests(1)
    lost = client.order({"hold_id": "H-2"}, attempts=1)
    assert lost.response is None
    assert len(seen) == 2


def test_the_client_honours_retry_after() -> None:
    answers = iter(
        [
            httpx.Response(
                429, json={"type": PROBLEM + "rate-limited"}, headers={"Retry-After": "3"}
            ),
            httpx.Response(
                409,
                json={"type": PROBLEM + "idempotency-request-in-progress"},
                headers={"Retry-After": "1"},
            ),
            httpx.Response(201, json={"id": "H-1"}),
        ]
    )
    waits: list[float] = []
    client = RealtimeClient(
        "http://box-office/realtime/v1",
        "rsk_x",
        transport=httpx.MockTransport(lambda request: next(answers)),
        sleep=waits.append,
    )
    assert client.hold([{"performance_id": "P", "category_id": "C", "quantity": 1}]).status == 201
    assert waits == [3.0, 1.0]


def test_the_report_command_prints_a_day_from_the_saved_books(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    books = Books(tmp_path / "books", "sandbox-reseller")
    with books.open() as ledger:
        ledger.orders = _ledger().orders
        ledger.cancellations = _ledger().cancellations
    argv = ["realtime-sandbox", "report", "--state", str(tmp_path / "books")]
    assert main([*argv, "--reseller", "sandbox-reseller", "--date", "2026-11-29"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [o["reseller_order_ref"] for o in report["orders"]] == ["SBX-4"]
    assert report["totals"][0]["tickets"] == 1


def _listed(cancellations: list[dict[str, object]]) -> dict[str, object]:
    """Order O-1 as ``GET /orders`` lists it (abridged to what the books read)."""
    return {"id": "O-1", "reseller_order_ref": "SBX-1", "cancellations": cancellations}


ORGANISER_CANCELLATION = {
    "id": "C-9",
    "initiated_by": "organiser",
    "reason": "performance_cancelled",
    "cancelled_at": "2026-11-28T16:00:00Z",
    "ticket_ids": ["T-1"],
    "barcodes": ["47" + "1".zfill(14)],
    "refund_amount": 6850,
    "currency": "EUR",
}


def test_the_books_learn_the_organiser_s_cancellations_once_and_report_them(
    tmp_path: Path,
) -> None:
    ledger = _ledger()
    reseller_s = dict(ORGANISER_CANCELLATION, id="C-1", initiated_by="reseller")

    learned = ledger.learn_order(_listed([reseller_s, ORGANISER_CANCELLATION]), "SBX-")

    assert [(c.reseller_cancellation_ref, c.cancellation_id) for c in learned] == [
        ("SBX-ORG-C-9", "C-9")
    ]
    assert [line.cancelled for line in ledger.orders[0].lines] == [True, False]
    assert ledger.learn_order(_listed([ORGANISER_CANCELLATION]), "SBX-") == [], "once"
    unknown = {"id": "O-77", "reseller_order_ref": "OTHER-1", "cancellations": []}
    assert ledger.learn_order(unknown, "SBX-") == []
    report = ledger.report(DAY, dt.datetime(2026, 11, 29, 2, 0, tzinfo=dt.UTC))
    [kept] = [c for c in report["cancellations"] if c["cancellation_id"] == "C-9"]
    assert (kept["cancelled_at"], kept["reason"], kept["refund_amount"]) == (
        "2026-11-28T16:00:00Z",
        "performance_cancelled",
        6850,
    )
    assert report["totals"][0]["cancelled_tickets"] == 2

    # The books, saved and read again, keep what they learned and where the polls stand.
    books = Books(tmp_path / "books", "sandbox-reseller")
    with books.open() as saved:
        saved.orders, saved.cancellations = ledger.orders, ledger.cancellations
        saved.changes_polled_at = "2026-11-28T17:00:00+01:00"
    with books.open() as again:
        assert again.cancellations[-1].cancellation_id == "C-9"
        assert again.changes_since() == dt.datetime(2026, 11, 28, 15, 59, tzinfo=dt.UTC)


def test_the_first_poll_starts_a_minute_before_the_first_sale() -> None:
    assert Ledger("sandbox-reseller").changes_since() is None, "no sale: nothing to learn"
    assert _ledger().changes_since() == dt.datetime(2026, 11, 27, 23, 29, tzinfo=dt.UTC)


def test_the_client_pages_the_orders_changed_since_and_keeps_the_latest_copy() -> None:
    pages = {
        None: {
            "orders": [
                {"id": "O-1", "changed_at": "2026-11-28T10:00:00Z", "v": 1},
                {"id": "O-2", "changed_at": "2026-11-28T10:00:01Z", "v": 1},
            ],
            "next_cursor": "page-2",
        },
        "page-2": {
            "orders": [{"id": "O-1", "changed_at": "2026-11-28T10:05:00Z", "v": 2}],
            "next_cursor": None,
        },
    }
    asked: list[dict[str, str]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/realtime/v1/orders"
        asked.append(dict(request.url.params))
        return httpx.Response(200, json=pages[request.url.params.get("cursor")])

    client = RealtimeClient(
        "http://box-office.test/realtime/v1", "key", transport=httpx.MockTransport(answer)
    )
    since = dt.datetime(2026, 11, 28, 10, 59, tzinfo=PARIS)
    orders = client.orders_changed(since)
    assert asked == [{"changed_since": "2026-11-28T09:59:00Z"}, {"cursor": "page-2"}]
    assert [(o["id"], o["v"]) for o in orders] == [("O-2", 1), ("O-1", 2)]
