"""The reseller contract: what every registered adapter must do, run for each type.

An adapter that joins the registry (``reseller_sync.core.resellers.ADAPTER_MODULES``)
is run through every test here without a line of its own: its instance settings
and mappings are found by its code, its refusals are checked against the kinds
it declares, on the demo box office.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib
import pkgutil
import re
import shutil
from collections import Counter
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any, Protocol, cast

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from reseller_sync.alerts.compose import CATEGORY_LABELS, compose_alert
from reseller_sync.boxoffice.models import (
    Direction,
    ExchangeFile,
    FileState,
    Product,
    Ticket,
    TicketState,
)
from reseller_sync.config.paths import (
    INCLUDE_DIR_VARIABLE,
    PROJECT_ROOT,
    configured_resellers,
    mappings_dir,
    settings_path,
)
from reseller_sync.config.settings import ResellerSettings
from reseller_sync.core.exchange import InboundUnit, Unit
from reseller_sync.core.lines import (
    CANCELLATION_LINES,
    SALE_LINES,
    TICKET_STATE_LINES,
    InboundLines,
    LineBatch,
    LineKind,
    LineTicketState,
)
from reseller_sync.core.resellers import (
    ADAPTER_MODULES,
    InboundFiles,
    InterfaceKind,
    ResellerType,
    SalesReporting,
    UnknownResellerError,
    adapter,
    reseller_type,
    reseller_type_codes,
    reseller_types,
)
from reseller_sync.domain.errors import ConfigurationError, ErrorCategory
from reseller_sync.domain.products import ProductKind
from reseller_sync.domain.texts import Localized
from reseller_sync.exchange.journal import find_file as journal_find
from reseller_sync.exchange.journal import land as land_file
from reseller_sync.exchange.journal import mark_sent, prepare_outbound, queue
from reseller_sync.exchange.transport import LandedFile, LandedMember
from reseller_sync.integration.inbound import integrate_inbound_lines

TYPES = list(reseller_types())


@pytest.fixture(params=TYPES, ids=[kind.code for kind in TYPES])
def reseller(request: pytest.FixtureRequest) -> ResellerType:
    declared: ResellerType = request.param
    return declared


def test_the_registry_lists_each_adapter_once_under_its_own_code() -> None:
    assert len(TYPES) == len(ADAPTER_MODULES)
    assert reseller_type_codes() == tuple(kind.code for kind in TYPES)
    for kind in TYPES:
        assert reseller_type(kind.code) is kind
        assert adapter(kind.code).RESELLER_TYPE is kind
    with pytest.raises(UnknownResellerError, match="no reseller type 'nobody'"):
        reseller_type("nobody")


def test_every_configured_instance_is_of_a_registered_type() -> None:
    assert set(configured_resellers()) <= set(reseller_type_codes())
    assert configured_resellers(), "the project configures at least one reseller instance"


def test_its_instance_settings_load_and_list_products(reseller: ResellerType) -> None:
    settings = adapter(reseller.code).load_settings()

    assert settings.source == settings_path(reseller.code)
    assert settings.product_codes
    assert settings_path(reseller.code).parent.name == "resellers"


def test_a_broken_settings_file_is_refused_naming_the_file_and_line(
    reseller: ResellerType, tmp_path: Path
) -> None:
    broken = tmp_path / f"{reseller.code}.yaml"
    original = settings_path(reseller.code).read_text(encoding="utf-8")
    broken.write_text(original + "\nno_such_setting: 1\n", encoding="utf-8")
    line = len(original.splitlines()) + 2

    with pytest.raises(ConfigurationError) as refused:
        adapter(reseller.code).load_settings(broken)

    located = [problem for problem in refused.value.problems if problem.line == line]
    assert located, [str(problem) for problem in refused.value.problems]
    assert str(broken.name) in str(located[0].file)
    assert "no_such_setting" in str(located[0])


def test_its_mappings_pass_the_check_on_the_demo_box_office(
    reseller: ResellerType, demo_session: Session
) -> None:
    module = adapter(reseller.code)
    settings = module.load_settings()

    assert mappings_dir(reseller.code).is_dir()
    assert module.check_mappings(settings, None).ok
    assert module.check_mappings(settings, demo_session).ok


def test_missing_mappings_fail_the_check(
    reseller: ResellerType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without its mapping files (the product's, and the shared ones a product may rely on
    alone), a product on sale fails the check, files only and against the database; unless
    the type exchanges the organiser's own codes, whose identity then stands."""
    include = tmp_path / "include"
    shutil.copytree(PROJECT_ROOT / "include", include)
    monkeypatch.setenv(INCLUDE_DIR_VARIABLE, str(include))
    module = adapter(reseller.code)
    settings = module.load_settings()
    for mapping_file in mappings_dir(reseller.code).glob("*.yaml"):
        mapping_file.unlink()

    assert module.check_mappings(settings, None).ok is reseller.identity_mapping


