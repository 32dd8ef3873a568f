"""The SecuTix reseller's TICKETS files as canonical ticket-state lines (``secutix-reseller-v1``
sections 7.1, 9.1 and 10.2), on the demo box office with the products of the spec's
examples (section 12) added: TOSCA27 (an event with a seated block PARTERRE and a
free-placement pit FOSSE), MUSEE27 (a dated visit pass, in CHF) and PASS27 (an undated
pass).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import (
    Block,
    Currency,
    Performance,
    Price,
    Product,
    Seat,
    SeatCategory,
    SeatingConfiguration,
    Tariff,
    Venue,
    Zone,
)
from reseller_sync.core.lines import LINE_INDEX, TICKET_STATE_LINES, LineBatch
from reseller_sync.domain.errors import Problem
from reseller_sync.domain.products import ProductKind
from reseller_sync.secutix.errors import MAX_PROBLEMS, Code, SecutixProblem
from reseller_sync.secutix.lines import COLUMNS, integration_settings, ticket_state_lines
from reseller_sync.secutix.mappings import (
    ExchangedCodes,
    MappingKind,
    load_mappings,
    load_repository,
)
from reseller_sync.secutix.reader import read_file
from reseller_sync.secutix.reseller_type import RESELLER_TYPE, ExchangedKind, exchanged_kind
from reseller_sync.secutix.settings import SecutixSettings
from tests.secutix.secutix_samples import CONTACT_VALUES, TICKETS_42, control_for, ticket_line

ROOT = Path(__file__).resolve().parents[2]


def settings(**changes: object) -> SecutixSettings:
    values: dict[str, object] = {
        "boxoffice": {
            "channel": "SECUTIX",
            "point_of_sale": "SECUTIX-RESEAU",
            "paying_contact": "SECUTIX-TECH",
            "quota": "Q-SECUTIX",
        },
        "prices": {"policy": "strict", "includes_commission": True},
        "notifications": {
            "error_emails": ["ops@example.org"],
            "secutix_contact_email": "partenaires@reseller.example",
        },
        "tariffs_offered": ["PLEIN", "REDUIT", "ENFANT"],
        "products": ["TOSCA27", "MUSEE27", "PASS27", "EVT-LUMEN"],
    }
    values.update(changes)
    return SecutixSettings.model_validate(values)


# --------------------------------------------------------------------------- box office

SEATED_ROWS = ("B", "C", "F")


def add_examples(session: Session) -> None:
    """The products of section 12 in the demo box office: their venue plan, performances
    and prices (TOSCA27 in EUR, MUSEE27 in CHF, PASS27 in EUR)."""
    tariffs = {t.code: t for t in session.scalars(select(Tariff))}
    categories = {c.code: c for c in session.scalars(select(SeatCategory))}
    for code, name in (("VISITE", "Visite"), ("LIBRE", "Accès libre")):
        categories[code] = SeatCategory(code=code, name=name)
        session.add(categories[code])
    museum = session.scalars(select(Venue).where(Venue.code == "MAH-GENEVE")).one()
    opera = Venue(code="OPERA", name="Opéra", city="Paris", country="FR", timezone="Europe/Paris")
    configuration = SeatingConfiguration(venue=opera, code="OPERA-TOSCA", name="Tosca")
    parterre = Zone(configuration=configuration, code="PARTERRE", name="Parterre")
    pit = Zone(configuration=configuration, code="FOSSE", name="Fosse")
    seated = Block(zone=parterre, code="PARTERRE", name="Parterre", free_placement=False)
    free = Block(
        zone=pit,
        code="FOSSE",
        name="Fosse",
        free_placement=True,
        capacity=300,
        category=categories["FOSSE"],
    )
    tosca = Product(
        code="TOSCA27",
        name="Tosca",
        kind=ProductKind.EVENT,
        venue=opera,
        configuration=configuration,
    )
    musee = Product(code="MUSEE27", name="Musée, visite", kind=ProductKind.VISIT_PASS, venue=museum)
    annual = Product(
        code="PASS27", name="Pass annuel 2027", kind=ProductKind.UNDATED_PASS, venue=museum
    )
    evening = Performance(
        product=tosca, code="TOSCA27-0314", starts_at=dt.datetime(2027, 3, 14, 20, 30)
    )
    visit = Performance(
        product=musee, code="MUSEE27-0403", starts_at=dt.datetime(2027, 4, 3, 10, 0)
    )
    year = Performance(
        product=annual,
        code="PASS27",
        valid_from=dt.date(2027, 1, 1),
        valid_until=dt.date(2027, 12, 31),
    )
    session.add_all([opera, configuration, parterre, pit, seated, free, tosca, musee, annual])
    session.add_all([evening, visit, year])
    session.flush()
    session.execute(
        insert(Seat),
        [
            {
                "block_id": seated.id,
                "row": row,
                "number": str(number),
                "category_id": categories["CAT1"].id,
            }
            for row in SEATED_ROWS
            for number in range(1, 21)
        ],
    )
    for performance, category, tariff, amount, currency in (
        (evening, "CAT1", "PLEIN", 6850, Currency.EUR),
        (evening, "CAT1", "REDUIT", 5850, Currency.EUR),
        (evening, "FOSSE", "PLEIN", 3500, Currency.EUR),
        (evening, "FOSSE", "ENFANT", 2500, Currency.EUR),
        (evening, "CAT1", "FNAC_PUBLIC", 6850, Currency.EUR),
        (visit, "VISITE", "PLEIN", 2400, Currency.CHF),
        (visit, "VISITE", "REDUIT", 1800, Currency.CHF),
        (year, "LIBRE", "PLEIN", 3900, Currency.EUR),
    ):
        session.add(
            Price(
                performance=performance,
                category=categories[category],
                tariff=tariffs[tariff],
                amount=amount,
                currency=currency,
            )
        )
    session.flush()


@pytest.fixture
def session(demo_session: Session) -> Session:
    add_examples(demo_session)
    return demo_session


@pytest.fixture
def no_mappings(tmp_path: Path) -> Path:
    """An empty mapping folder: the identity throughout."""
    folder = tmp_path / "mappings"
    folder.mkdir()
    return folder


def lines_of(
    session: Session,
    text: str,
    *,
    number: int = 1,
    mappings: Path,
    instance: SecutixSettings | None = None,
) -> LineBatch:
    name = f"TICKETS_{number:08d}.csv"
    data = text.encode()
    data_file = read_file(name, data, control_for(name, data))
    return ticket_state_lines(session, instance or settings(), data_file, load_mappings(mappings))


def one_file(*lines: str) -> str:
    header = TICKETS_42.splitlines()[0]
    return "".join(f"{line}\n" for line in (header, *lines))


TOSCA = {
    "PRODUCT_CODE": "TOSCA27",
    "PERFORMANCE_CODE": "TOSCA27-0314",
    "SEATCAT_CODE": "CAT1",
    "TARIFF_CODE": "PLEIN",
    "SEAT": "PARTERRE/F/12",
}
MUSEE = {
    "PRODUCT_CODE": "MUSEE27",
    "PRODUCT_NAME": "Musée",
    "PERFORMANCE_CODE": "MUSEE27-0403",
    "PASS_VALIDITY_END": "2027-04-03",
    "SEATCAT_CODE": "VISITE",
    "TARIFF_CODE": "REDUIT",
    "SEAT": "",
    "PRICE": "1800",
    "CURRENCY": "CHF",
    "COMMISSION": "100",
}
PASS = {
    "PRODUCT_CODE": "PASS27",
    "PRODUCT_NAME": "Pass",
    "PERFORMANCE_CODE": "",
    "PASS_VALIDITY_END": "2027-12-31",
    "SEATCAT_CODE": "LIBRE",
    "TARIFF_CODE": "PLEIN",
    "SEAT": "",
    "PRICE": "3900",
    "COMMISSION": "200",
}


def located(problems: list[Problem]) -> list[str]:
    """Each problem as ``FILE:LINE:COLUMN: CODE``."""
    found = []
    for problem in problems:
        assert isinstance(problem, SecutixProblem)
        found.append(problem.located().split(" ", 2)[0] + " " + problem.code)
    return found


def only_problem(batch: LineBatch) -> SecutixProblem:
    found = [*batch.problems.mapping, *batch.problems.external]
    assert len(found) == 1, [str(problem) for problem in found]
    problem = found[0]
    assert isinstance(problem, SecutixProblem)
    return problem


# --------------------------------------------------------------------------- the example


def _expected_example(session: Session) -> pd.DataFrame:
    def ids(model: type[SeatCategory] | type[Tariff]) -> dict[str, int]:
        return {code: id_ for id_, code in session.execute(select(model.id, model.code))}

    categories, tariffs = ids(SeatCategory), ids(Tariff)
    performances = {
        code: id_ for id_, code in session.execute(select(Performance.id, Performance.code))
    }
    seats = {
        (row, number): id_
        for id_, row, number in session.execute(
            select(Seat.id, Seat.row, Seat.number)
            .join(Block, Seat.block_id == Block.id)
            .where(Block.code == "PARTERRE")
        )
    }
    pit = session.scalars(select(Block.id).where(Block.code == "FOSSE", Block.capacity == 300))
    pit_id = pit.one()

    def instant(text: str) -> pd.Timestamp:
        return pd.Timestamp(text).tz_convert("UTC")

    na = pd.NA
    rows = [
        # ref, state, order, performance, seat, block, category, tariff, price, commission,
        # currency, first, last, point of sale, sold, changed, refund
        (
            "771200000417", "sold", "300417", "TOSCA27-0314", seats[("F", "12")], na, "CAT1",
            "PLEIN", 6850, 350, "EUR", "Hélène", "Dupré", "WEB",
            "2026-11-28T13:05:12+01:00", "2026-11-28T13:05:12+01:00", na,
        ),
        (
            "771200000418", "sold", "300417", "TOSCA27-0314", na, pit_id, "FOSSE", "ENFANT",
            2500, 150, "EUR", "Zoé", "Dupré", "WEB",
            "2026-11-28T13:05:12+01:00", "2026-11-28T13:05:12+01:00", na,
        ),
        (
            "771200000301", "printed", "300301", "TOSCA27-0314", seats[("B", "4")], na, "CAT1",
            "REDUIT", 5850, 350, "EUR", "Marc", "Petit", "GUICHET1",
            "2026-11-27T18:02:00+01:00", "2026-11-28T13:10:00+01:00", na,
        ),
        (
            "771200000288", "refunded", "300288", "TOSCA27-0314", seats[("C", "7")], na, "CAT1",
            "PLEIN", 6850, 350, "EUR", "Anne", "Morel", "WEB",
            "2026-11-27T11:45:30+01:00", "2026-11-28T13:12:41+01:00", 6500,
        ),
        (
            "771200000420", "sold", "300420", "MUSEE27-0403", na, na, "VISITE", "REDUIT",
            1800, 100, "CHF", "Jürg", "Müller", "GUICHET2",
            "2026-11-28T13:20:00+01:00", "2026-11-28T13:20:00+01:00", na,
        ),
        (
            "771200000421", "cancelled", "300421", "PASS27", na, na, "LIBRE", "PLEIN",
            3900, 200, "EUR", "Noël", "Garçon", "WEB",
            "2026-11-28T13:22:00+01:00", "2026-11-28T13:24:10+01:00", na,
        ),
    ]  # fmt: skip
    columns = list(zip(*rows, strict=True))
    tariff_codes = pd.Series(columns[7], dtype="str")
    frame = pd.DataFrame(
        {
            "reseller_order_ref": pd.Series(columns[2], dtype="str"),
            "reseller_ticket_ref": pd.Series(columns[0], dtype="str"),
            "barcode": pd.Series(columns[0], dtype="str"),
            "performance_id": pd.Series([performances[c] for c in columns[3]], dtype="int64"),
            "seat_id": pd.Series(columns[4], dtype="Int64"),
            "block_id": pd.Series(columns[5], dtype="Int64"),
            "category_id": pd.Series([categories[c] for c in columns[6]], dtype="int64"),
            "tariff_id": pd.Series([tariffs[c] for c in columns[7]], dtype="int64"),
            "reseller_tariff_ref": tariff_codes,
            "price": pd.Series(columns[8], dtype="int64"),
            "commission": pd.Series(columns[9], dtype="int64"),
            "currency": pd.Series(columns[10], dtype="str"),
            "beneficiary_first_name": pd.Series(columns[11], dtype="str"),
            "beneficiary_last_name": pd.Series(columns[12], dtype="str"),
            "point_of_sale_ref": pd.Series(columns[13], dtype="str"),
            "point_of_sale_name": pd.Series([na] * 6, dtype="str"),
            "sold_at": pd.Series([instant(t) for t in columns[14]]).astype("datetime64[us, UTC]"),
            "state": pd.Series(columns[1], dtype="str"),
            "state_changed_at": pd.Series([instant(t) for t in columns[15]]).astype(
                "datetime64[us, UTC]"
            ),
            "refund_amount": pd.Series(columns[16], dtype="Int64"),
        }
    )
    frame.index = pd.Index(range(1, 7), dtype="int64", name=LINE_INDEX)
    return frame


def test_the_example_of_section_12_becomes_its_ticket_state_lines(
    session: Session, no_mappings: Path
) -> None:
    batch = lines_of(session, TICKETS_42, number=42, mappings=no_mappings)

    assert not batch.problems, [str(p) for p in batch.problems.mapping + batch.problems.external]
    assert TICKET_STATE_LINES.violations(batch.lines) == []
    pd.testing.assert_frame_equal(batch.lines, _expected_example(session))
    assert batch.records == 6
    assert batch.source is not None
    assert list(batch.source.index) == [1, 2, 3, 4, 5, 6]


def test_no_contact_value_reaches_the_lines_or_the_source(
    session: Session, no_mappings: Path
) -> None:
    batch = lines_of(session, TICKETS_42, number=42, mappings=no_mappings)

    assert batch.source is not None
    shown = batch.lines.to_csv() + batch.source.to_csv()
    assert not [value for value in CONTACT_VALUES if value in shown]
    assert not [c for c in batch.source.columns if c.startswith("CONTACT_")]


def test_an_empty_file_gives_no_line(session: Session, no_mappings: Path) -> None:
    batch = lines_of(session, one_file(), mappings=no_mappings)

    assert batch.lines.empty
    assert not batch.problems
    assert TICKET_STATE_LINES.violations(batch.lines) == []


# --------------------------------------------------------------------------- the codes


@pytest.mark.parametrize(
    ("values", "expected", "category"),
    [
        pytest.param({**TOSCA, "CURRENCY": "CHF"}, "CURRENCY: T13", "external", id="T13-currency"),
        pytest.param(
            {**TOSCA, "PRODUCT_CODE": "NOPE27"},
            "PRODUCT_CODE: T14",
            "mapping",
            id="T14-unknown-product",
        ),
        pytest.param(
            {**TOSCA, "PRODUCT_CODE": "PACK-LUMEN-MAH"},
            "PRODUCT_CODE: T14",
            "mapping",
            id="T14-kind-never-offered",
        ),
        pytest.param(
            {**TOSCA, "PRODUCT_CODE": "CMP-LYON-NANTES", "PERFORMANCE_CODE": "S1"},
            "PRODUCT_CODE: T14",
            "mapping",
            id="T14-not-on-sale",
        ),
        pytest.param(
            {**TOSCA, "PERFORMANCE_CODE": "TOSCA27-0315"},
            "PERFORMANCE_CODE: T14",
            "mapping",
            id="T14-unknown-performance",
        ),
        pytest.param(
            {**TOSCA, "SEATCAT_CODE": "CAT9"}, "SEATCAT_CODE: T15", "mapping", id="T15-category"
        ),
        pytest.param(
            {**TOSCA, "SEATCAT_CODE": "CAT2"},
            "SEATCAT_CODE: T15",
            "mapping",
            id="T15-category-not-offered",
        ),
        pytest.param(
            {**TOSCA, "TARIFF_CODE": "ENFANT"},
            "TARIFF_CODE: T15",
            "mapping",
            id="T15-tariff-not-priced",
        ),
        pytest.param(
            {**TOSCA, "TARIFF_CODE": "FNAC_PUBLIC"},
            "TARIFF_CODE: T15",
            "mapping",
            id="T15-tariff-not-offered-here",
        ),
        pytest.param(
            {**TOSCA, "SEATCAT_CODE": "FOSSE", "TARIFF_CODE": "PLEIN"},
            "SEATCAT_CODE: T15",
            "mapping",
            id="T15-not-the-place-s-category",
        ),
        pytest.param(
            {**TOSCA, "SEAT": "BALCON/A/1"}, "SEAT: T16", "mapping", id="T16-unknown-block"
        ),
        pytest.param({**TOSCA, "SEAT": "PARTERRE/Z/1"}, "SEAT: T16", "mapping", id="T16-seat"),
        pytest.param({**TOSCA, "SEAT": "PARTERRE"}, "SEAT: T16", "mapping", id="T16-no-seat"),
        pytest.param(
            {**TOSCA, "SEATCAT_CODE": "FOSSE", "SEAT": "FOSSE/A/1"},
            "SEAT: T16",
            "mapping",
            id="T16-seat-in-a-free-block",
        ),
        pytest.param(
            {**TOSCA, "SEAT": "", "PASS_VALIDITY_END": "2027-03-14"},
            "SEAT: T19",
            "external",
            id="T19-event-without-seat",
        ),
        pytest.param(
            {**PASS, "PERFORMANCE_CODE": "PASS27"},
            "PERFORMANCE_CODE: T19",
            "external",
            id="T19-undated-pass-with-performance",
        ),
        pytest.param(
            {**MUSEE, "PERFORMANCE_CODE": ""},
            "PERFORMANCE_CODE: T19",
            "external",
            id="T19-dated-pass-without-performance",
        ),
        pytest.param(
            {**MUSEE, "PASS_VALIDITY_END": "2027-04-04"},
            "PASS_VALIDITY_END: T19",
            "external",
            id="T19-visit-pass-validity-end",
        ),
        pytest.param(
            {**PASS, "PASS_VALIDITY_END": "2027-12-30"},
            "PASS_VALIDITY_END: T19",
            "external",
            id="T19-undated-pass-validity-end",
        ),
        pytest.param(
            {**TOSCA, "SEAT": ""}, "-: T19", "external", id="T19-fits-no-kind-within-the-file"
        ),
        pytest.param(
            {**TOSCA, "COMMISSION": "6851"}, "COMMISSION: T20", "external", id="T20-commission"
        ),
        pytest.param(
            {**TOSCA, "TICKET_STATE": "REFUNDED"},
            "REFUND_AMOUNT: T20",
            "external",
            id="T20-refund-missing",
        ),
        pytest.param(
            {**TOSCA, "REFUND_AMOUNT": "100"},
            "REFUND_AMOUNT: T20",
            "external",
            id="T20-refund-when-sold",
        ),
        pytest.param(
            {**TOSCA, "TICKET_STATE": "REFUNDED", "REFUND_AMOUNT": "6851"},
            "REFUND_AMOUNT: T20",
            "external",
            id="T20-refund-above-price",
        ),
    ],
)
def test_each_code_names_its_file_line_and_column(
    session: Session,
    no_mappings: Path,
    values: dict[str, str],
    expected: str,
    category: str,
) -> None:
    good = ticket_line(BAR_CODE="771200000999", ORDER_NUMBER="300999")
    batch = lines_of(session, one_file(good, ticket_line(**values)), mappings=no_mappings)

    problem = only_problem(batch)
    column, code = expected.split(": ")
    assert problem.located().startswith(f"TICKETS_00000001.csv:2:{column}: {code} ")
    assert problem.code is Code(code)
    assert problem.code.category is not None
    assert problem.code.category.value == category
    assert batch.problems.of("mapping" if category == "mapping" else "external") == [problem]
    assert list(batch.lines.index) == [1], "the line with a problem is left out"
    assert TICKET_STATE_LINES.violations(batch.lines) == []


def test_a_line_reports_its_first_problem_in_the_spec_s_order(
    session: Session, no_mappings: Path
) -> None:
    wrong = ticket_line(PRODUCT_CODE="NOPE27", COMMISSION="9999", SEATCAT_CODE="CAT9")
    batch = lines_of(session, one_file(wrong), mappings=no_mappings)

    assert str(only_problem(batch)).startswith("TICKETS_00000001.csv:1:PRODUCT_CODE: T14 ")


def test_problems_of_every_line_are_all_reported_in_line_order(
    session: Session, no_mappings: Path
) -> None:
    batch = lines_of(
        session,
        one_file(
            ticket_line(BAR_CODE="77120000001", ORDER_NUMBER="1", SEAT="PARTERRE/Z/1"),
            ticket_line(BAR_CODE="77120000002", ORDER_NUMBER="2"),
            ticket_line(BAR_CODE="77120000003", ORDER_NUMBER="3", CURRENCY="CHF"),
            ticket_line(BAR_CODE="77120000004", ORDER_NUMBER="4", PRODUCT_CODE="NOPE27", SEAT=""),
        ),
        mappings=no_mappings,
    )

    assert located(batch.problems.mapping) == [
        "TICKETS_00000001.csv:1:SEAT: T16",
        "TICKETS_00000001.csv:4:PRODUCT_CODE: T14",
    ]
    assert located(batch.problems.external) == ["TICKETS_00000001.csv:3:CURRENCY: T13"]
    assert list(batch.lines.index) == [2]


def test_problems_are_listed_for_the_first_lines_and_counted_for_the_others(
    session: Session, no_mappings: Path
) -> None:
    wrong = [
        ticket_line(BAR_CODE=f"{77120000000 + n}", ORDER_NUMBER=str(n), PRODUCT_CODE="NOPE27")
        for n in range(1, 131)
    ]
    unknown_state = [
        ticket_line(BAR_CODE=f"{77130000000 + n}", ORDER_NUMBER=f"9{n}", TICKET_STATE="LOST")
        for n in range(1, 121)
    ]
    batch = lines_of(session, one_file(*wrong, *unknown_state), mappings=no_mappings)

    listed = batch.problems.mapping + batch.problems.external
    assert len(listed) == MAX_PROBLEMS + 1
    assert str(listed[-1]).endswith("and 150 more lines with a problem")
    assert batch.lines.empty, "every line with a problem is left out, listed or not"
    assert batch.records == 250


def test_a_problem_quotes_the_value_but_no_contact(session: Session, no_mappings: Path) -> None:
    batch = lines_of(session, one_file(ticket_line(PRODUCT_CODE="NOPE27")), mappings=no_mappings)

    problem = only_problem(batch)
    assert problem.value == "NOPE27"
    assert not [value for value in CONTACT_VALUES if value in str(problem)]


# --------------------------------------------------------------------------- mappings


def test_a_mapping_file_overrides_a_code_and_the_rest_stays_the_identity(
    session: Session, tmp_path: Path
) -> None:
    folder = tmp_path / "secutix"
    folder.mkdir()
    (folder / "_shared.yaml").write_text(
        "categories:\n"
        '  CAT1: "PREMIERE"\n'
        "configurations:\n"
        "  OPERA-TOSCA:\n"
        "    zones:\n"
        "      PARTERRE:\n"
        "        blocks:\n"
        '          PARTERRE: "ORCH"\n',
        encoding="utf-8",
    )
    (folder / "TOSCA27.yaml").write_text('product_code: "TOSCA"\n', encoding="utf-8")
    renamed = ticket_line(
        BAR_CODE="77120000001", PRODUCT_CODE="TOSCA", SEATCAT_CODE="PREMIERE", SEAT="ORCH/F/12"
    )
    former_codes = [
        ticket_line(BAR_CODE="77120000002", ORDER_NUMBER="2", PRODUCT_CODE="TOSCA27"),
        ticket_line(BAR_CODE="77120000003", ORDER_NUMBER="3", PRODUCT_CODE="TOSCA"),
        ticket_line(
            BAR_CODE="77120000004",
            ORDER_NUMBER="4",
            PRODUCT_CODE="TOSCA",
            SEATCAT_CODE="PREMIERE",
        ),
    ]
    pit = ticket_line(
        BAR_CODE="77120000005",
        ORDER_NUMBER="5",
        PRODUCT_CODE="TOSCA",
        SEATCAT_CODE="FOSSE",
        TARIFF_CODE="ENFANT",
        SEAT="FOSSE",
    )
    batch = lines_of(session, one_file(renamed, *former_codes, pit), mappings=folder)

    assert located([*batch.problems.mapping, *batch.problems.external]) == [
        "TICKETS_00000001.csv:2:PRODUCT_CODE: T14",
        "TICKETS_00000001.csv:3:SEATCAT_CODE: T15",
        "TICKETS_00000001.csv:4:SEAT: T16",
    ]
    assert list(batch.lines.index) == [1, 5]
    cat1 = session.scalar(select(SeatCategory.id).where(SeatCategory.code == "CAT1"))
    seat = session.scalar(
        select(Seat.id)
        .join(Block, Seat.block_id == Block.id)
        .where(Block.code == "PARTERRE", Seat.row == "F", Seat.number == "12")
    )
    assert batch.lines.loc[1, "category_id"] == cat1
    assert batch.lines.loc[1, "seat_id"] == seat


def test_the_codes_sent_are_the_box_office_s_unless_a_mapping_says_otherwise(
    tmp_path: Path,
) -> None:
    (tmp_path / "_shared.yaml").write_text('categories:\n  CAT1: "PREMIERE"\n')
    (tmp_path / "EVT-LUMEN.yaml").write_text('product_code: "LUMEN27"\n')
    repository = load_mappings(tmp_path)
    lumen, tosca = ExchangedCodes.of(repository, "EVT-LUMEN"), ExchangedCodes.of(repository, "T")

    assert (lumen.product_code, tosca.product_code) == ("LUMEN27", "T")
    sent = tosca.to_exchanged(MappingKind.SEAT_CATEGORY, pd.Series(["CAT1", "CAT2"]))
    assert sent.tolist() == ["PREMIERE", "CAT2"]
    back = tosca.to_box_office(MappingKind.SEAT_CATEGORY, pd.Series(["PREMIERE", "CAT2", "CAT1"]))
    assert back.fillna("-").tolist() == ["CAT1", "CAT2", "-"]


def test_no_mapping_folder_is_the_identity(session: Session, tmp_path: Path) -> None:
    repository = load_repository(tmp_path / "absent")

    assert not repository.faults
    assert not repository.products
    batch = lines_of(session, TICKETS_42, number=42, mappings=tmp_path / "absent")
    assert not batch.problems
    assert len(batch.lines) == 6


def test_the_project_s_mapping_folder_loads_without_fault() -> None:
    repository = load_repository(ROOT / "include" / "mappings" / "secutix")

    assert repository.faults == ()


# --------------------------------------------------------------------------- declaration


def test_integration_settings_name_the_partner_s_columns() -> None:
    integration = integration_settings(settings())

    assert integration.code == "secutix"
    assert integration.name == "SecuTix reseller"
    assert integration.column("price") == "PRICE"
    assert integration.column("barcode") == "BAR_CODE"
    assert integration.column("state") == "TICKET_STATE"
    assert integration.columns == COLUMNS
    assert set(COLUMNS) <= set(TICKET_STATE_LINES.names)
    assert not integration.cancels_test_tickets
    assert integration.settings_file == "include/config/resellers/secutix.yaml"
    assert integration.mappings_dir == "include/mappings/secutix/"


def test_the_reseller_type_declares_the_contract() -> None:
    assert RESELLER_TYPE.contract == "secutix-reseller-v1"
    assert [stream.code for stream in RESELLER_TYPE.streams] == ["TICKETS"]
    assert RESELLER_TYPE.processing_dag("STOCK") == "secutix_nightly"
    assert RESELLER_TYPE.may_sell(ProductKind.UNDATED_PASS)
    reason = RESELLER_TYPE.refusal_reason(ProductKind.SUBSCRIPTION)
    assert reason is not None
    assert "secutix-reseller-v1 section 1, RESULT code O01" in reason


@pytest.mark.parametrize(
    ("kind", "dated", "expected"),
    [
        (ProductKind.EVENT, True, ExchangedKind.EVENT),
        (ProductKind.COMPETITION, True, ExchangedKind.COMPETITION),
        (ProductKind.VISIT_PASS, True, ExchangedKind.VISIT_PASS),
        (ProductKind.VISIT_PASS, False, ExchangedKind.UNDATED_PASS),
        (ProductKind.UNDATED_PASS, False, ExchangedKind.UNDATED_PASS),
        (ProductKind.GROUP_VISIT_PASS, False, None),
        (ProductKind.SUBSCRIPTION, False, None),
        (ProductKind.PACKAGE, False, None),
    ],
)
def test_box_office_kinds_as_the_contract_s(
    kind: ProductKind, dated: bool, expected: ExchangedKind | None
) -> None:
    assert exchanged_kind(kind, dated=dated) is expected
