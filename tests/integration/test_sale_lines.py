"""The sales integration fed canonical lines directly, for a reseller that is not FNAC."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import (
    AccessControlEntry,
    MovementKind,
    Order,
    OrderState,
    PendingAccount,
    PendingAccountMovement,
    Ticket,
)
from reseller_sync.config.settings import PricePolicy
from reseller_sync.core.lines import LineBatch, LineProblems
from reseller_sync.domain.errors import ExternalError, MappingError, Problem, TechnicalError
from reseller_sync.integration.sales import integrate_sale_lines
from tests.integration.conftest import Reseller, sale_lines

FILE = "TICKETS_00000042.csv"


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_seats_and_standing_places_become_orders_paid_on_the_pending_account(
    demo_session: Session, reseller: Reseller
) -> None:
    lines = sale_lines(
        reseller,
        {},
        {"reseller_order_ref": "O1", "seat_id": reseller.seats[1], "commission": 0},
        {"free": True},
    )
    result = integrate_sale_lines(demo_session, reseller.settings, FILE, lines)

    assert (result.lines, result.tickets, result.orders, result.already_integrated) == (3, 3, 2, 0)
    assert result.amounts == {"EUR": 2 * reseller.amount + reseller.free_amount}
    tickets = {t.reseller_ticket_id: t for t in demo_session.scalars(select(Ticket))}
    assert {t.reseller_code for t in tickets.values()} == {"stx"}
    assert (tickets["T1"].seat_id, tickets["T1"].block_id) == (reseller.seats[0], None)
    assert (tickets["T3"].seat_id, tickets["T3"].block_id) == (None, reseller.free_block_id)
    assert tickets["T1"].quota_id is not None
    assert tickets["T1"].reseller_category == "ADULT"
    assert (tickets["T1"].beneficiary_first_name, tickets["T1"].price) == (
        "Hélène",
        reseller.amount,
    )

    order = demo_session.scalars(select(Order).where(Order.reseller_order_id == "O1")).one()
    assert (order.reseller_code, order.state, order.total) == (
        "stx",
        OrderState.PAID,
        2 * reseller.amount,
    )
    assert order.reseller_point_of_sale_code == "WEB"
    movements = demo_session.scalars(select(PendingAccountMovement)).all()
    assert sorted((m.reference, m.amount, m.kind) for m in movements) == [
        ("stx:sale:O1", 2 * reseller.amount, MovementKind.SALE),
        ("stx:sale:O3", reseller.free_amount, MovementKind.SALE),
    ]
    accounts = {demo_session.get_one(PendingAccount, m.account_id).contact_id for m in movements}
    assert accounts == {reseller.contact_id}
    allowed = demo_session.scalars(
        select(AccessControlEntry.barcode).where(AccessControlEntry.allowed)
    )
    assert sorted(allowed) == sorted(t.barcode for t in tickets.values())


def test_a_seat_outside_the_quota_is_refused_in_the_partners_terms(
    demo_session: Session, reseller: Reseller
) -> None:
    lines = sale_lines(reseller, {}, {"seat_id": reseller.outside})
    with pytest.raises(ExternalError) as raised:
        integrate_sale_lines(demo_session, reseller.settings, FILE, lines)
    [problem] = raised.value.problems
    assert (problem.file, problem.line, problem.column) == (FILE, 2, "SEAT")
    assert problem.reason == "this seat is not in Testix's quota (seat lists differ)"
    assert problem.value == str(reseller.outside)
    assert "Check the lines below with Testix" in str(raised.value.action)
    assert count(demo_session, Ticket) == count(demo_session, Order) == 0


def test_a_problem_quotes_the_partners_record_when_the_batch_carries_it(
    demo_session: Session, reseller: Reseller
) -> None:
    lines = sale_lines(reseller, {"seat_id": reseller.outside})
    source = pd.DataFrame({"SEAT": ["PARTERRE/F/12"]}, index=lines.index)
    with pytest.raises(ExternalError) as raised:
        integrate_sale_lines(demo_session, reseller.settings, FILE, LineBatch(lines, source=source))
    [problem] = raised.value.problems
    assert (problem.column, problem.value) == ("SEAT", "PARTERRE/F/12")


def test_the_same_ticket_again_is_skipped_and_a_seat_sold_twice_is_refused(
    demo_session: Session, reseller: Reseller
) -> None:
    integrate_sale_lines(demo_session, reseller.settings, FILE, sale_lines(reseller, {}))
    again = integrate_sale_lines(demo_session, reseller.settings, FILE, sale_lines(reseller, {}))
    assert (again.tickets, again.already_integrated, again.orders) == (0, 1, 0)
    assert count(demo_session, Ticket) == count(demo_session, PendingAccountMovement) == 1

    with pytest.raises(ExternalError) as raised:
        integrate_sale_lines(
            demo_session,
            reseller.settings,
            FILE,
            sale_lines(
                reseller, {"seat_id": reseller.seats[1]}, {"seat_id": reseller.seats[1]}, first=2
            ),
        )
    reasons = {(p.line, p.reason) for p in raised.value.problems}
    assert (3, "this seat is sold twice in the file") in reasons
    assert (2, "this seat is sold twice in the file") not in reasons


def test_a_ticket_id_again_with_another_barcode_is_refused(
    demo_session: Session, reseller: Reseller
) -> None:
    integrate_sale_lines(demo_session, reseller.settings, FILE, sale_lines(reseller, {}))
    with pytest.raises(ExternalError) as raised:
        integrate_sale_lines(
            demo_session,
            reseller.settings,
            FILE,
            sale_lines(reseller, {"barcode": "99000000009999", "seat_id": reseller.seats[1]}),
        )
    [problem] = raised.value.problems
    assert problem.column == "reseller_ticket_ref"
    assert "integrated before with another barcode" in problem.reason


def test_standing_places_are_counted_across_batches(
    demo_session: Session, reseller: Reseller
) -> None:
    batches = [
        sale_lines(reseller, {"free": True}, {"free": True}),
        sale_lines(reseller, {"free": True}, first=3),
    ]
    with pytest.raises(ExternalError) as raised:
        integrate_sale_lines(demo_session, reseller.settings, FILE, batches)
    [problem] = raised.value.problems
    assert (problem.line, problem.column) == (3, "block_id")
    assert "beyond Testix's quota of 2 place(s)" in problem.reason


@pytest.mark.parametrize("policy", list(PricePolicy))
def test_a_price_that_differs_follows_the_policy(
    demo_session: Session, reseller: Reseller, policy: PricePolicy
) -> None:
    configured = reseller.with_settings(price_policy=policy)
    lines = sale_lines(reseller, {"price": reseller.amount + 100})
    if policy is PricePolicy.STRICT:
        with pytest.raises(ExternalError) as raised:
            integrate_sale_lines(demo_session, configured.settings, FILE, lines)
        [problem] = raised.value.problems
        assert (problem.column, problem.value) == ("PRICE", str(reseller.amount + 100))
        assert f"differs from the box-office price {reseller.amount}" in problem.reason
        return
    result = integrate_sale_lines(demo_session, configured.settings, FILE, lines)
    differences = result.price_differences
    if policy is PricePolicy.ACCEPT:
        assert differences == ()
        return
    [difference] = differences
    assert (difference.product, difference.performance) == ("EVT-LUMEN", "S1")
    assert (difference.expected, difference.received) == (reseller.amount, reseller.amount + 100)


def test_without_commission_the_price_recorded_and_compared_is_net(
    demo_session: Session, reseller: Reseller
) -> None:
    net = reseller.with_settings(includes_commission=False)
    lines = sale_lines(reseller, {"price": reseller.amount + 100, "commission": 100})
    integrate_sale_lines(demo_session, net.settings, FILE, lines)
    ticket = demo_session.scalars(select(Ticket)).one()
    assert (ticket.price, ticket.commission) == (reseller.amount, 100)


def test_an_order_in_two_currencies_or_an_order_brought_before_is_refused(
    demo_session: Session, reseller: Reseller
) -> None:
    integrate_sale_lines(demo_session, reseller.settings, FILE, sale_lines(reseller, {}))
    lines = sale_lines(
        reseller,
        {"reseller_order_ref": "O1", "seat_id": reseller.seats[1]},
        {"reseller_order_ref": "O9", "seat_id": reseller.seats[2]},
        {"reseller_order_ref": "O9", "free": True, "point_of_sale_ref": "APP"},
        first=2,
    )
    with pytest.raises(ExternalError) as raised:
        integrate_sale_lines(demo_session, reseller.settings, FILE, lines)
    located = sorted((p.line, p.reason) for p in raised.value.problems)
    assert located == [
        (2, "this order was integrated before, from another file"),
        (3, "the tickets of this order are in several currencies or shops"),
        (4, "the tickets of this order are in several currencies or shops"),
    ]


def test_the_adapters_problems_refuse_the_file_with_the_integrations(
    demo_session: Session, reseller: Reseller
) -> None:
    unmapped = LineProblems(
        mapping=[Problem("no mapping", file=FILE, line=1, column="TARIFF_CODE")]
    )
    batch = LineBatch(
        sale_lines(reseller, {"seat_id": reseller.outside}, first=2), unmapped, records=2
    )
    with pytest.raises(MappingError) as raised:
        integrate_sale_lines(demo_session, reseller.settings, FILE, batch)
    assert [(p.line, p.column) for p in raised.value.problems] == [(1, "TARIFF_CODE"), (2, "SEAT")]
    assert "1 line(s) use Testix values that have no mapping" in raised.value.message
    assert count(demo_session, Ticket) == 0


def test_lines_that_do_not_conform_are_a_bug_and_write_nothing(
    demo_session: Session, reseller: Reseller
) -> None:
    lines = sale_lines(reseller, {}).rename(columns={"barcode": "code"})
    with pytest.raises(TechnicalError) as raised:
        integrate_sale_lines(demo_session, reseller.settings, FILE, lines)
    assert "the Testix adapter built sale lines that do not conform" in raised.value.message
    assert count(demo_session, Ticket) == 0


def test_box_office_codes_that_do_not_exist_are_named(
    demo_session: Session, reseller: Reseller
) -> None:
    wrong = reseller.with_settings(paying_contact="NOBODY", settings_file="stx.yaml")
    with pytest.raises(TechnicalError) as raised:
        integrate_sale_lines(demo_session, wrong.settings, FILE, sale_lines(reseller, {}))
    assert (
        raised.value.message
        == "the box office has no paying contact NOBODY (stx.yaml, boxoffice section)"
    )