@pytest.mark.parametrize("kind", list(ProductKind), ids=[kind.value for kind in ProductKind])
def test_a_kind_it_may_not_sell_is_refused_before_any_exchange(
    reseller: ResellerType, kind: ProductKind, demo_session: Session
) -> None:
    """The demo box office has a product of every kind; the adapter's product check refuses
    exactly the kinds the type does not declare, naming the reseller, and sends nothing."""
    product = demo_session.scalar(select(Product).where(Product.kind == kind).limit(1))
    assert product is not None, f"the demo box office has no {kind}"
    module = adapter(reseller.code)

    verdict = module.check_product(demo_session, module.load_settings(), product.code)

    if reseller.may_sell(kind):
        assert verdict.sellable
        assert reseller.refusal_reason(kind) is None
    else:
        reason = reseller.refusal_reason(kind)
        assert reason is not None
        assert reseller.name in reason
        assert reseller.contract in reason
        assert not verdict.sellable
        assert not verdict.ok
        assert any(reason in problem.reason for problem in verdict.problems)
    sent = demo_session.scalar(
        select(func.count())
        .select_from(ExchangeFile)
        .where(
            ExchangeFile.reseller_code == reseller.code,
            ExchangeFile.direction == Direction.OUTBOUND,
        )
    )
    assert sent == 0


def test_its_declaration_is_coherent(reseller: ResellerType) -> None:
    if reseller.interface is InterfaceKind.FILES:
        assert reseller.streams, "a file reseller names the streams it integrates"
    assert reseller.dag_id("inbound") == f"{reseller.code}_inbound"
    assert reseller.dag_id("onboarding", "EVT-X") == f"{reseller.code}_onboarding__evt-x"


def test_a_declaration_that_cannot_work_is_refused() -> None:
    fnac = TYPES[0]
    with pytest.raises(ValueError, match="code 'Not A Code'"):
        ResellerType(**{**fnac.__dict__, "code": "Not A Code"})
    with pytest.raises(ValueError, match="may sell no product kind"):
        ResellerType(**{**fnac.__dict__, "product_kinds": frozenset()})
    with pytest.raises(ValueError, match="answers synchronously"):
        ResellerType(**{**fnac.__dict__, "interface": InterfaceKind.REALTIME})


def test_settings_named_after_no_reseller_type_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    include = tmp_path / "include"
    shutil.copytree(PROJECT_ROOT / "include", include)
    (include / "config" / "resellers" / "fnak.yaml").write_text("x: 1\n")
    monkeypatch.setenv(INCLUDE_DIR_VARIABLE, str(include))

    with pytest.raises(ConfigurationError) as refused:
        configured_resellers()

    assert "fnak" in refused.value.message
    assert refused.value.problems[0].file is not None
    assert refused.value.problems[0].file.endswith("fnak.yaml")


# Canonical lines from its sandbox's files ---------------------------------------------
#
# Every type has a sandbox, devtools/sandboxes/<code>/, whose module ``contract`` plays a
# realistic stretch of the partner's side on the demo box office:
#
#     a_day_of_sales(root: Path, session: Session, *, seed: int) -> day
#
# ``root`` is an empty folder for the sandbox's files and state; ``session`` the demo box
# office, only read (the organiser's side: products, performances, prices); ``day.files``
# the partner's inbound files, (name, bytes) as it wrote them, in the order they are
# integrated (a batch's data files before its closing file); ``day.buyer_contacts`` every
# buyer contact value (e-mail, phone, address) those files hold; ``day.sent``, when the
# partner's files answer the organiser's, the organiser's files it answered, journaled as
# sent before the day is integrated. The same box office and seed give the same files.

