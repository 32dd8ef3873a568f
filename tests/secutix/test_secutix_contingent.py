"""The organiser's CONTINGENT and WITHDRAW files from the box office (secutix-reseller-v1
sections 8.2, 8.3 and 9.1 point 8): seats, free placement and passes, each line's place
recorded as sent."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import (
    AllocationState,
    Block,
    Performance,
    PlaceAllocation,
    PlaceWithdrawal,
    Product,
    Quota,
    QuotaFreePlaces,
    QuotaSeat,
    SalesChannel,
    Seat,
    WithdrawalState,
)
from reseller_sync.domain.errors import MappingError
from reseller_sync.exchange import journal
from reseller_sync.integration import allocation, withdrawal
from reseller_sync.secutix.contingent import (
    PlaceLines,
    contingent_lines,
    record_sent,
    withdraw_lines,
    withdraw_request_lines,
)
from reseller_sync.secutix.names import FileName, FileType
from reseller_sync.secutix.reseller_side import places_verdicts, read_organiser_file
from reseller_sync.secutix.writer import OrganiserFile, WriteError
from tests.secutix.test_secutix_lines import add_examples
from tests.secutix.test_secutix_writer import CONTINGENT_00000006

CHANNEL = "SECUTIX"
QUOTA = "Q-SECUTIX"
SCOPE = withdrawal.WithdrawalScope("secutix", "SecuTix", CHANNEL, QUOTA)
NOW = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)
TOSCA_SEATS = (("F", "12"), ("F", "13"))
TOSCA_PIT = 300
PASS27_PLACES = 500
MUSEE27_PLACES = 50


def performance(session: Session, product: str, code: str | None = None) -> Performance:
    query = select(Performance).join(Product).where(Product.code == product)
    if code is not None:
        query = query.where(Performance.code == code)
    return session.scalars(query).one()


def add_secutix(session: Session) -> None:
    """The products of section 12 (``add_examples``) and the reseller's quota on them (on
    the demo's channel of the reseller), as
    ``CONTINGENT_00000006`` gives it: seats F/12 and F/13 of PARTERRE and 300 places of the
    pit on TOSCA27, 500 places of PASS27; and 50 places of the dated visit MUSEE27."""
    add_examples(session)
    channel = session.scalars(select(SalesChannel).where(SalesChannel.code == CHANNEL)).one()
    tosca = performance(session, "TOSCA27")
    quota = Quota(code=QUOTA, name="Contingent SecuTix", channel=channel, performance=tosca)
    session.add(quota)
    session.flush()
    seats = session.execute(
        select(Seat.id, Seat.row, Seat.number)
        .join(Block)
        .where(Block.code == "PARTERRE")
        .order_by(Seat.id)
    ).all()
    session.add_all(
        QuotaSeat(quota_id=quota.id, performance_id=tosca.id, seat_id=seat_id)
        for seat_id, row, number in seats
        if (row, number) in TOSCA_SEATS
    )
    pit = session.scalars(select(Block).where(Block.code == "FOSSE", Block.capacity == 300)).one()
    session.add(QuotaFreePlaces(quota=quota, block=pit, places=TOSCA_PIT))
    for product, places in (("PASS27", PASS27_PLACES), ("MUSEE27", MUSEE27_PLACES)):
        session.add(
            Quota(
                code=QUOTA,
                name="Contingent SecuTix",
                channel=channel,
                performance=performance(session, product),
                places=places,
            )
        )
    session.flush()


@pytest.fixture
def session(demo_session: Session) -> Session:
    add_secutix(demo_session)
    return demo_session


def text_of(lines: PlaceLines) -> list[list[str]]:
    return [list(row.values()) for row in lines.records.to_pylist()]


# --------------------------------------------------------------------------- CONTINGENT


def test_the_example_of_section_12_is_the_reseller_s_quota_byte_for_byte(
    session: Session,
) -> None:
    lines = contingent_lines(session, ["TOSCA27", "PASS27"])
    written = lines.file(6)
    assert str(written.name) == "CONTINGENT_00000006.csv"
    assert written.data == CONTINGENT_00000006.encode()
    assert written.lines == 4
    # The reseller reads it back whole.
    read = read_organiser_file(str(written.name), written.data, written.control)
    assert read.lines == 4


def test_each_line_knows_its_place_and_passes_come_last(session: Session) -> None:
    lines = contingent_lines(session, ["PASS27", "TOSCA27"])
    assert [row[0] for row in text_of(lines)] == ["TOSCA27", "TOSCA27", "TOSCA27", "PASS27"]
    places = lines.places
    assert places["line"].tolist() == [1, 2, 3, 4]
    assert places["seat_id"].notna().tolist() == [True, True, False, False]
    assert places["block_id"].notna().tolist() == [False, False, True, False]
    assert places["places"].tolist() == [1, 1, TOSCA_PIT, PASS27_PLACES]
    assert lines.recorded["line"].tolist() == [1, 2, 3]


def test_a_dated_visit_pass_names_its_performance_and_no_seat(session: Session) -> None:
    lines = contingent_lines(session, ["MUSEE27"])
    assert text_of(lines) == [["MUSEE27", "MUSEE27-0403", "VISITE", "", str(MUSEE27_PLACES)]]


def test_the_lines_fit_the_offer_as_the_reseller_checks_them(session: Session) -> None:
    lines = contingent_lines(session, ["TOSCA27", "PASS27", "MUSEE27"])
    offer = pd.DataFrame(
        [
            ("TOSCA27", "EVENT", "TOSCA27-0314", "CAT1"),
            ("TOSCA27", "EVENT", "TOSCA27-0314", "FOSSE"),
            ("PASS27", "UNDATED_PASS", "", "LIBRE"),
            ("MUSEE27", "VISIT_PASS", "MUSEE27-0403", "VISITE"),
        ],
        columns=["PRODUCT_CODE", "PRODUCT_KIND", "PERFORMANCE_CODE", "SEATCAT_CODE"],
    )
    frame = lines.records.to_pandas()
    assert places_verdicts(frame, offer)["ERROR_CODE"].tolist() == [""] * 5
    lines.file(7, offer=offer)  # checked against the OFFER: no WriteError
    with pytest.raises(WriteError, match="Q01"):
        lines.file(7, offer=offer[offer["PRODUCT_CODE"] != "MUSEE27"])


def test_a_translation_gives_the_exchanged_codes(session: Session) -> None:
    renamed = {"TOSCA27": "TOSCA", "CAT1": "C1", "PARTERRE": "PARK"}

    def translate(kind: str, codes: pd.Series, zones: pd.Series | None) -> pd.Series:
        if kind == "block":
            assert zones is not None
            assert set(zones) <= {"PARTERRE", "FOSSE"}
        return codes.replace(renamed)

    lines = contingent_lines(session, ["TOSCA27"], translate=translate)
    assert text_of(lines)[0] == ["TOSCA", "TOSCA27-0314", "C1", "PARK/F/12", "1"]
    assert text_of(lines)[2] == ["TOSCA", "TOSCA27-0314", "FOSSE", "FOSSE", str(TOSCA_PIT)]


def test_a_code_without_exchanged_code_is_a_mapping_error(session: Session) -> None:
    def translate(kind: str, codes: pd.Series, zones: pd.Series | None) -> pd.Series:
        return codes.where(codes != "FOSSE") if kind == "block" else codes

    with pytest.raises(MappingError, match="block code") as caught:
        contingent_lines(session, ["TOSCA27"], translate=translate)
    assert [p.value for p in caught.value.problems] == ["FOSSE"]


def test_a_quota_holding_nothing_or_a_kind_not_sold_is_refused(session: Session) -> None:
    with pytest.raises(MappingError, match="holds no seat"):
        contingent_lines(session, ["CMP-LYON-NANTES"])
    with pytest.raises(MappingError, match="subscription"):
        contingent_lines(session, ["ABO-ARENA-SAISON"])


def test_the_places_of_another_reseller_s_channel_are_its_own(session: Session) -> None:
    lines = contingent_lines(session, ["EVT-LUMEN"], reseller="ticketnet")
    # Ticketnet's demo quota: rows 1 and 2 of P3 (25 seats each) and 100 pit places, on
    # each of the three performances.
    assert lines.lines == 3 * (50 + 1)
    assert lines.recorded["line"].tolist() == list(range(1, lines.lines + 1))


def test_contingent_lines_are_recorded_as_sent_allocations(session: Session) -> None:
    lines = contingent_lines(session, ["TOSCA27", "PASS27"])
    file_id = sent_file(session, lines.file(6))
    assert record_sent(session, lines, file_id, NOW) == 3
    rows = session.scalars(select(PlaceAllocation).where(PlaceAllocation.file_id == file_id)).all()
    assert [(r.line, r.places, r.state) for r in rows] == [
        (1, 1, AllocationState.SENT),
        (2, 1, AllocationState.SENT),
        (3, TOSCA_PIT, AllocationState.SENT),
    ]
    assert rows[0].seat_id is not None
    assert rows[0].block_id is None
    assert rows[2].seat_id is None
    assert rows[2].block_id is not None
    assert allocation.allocation_answer(session, file_id).unanswered == 3


# --------------------------------------------------------------------------- WITHDRAW


def request_places(session: Session) -> list[int]:
    """Seat F/13 and 20 pit places of TOSCA27 asked back."""
    requests = withdrawal.request_withdrawal(
        session,
        SCOPE,
        "TOSCA27",
        "TOSCA27-0314",
        seats=[("PARTERRE", "PARTERRE", "F", "13")],
        free_places=[("FOSSE", "FOSSE", 20)],
    )
    return [r.id for r in requests]


def test_withdraw_lines_of_requests_carry_their_request(session: Session) -> None:
    ids = request_places(session)
    lines = withdraw_request_lines(session, list(reversed(ids)))
    assert lines.file_type is FileType.WITHDRAW
    assert text_of(lines) == [
        ["TOSCA27", "TOSCA27-0314", "CAT1", "PARTERRE/F/13", "1"],
        ["TOSCA27", "TOSCA27-0314", "FOSSE", "FOSSE", "20"],
    ]
    assert lines.places["withdrawal_id"].tolist() == ids
    written = lines.file(8)
    assert written.data.decode().splitlines()[0] == CONTINGENT_00000006.splitlines()[0]
    assert str(written.name) == "WITHDRAW_00000008.csv"

    file_id = sent_file(session, written)
    assert record_sent(session, lines, file_id, NOW) == 2
    requests = session.scalars(
        select(PlaceWithdrawal).where(PlaceWithdrawal.id.in_(ids)).order_by(PlaceWithdrawal.id)
    ).all()
    assert [(r.state, r.file_id, r.line) for r in requests] == [
        (WithdrawalState.SENT, file_id, 1),
        (WithdrawalState.SENT, file_id, 2),
    ]


def test_withdraw_lines_of_places_for_seats_free_placement_and_passes(session: Session) -> None:
    tosca = performance(session, "TOSCA27")
    pass27 = performance(session, "PASS27")
    musee = performance(session, "MUSEE27")
    seat = session.scalars(
        select(QuotaSeat.seat_id).where(QuotaSeat.performance_id == tosca.id)
    ).first()
    pit = session.scalars(select(Block.id).where(Block.code == "FOSSE", Block.capacity == 300))
    places = pd.DataFrame(
        {
            "performance_id": [pass27.id, musee.id, tosca.id, tosca.id],
            "seat_id": [None, None, None, seat],
            "block_id": [None, None, pit.one(), None],
            "places": [100, 5, 30, None],
        }
    )
    lines = withdraw_lines(session, places)
    assert text_of(lines) == [
        ["TOSCA27", "TOSCA27-0314", "CAT1", "PARTERRE/F/12", "1"],
        ["TOSCA27", "TOSCA27-0314", "FOSSE", "FOSSE", "30"],
        ["MUSEE27", "MUSEE27-0403", "VISITE", "", "5"],
        ["PASS27", "", "LIBRE", "", "100"],
    ]
    # No request behind these places: nothing to record.
    assert record_sent(session, lines, sent_file(session, lines.file(9)), NOW) == 0


def test_places_that_do_not_fit_their_product_are_refused(session: Session) -> None:
    tosca = performance(session, "TOSCA27")
    pass27 = performance(session, "PASS27")
    seat = session.scalars(select(QuotaSeat.seat_id)).first()
    parterre = session.scalars(select(Block.id).where(Block.code == "PARTERRE")).one()
    places = pd.DataFrame(
        {
            "performance_id": [tosca.id, pass27.id, tosca.id],
            "seat_id": [None, seat, None],
            "block_id": [None, None, parterre],
            "places": [10, 1, 4],
        }
    )
    with pytest.raises(MappingError) as caught:
        withdraw_lines(session, places)
    reasons = [p.reason for p in caught.value.problems]
    assert len(reasons) == 3
    assert "seats or free-placement blocks" in reasons[0]
    assert "no seat nor block" in reasons[1]
    assert "give its places seat by seat" in reasons[2]


# --------------------------------------------------------------------------- helpers


@dataclass(frozen=True)
class SentName:
    """The journal's name of an organiser's file (the adapter's naming stands in)."""

    file: FileName

    @property
    def stream(self) -> str:
        return "ORGANISER"

    @property
    def sequence(self) -> int:
        assert self.file.number is not None
        return self.file.number

    def __str__(self) -> str:
        return str(self.file)


def sent_file(session: Session, written: OrganiserFile) -> int:
    """The organiser's file journaled and marked sent, as the adapter's sending does."""
    entry = journal.prepare_outbound(
        session, "secutix", SentName(written.name), written.data, line_count=written.lines
    )
    journal.mark_sent(session, entry.id)
    return entry.id