SANDBOX_SEED = 11
SCHEMAS = {
    LineKind.SALES: SALE_LINES,
    LineKind.CANCELLATIONS: CANCELLATION_LINES,
    LineKind.TICKET_STATES: TICKET_STATE_LINES,
}


class DayOfSales(Protocol):
    """What a sandbox's ``a_day_of_sales`` returns."""

    @property
    def files(self) -> Sequence[tuple[str, bytes]]: ...
    @property
    def buyer_contacts(self) -> Collection[str]: ...


def play_a_day(reseller: ResellerType, session: Session, root: Path) -> DayOfSales:
    """The type's sandbox playing a day of sales on ``session``'s demo box office."""
    package = f"devtools.sandboxes.{reseller.code}"
    where = f"devtools/sandboxes/{reseller.code}/contract.py"
    try:
        contract = importlib.import_module(f"{package}.contract")
    except ModuleNotFoundError as missing:
        if missing.name not in (package, f"{package}.contract"):
            raise
        pytest.fail(
            f"reseller type {reseller.code!r} has no sandbox for the contract suite: write "
            f"{where} with a_day_of_sales(root, session, *, seed) (docs/adding-a-reseller.md)"
        )
    play = getattr(contract, "a_day_of_sales", None)
    if not callable(play):
        pytest.fail(f"{where} defines no function a_day_of_sales(root, session, *, seed)")
    day: DayOfSales = play(root, session, seed=SANDBOX_SEED)
    assert day.files, f"the {reseller.name} sandbox wrote no inbound file"
    return day


_DAYS: dict[tuple[str, str], DayOfSales] = {}


@pytest.fixture
def sandbox_day(
    reseller: ResellerType, demo_session: Session, tmp_path_factory: pytest.TempPathFactory
) -> DayOfSales:
    """The type's sandbox's day on the demo box office, played once per type and database
    kind: the demo box office is the same in every test, and the day depends only on it and
    the seed."""
    if reseller.interface is InterfaceKind.REALTIME:
        pytest.skip(
            f"{reseller.name} writes no file: its sales are its calls to the service "
            "(test_its_sales_through_the_service_give_the_tickets_they_imply)"
        )
    key = (reseller.code, demo_session.get_bind().dialect.name)
    if key not in _DAYS:
        root = tmp_path_factory.mktemp(f"sandbox-{reseller.code}")
        _DAYS[key] = play_a_day(reseller, demo_session, root)
    return _DAYS[key]


def test_a_type_without_a_sandbox_fails_the_suite_saying_what_to_write(tmp_path: Path) -> None:
    nobody = ResellerType(**{**TYPES[0].__dict__, "code": "nobody"})

    with pytest.raises(pytest.fail.Exception, match=r"devtools/sandboxes/nobody/contract\.py"):
        play_a_day(nobody, cast("Session", None), tmp_path)


def units_of(reseller: ResellerType, files: Sequence[tuple[str, bytes]]) -> list[LandedFile]:
    """The day's files as the transport lands them: a file on its own, or a batch under
    its closing file with the data files written before it."""
    naming = adapter(reseller.code).naming()
    units: list[LandedFile] = []
    pending: list[LandedMember] = []
    for name, content in files:
        parsed = naming.parse(name)
        assert parsed is not None, f"{name} is not a name of {reseller.contract}"
        digest = hashlib.sha256(content).hexdigest()
        if parsed.unit is Unit.BATCH_DATA:
            pending.append(LandedMember(name, content, len(content), digest))
            continue
        units.append(
            LandedFile(name, content, len(content), digest, parsed, members=tuple(pending))
        )
        pending = []
    assert not pending, "data files of a batch that nothing closes"
    return units


def readable(content: bytes) -> bytes:
    """A file's bytes as a person reads them: decompressed when gzip."""
    return gzip.decompress(content) if content[:2] == b"\x1f\x8b" else content


def inbound_unit(landed: LandedFile) -> InboundUnit:
    """A landed unit as the partner wrote it."""
    return InboundUnit(
        landed.name,
        landed.data,
        {member.name: member.data for member in landed.members},
        {member.name: member.sha256 for member in landed.members},
    )


def journal_what_was_sent(session: Session, reseller: ResellerType, day: DayOfSales) -> None:
    """The organiser's files the day answers, journaled as sent (once)."""
    sent = list(getattr(day, "sent", ()))
    if not sent:
        return
    naming = adapter(reseller.code).naming()
    for landed in units_of(reseller, sent):
        if journal_find(session, reseller.code, Direction.OUTBOUND, landed.name) is not None:
            continue
        parsed = naming.parse(landed.name)
        assert parsed is not None
        entry = prepare_outbound(
            session,
            reseller.code,
            parsed,
            landed.data,
            members=[(member.name, member.data) for member in landed.members],
        )
        mark_sent(session, entry.id)


def read_lines(
    files: InboundFiles, session: Session, landed: LandedFile
) -> list[InboundLines] | None:
    """The unit's lines, their batches read once (they may be lazy) and kept."""
    all_lines = files.lines(session, inbound_unit(landed))
    if all_lines is None:
        return None
    return [
        InboundLines(lines.kind, list(lines.batches), lines.is_test, lines.locate, lines.file_name)
        for lines in all_lines
    ]


def batches_of(lines: InboundLines) -> list[LineBatch]:
    assert isinstance(lines.batches, list)
    return lines.batches


def count_lines(lines: InboundLines) -> int:
    return sum(len(batch.lines) for batch in batches_of(lines))


def land(session: Session, reseller: ResellerType, landed: LandedFile) -> int:
    """The unit landed in the exchange journal, as the hourly run does first: its id."""
    outcome = land_file(session, reseller.code, landed)
    assert outcome.state is FileState.LANDED, outcome
    return outcome.file_id


def test_its_sandbox_files_give_lines_that_conform(
    reseller: ResellerType, demo_session: Session, sandbox_day: DayOfSales
) -> None:
    """Every file the sandbox wrote gives lines, each batch conforming, with no problem and
    no record left out, or is one the adapter integrates otherwise; the day has sales and
    cancellations."""
    module = adapter(reseller.code)
    files = module.inbound_files(module.load_settings())
    read: Counter[LineKind] = Counter()
    journal_what_was_sent(demo_session, reseller, sandbox_day)

    for unit in units_of(reseller, sandbox_day.files):
        name = unit.name
        all_lines = read_lines(files, demo_session, unit)
        if all_lines is None:
            files.integrate_other(
                demo_session, inbound_unit(unit), file_id=land(demo_session, reseller, unit)
            )
            continue
        for lines in all_lines:
            for batch in batches_of(lines):
                problems = [str(p) for p in [*batch.problems.mapping, *batch.problems.external]]
                assert problems == [], name
                assert SCHEMAS[lines.kind].violations(batch.lines) == [], name
                assert batch.read == len(batch.lines), f"{name}: records left out of the lines"
            if count_lines(lines):
                assert not lines.is_test, f"{name}: a day of sales holds no test ticket"
            read[lines.kind] += count_lines(lines)

    if reseller.sales_reporting is SalesReporting.TICKET_STATES:
        assert read[LineKind.TICKET_STATES], "the sandbox's day changed no ticket"
        return
    assert read[LineKind.SALES], "the sandbox's day sold no ticket"
    assert read[LineKind.CANCELLATIONS], "the sandbox's day cancelled no ticket"


def tickets_of(session: Session, reseller: ResellerType) -> dict[TicketState, set[str]]:
    """The barcodes of the reseller's tickets (test tickets aside), by state."""
    found: dict[TicketState, set[str]] = {state: set() for state in TicketState}
    for barcode, state in session.execute(
        select(Ticket.barcode, Ticket.state).where(
            Ticket.reseller_code == reseller.code, Ticket.is_test.is_(False)
        )
    ):
        found[state].add(barcode)
    return found


def test_its_sandbox_files_integrate_into_the_tickets_they_imply_once(
    reseller: ResellerType, demo_session: Session, sandbox_day: DayOfSales
) -> None:
    """Integrated in order, the files give exactly the tickets sold less those cancelled;
    replayed, they integrate nothing twice."""
    module = adapter(reseller.code)
    settings = module.load_settings()
    integration = module.integration_settings(settings)
    files = module.inbound_files(settings)
    journal_what_was_sent(demo_session, reseller, sandbox_day)
    units = units_of(reseller, sandbox_day.files)
    landed = {unit.name: land(demo_session, reseller, unit) for unit in units}
    sold: dict[str, str] = {}  # ticket reference → barcode, of every sale line
    cancelled: set[str] = set()  # barcodes of the tickets cancelled
    lines_read: Counter[LineKind] = Counter()

    def integrate_the_day(replayed: Sequence[LandedFile] = ()) -> list[tuple[str, int, Any]]:
        """Each file's lines integrated in order (or only those ``replayed``): (name, lines,
        outcome)."""
        lines_read.clear()
        done = []
        for unit in replayed or units:
            name = unit.name
            all_lines = read_lines(files, demo_session, unit)
            if all_lines is None:
                files.integrate_other(demo_session, inbound_unit(unit), file_id=landed[name])
                continue
            for lines in all_lines:
                outcome, records = integrate_inbound_lines(
                    demo_session, integration, name, lines, file_id=landed[name]
                )
                assert records == count_lines(lines), name
                done.append((name, count_lines(lines), outcome))
                lines_read[lines.kind] += count_lines(lines)
                remember(lines)
        return done

    def remember(lines: InboundLines) -> None:
        """The tickets sold and the barcodes cancelled by the lines."""
        if lines.is_test:
            return
        for batch in batches_of(lines):
            frame = batch.lines
            if lines.kind is LineKind.SALES:
                sold.update(zip(frame["reseller_ticket_ref"], frame["barcode"], strict=True))
            elif lines.kind is LineKind.CANCELLATIONS:
                by_ref = frame["reseller_ticket_ref"].map(sold)
                cancelled.update(frame["barcode"].fillna(by_ref))
            else:  # a ticket's state: a sale the first time, cancelled once it says so
                sold.update(zip(frame["reseller_ticket_ref"], frame["barcode"], strict=True))
                gone = frame["state"].isin([LineTicketState.CANCELLED, LineTicketState.REFUNDED])
                cancelled.update(frame.loc[gone, "barcode"])

    for name, count, outcome in integrate_the_day():
        assert outcome.lines == count, name
        assert outcome.already_integrated == 0, name
    tickets = tickets_of(demo_session, reseller)
    if reseller.sales_reporting is SalesReporting.TICKET_STATES:
        assert lines_read[LineKind.TICKET_STATES] > len(sold) > len(cancelled) > 0
    else:
        assert lines_read[LineKind.SALES] == len(sold)
        assert 0 < lines_read[LineKind.CANCELLATIONS] == len(cancelled) < len(sold)
    assert len(tickets[TicketState.VALID]) == len(sold) - len(cancelled)
    assert tickets[TicketState.VALID] == set(sold.values()) - cancelled
    assert tickets[TicketState.CANCELLED] == cancelled

    replayed: Sequence[LandedFile] = units
    if reseller.sales_reporting is SalesReporting.TICKET_STATES:
        # An earlier state replayed after later ones would take tickets back in their life
        # (the journal ignores a file applied before); the last file replayed changes nothing.
        replayed = units[-1:]
    for name, count, outcome in integrate_the_day(replayed):
        assert outcome.lines == outcome.already_integrated == count, name
    assert tickets_of(demo_session, reseller) == tickets


def test_no_buyer_contact_from_its_sandbox_files_reaches_the_lines(
    reseller: ResellerType, demo_session: Session, sandbox_day: DayOfSales
) -> None:
    """The sandbox writes buyer contacts (e-mail, phone, address) in its files; none is in
    any lines frame, nor in the partner's records a batch keeps for its problems."""
    assert sandbox_day.buyer_contacts, f"the {reseller.name} sandbox wrote no buyer contact"
    written = b"".join(readable(content) for _, content in sandbox_day.files)
    assert any(
        value.isascii() and value.encode() in written for value in sandbox_day.buyer_contacts
    ), "the buyer contacts the sandbox gives are not in its files"
    module = adapter(reseller.code)
    files = module.inbound_files(module.load_settings())

    for unit in units_of(reseller, sandbox_day.files):
        name = unit.name
        all_lines = read_lines(files, demo_session, unit) or []
        for batch in (batch for lines in all_lines for batch in batches_of(lines)):
            for frame in (batch.lines, batch.source):
                if frame is None:
                    continue
                text = "\n".join(str(v) for column in frame for v in frame[column].dropna())
                leaked = sorted(value for value in sandbox_day.buyer_contacts if value in text)
                assert leaked == [], name


# A real-time reseller's sales --------------------------------------------------------------


def test_its_sales_through_the_service_give_the_tickets_they_imply(
    reseller: ResellerType, demo_session: Session
) -> None:
    """A real-time reseller has no files: its products put on its channel as onboarding
    does, its catalogue shows exactly those, and an order of each placed through the
    service's store gives valid tickets of the reseller accepted at access control; a
    cancellation of one ticket refuses it and leaves the others valid."""
    if reseller.interface is not InterfaceKind.REALTIME:
        pytest.skip("a file reseller's sales come from its files")
    import datetime as dt

    from reseller_sync.boxoffice.models import AccessControlEntry
    from reseller_sync.realtime.cancellations import cancel_order
    from reseller_sync.realtime.catalogue import catalogue
    from reseller_sync.realtime.onboarding import put_on_channel, record_settings
    from reseller_sync.realtime.settings import reseller_context
    from tests.realtime.realtime_sales import order_in_store

    module = adapter(reseller.code)
    settings = module.load_settings()
    now = dt.datetime.now(dt.UTC)
    for product in settings.product_codes:
        verdict = module.check_product(demo_session, settings, product).raise_for_problems()
        put_on_channel(demo_session, verdict.plan, now)
    record_settings(demo_session, reseller, settings)
    context = reseller_context(demo_session, reseller.code)
    shown = catalogue(demo_session, context, now)
    assert sorted(p["id"] for p in shown["products"]) == sorted(settings.product_codes)
    assert set(shown["product_kinds"]) == set(settings.contract_product_kinds)

    orders = [
        order_in_store(demo_session, context, product, f"CONTRACT-{n}", now)
        for n, product in enumerate(settings.product_codes)
    ]
    sold = {ticket["barcode"] for order in orders for ticket in order["tickets"]}
    first = orders[0]["tickets"][0]
    cancel_order(
        demo_session,
        context,
        orders[0]["id"],
        {
            "reseller_cancellation_ref": "CONTRACT-C-1",
            "reason": "customer_request",
            "cancelled_at": now.isoformat(),
            "ticket_ids": [first["id"]],
            "refund_amount": first["price"],
        },
        now,
    )

    tickets = tickets_of(demo_session, reseller)
    assert tickets[TicketState.CANCELLED] == {first["barcode"]}
    assert tickets[TicketState.VALID] == sold - {first["barcode"]}
    allowed = dict(
        demo_session.execute(
            select(AccessControlEntry.barcode, AccessControlEntry.allowed).where(
                AccessControlEntry.barcode.in_(sold)
            )
        ).all()
    )
    assert {code for code, ok in allowed.items() if ok} == tickets[TicketState.VALID]
    assert {code for code, ok in allowed.items() if not ok} == {first["barcode"]}


# The journal ------------------------------------------------------------------------------


def test_its_sandbox_files_land_once_each_in_their_stream_and_order_without_buyer_contacts(
    reseller: ResellerType, demo_session: Session, sandbox_day: DayOfSales
) -> None:
    """The journal keys each landed file by the reseller and the stream and sequence its
    naming reads; landing the same bytes again adds nothing; each stream's queue takes its
    files in sequence order; the bytes kept hold none of the buyers' contact values."""
    naming = adapter(reseller.code).naming()
    units = units_of(reseller, sandbox_day.files)
    landed = {unit.name: land(demo_session, reseller, unit) for unit in units}

    by_stream: dict[str, list[tuple[int, int]]] = {}
    for name, file_id in landed.items():
        entry = demo_session.get_one(ExchangeFile, file_id)
        parsed = naming.parse(name)
        assert parsed is not None
        assert (entry.reseller_code, entry.file_type, entry.sequence) == (
            reseller.code,
            parsed.stream,
            parsed.sequence,
        )
        kept = b"".join(
            readable(content or b"")
            for content in (entry.content, *(member.content for member in entry.members))
        )
        assert not [value for value in sandbox_day.buyer_contacts if value.encode() in kept], name
        by_stream.setdefault(parsed.stream, []).append((parsed.sequence, file_id))

    for unit in units_of(reseller, sandbox_day.files):
        outcome = land_file(demo_session, reseller.code, unit)
        assert outcome.file_id == landed[unit.name], f"{unit.name} landed twice"
    for stream, files in by_stream.items():
        queued = queue(demo_session, reseller.code, stream)
        assert queued.ready == tuple(file_id for _, file_id in sorted(files)), stream
        assert (queued.blocked_by, queued.missing) == (None, ()), stream


# Alert texts ------------------------------------------------------------------------------


def adapter_texts(reseller: ResellerType) -> dict[str, Localized]:
    """Every localized text an adapter's modules define at module level (actions, notices),
    directly or in a mapping, by qualified name; for a real-time reseller, whose package is
    thin, those of the real-time modules it shares with the others too."""
    package = importlib.import_module(adapter(reseller.code).__name__.rsplit(".", 1)[0])
    packages = [package]
    if reseller.interface is InterfaceKind.REALTIME:
        packages.append(importlib.import_module("reseller_sync.realtime"))
    texts: dict[str, Localized] = {}
    for module_info in (
        info
        for package in packages
        for info in pkgutil.iter_modules(package.__path__, f"{package.__name__}.")
    ):
        module = importlib.import_module(module_info.name)
        for attribute, value in vars(module).items():
            candidates = value.items() if isinstance(value, dict) else [(None, value)]
            for key, text in candidates:
                if isinstance(text, Localized):
                    label = f"{module_info.name}.{attribute}" + (f"[{key}]" if key else "")
                    texts[label] = text
    return texts


def test_its_own_texts_are_said_in_both_languages_naming_the_reseller_as_configured(
    reseller: ResellerType,
) -> None:
    texts = adapter_texts(reseller)
    name = re.compile(rf"\b{re.escape(reseller.name)}\b")

    assert texts, f"the {reseller.name} adapter defines no localized text"
    for label, text in texts.items():
        french, english = text.render("fr", "Acme Billets"), text.render("en", "Acme Billets")
        assert french.strip(), label
        assert english.strip(), label
        assert french != english, f"{label} is not translated"
        for said in (french, english):
            assert "{" not in said, f"{label} leaves a placeholder: {said}"
            assert not name.search(said), f"{label} hard-codes {reseller.name}: use {{reseller}}"


@pytest.mark.parametrize("category", list(ErrorCategory), ids=[c.value for c in ErrorCategory])
def test_its_alerts_name_the_instance_in_the_configured_language(
    reseller: ResellerType, category: ErrorCategory
) -> None:
    settings = adapter(reseller.code).load_settings()
    language = settings.notifications.language.value
    other = "en" if language == "fr" else "fr"
    named = settings.model_copy(update={"reseller": ResellerSettings(display_name="Acme Billets")})

    alert = compose_alert(
        category=category,
        kind="task_failure",
        title=reseller.dag_id("inbound"),
        message=Localized(fr="message en français", en="message in English"),
        language=language,
        reseller=named.display_name,
    )

    assert alert.subject.startswith("[Acme Billets] ")
    assert CATEGORY_LABELS[language][category] in alert.subject
    assert CATEGORY_LABELS[other][category] not in alert.subject
    said = {"fr": "message en français", "en": "message in English"}
    assert said[language] in alert.text
    assert said[other] not in alert.text
    if category is ErrorCategory.EXTERNAL:
        assert "Acme Billets" in alert.text, "an external error says whom to call"
