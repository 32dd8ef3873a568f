"""Onboarding step 6: FNAC's test tickets pass the whole chain, access control included.

When FNAC has set up a manifestation it sends a TEST file (spec 7.2): at least
one ticket per type de tarif × catégorie de client it set up. The organiser
integrates them as test tickets (no money moves), checks that access control
accepts every barcode for its performance and that every pair set up got a
ticket, then cancels them: access control refuses them from then on.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from itertools import product as pairs

import pandas as pd
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.db import session_scope
from reseller_sync.boxoffice.models import (
    AccessControlEntry,
    Direction,
    OnboardingState,
    Order,
    OrderState,
    Performance,
    Price,
    Product,
    SeatCategory,
    Tariff,
    Ticket,
    TicketState,
)
from reseller_sync.domain.errors import ExternalError, Problem, TechnicalError
from reseller_sync.domain.texts import Localized
from reseller_sync.exchange import journal
from reseller_sync.fnac.codec import FileFormatError, read_file
from reseller_sync.fnac.inbound_files import FnacInboundFiles
from reseller_sync.fnac.mappings import MappingKind
from reseller_sync.fnac.names import FileType
from reseller_sync.fnac.onboarding_state import onboarding_state
from reseller_sync.fnac.sales import RESELLER
from reseller_sync.fnac.settings import FnacSettings
from reseller_sync.mappings.repository import MappingRepository
from reseller_sync.pipelines.inbound import integrate_file


@dataclass(frozen=True)
class TestTicketsReport:
    product_code: str
    files: tuple[str, ...]
    tickets: int
    pairs_covered: tuple[tuple[str, str], ...]
    """(type de tarif, catégorie de client) pairs that got a test ticket."""
    cancelled: int
    earlier: bool = False
    """The product's test tickets were checked by an earlier run: FNAC sends them once
    per manifestation (spec 7.2), so a later run (a resent sale sheet) has none to wait for."""


def integrate_test_files(
    engine: Engine | None,
    settings: FnacSettings,
    repository: MappingRepository,
    product_code: str,
) -> tuple[str, ...]:
    """Integrate the landed TEST files of the product's manifestation, oldest first.

    Returns their names; empty while FNAC has sent none (the caller waits).
    """
    manifestation = repository.for_product(product_code).partner_product
    with session_scope(engine) as session:
        waiting = journal.open_inbound_files(session, RESELLER, FileType.TEST.value)
        ours = [file.id for file in waiting if _concerns(file.name, file.content, manifestation)]
        for file_id in ours:
            journal.assign_product(session, file_id, product_code)
    files = FnacInboundFiles(settings, repository)
    return tuple(
        integrate_file(engine, settings, files, file_id, is_test=True).name for file_id in ours
    )


def last_test_sequence(session: Session) -> int:
    """The highest sequence of the TEST files landed (0 before the first): a TEST file
    FNAC sends next has a higher one (spec 4)."""
    return journal.highest_sequence(session, RESELLER, Direction.INBOUND, FileType.TEST.value)


def _concerns(name: str, content: bytes, manifestation: str | None) -> bool:
    """Whether a TEST file is for this manifestation; an unreadable one is reported by
    its integration, so it counts as ours when its bytes name the manifestation."""
    try:
        frame = read_file(name, content).frame
    except FileFormatError:
        return manifestation is not None and manifestation.encode() in content
    return bool(len(frame)) and bool((frame["code_manifestation"] == manifestation).all())


def verify_test_tickets(
    session: Session,
    settings: FnacSettings,
    repository: MappingRepository,
    product_code: str,
) -> tuple[tuple[str, str], ...]:
    """Raise listing every barcode access control refuses and every pair without a ticket."""
    tickets = _test_tickets(session, product_code)
    if tickets.empty:
        raise ExternalError(
            f"FNAC sent no test ticket for {product_code}",
            action=Localized(
                fr="Demandez à {reseller} d'envoyer les billets de test (fichier TEST) de cette "
                "manifestation.",
                en="Ask {reseller} to send the test tickets (TEST file) for this manifestation.",
            ),
        )
    refused = [
        Problem(
            f"access control refuses test ticket {row.reseller_ticket_id} for performance "
            f"{row.performance_code}",
            column="code_barre",
            value=row.barcode,
        )
        for row in tickets.itertuples()
        if not access_allowed(session, row.barcode, row.performance_id)
    ]
    if refused:
        raise TechnicalError(
            f"{len(refused)} FNAC test ticket(s) would be refused at the venue's entrance",
            problems=refused,
            action=Localized(
                fr="Vérifiez l'export du contrôle d'accès et le système de contrôle d'accès du "
                "lieu ; puis relancez la tâche en échec (Clear).",
                en="Check the access-control export and the venue's access-control system; "
                "then clear the failed task.",
            ),
        )
    expected = set_up_pairs(session, settings, repository, product_code)
    types = repository.for_product(product_code).to_partner(
        MappingKind.TYPE_TARIF, tickets["category"], _configuration(session, product_code)
    )
    covered = set(zip(types, tickets["reseller_category"], strict=True))
    missing = sorted(expected - covered)
    if missing:
        raise ExternalError(
            f"FNAC's test tickets for {product_code} miss {len(missing)} type de tarif × "
            "catégorie de client pair(s) set up",
            problems=[
                Problem(f"no test ticket for type de tarif {t} × catégorie de client {c}")
                for t, c in missing
            ],
            action=Localized(
                fr="Demandez à {reseller} de mettre en place ces prix et d'envoyer des billets de "
                "test pour eux.",
                en="Ask {reseller} to set up these prices and send test tickets for them.",
            ),
        )
    return tuple(sorted(covered))


def access_allowed(session: Session, barcode: str, performance_id: int) -> bool:
    """The venue's decision at the entrance: an allowed entry for this performance."""
    entry = session.scalar(select(AccessControlEntry).where(AccessControlEntry.barcode == barcode))
    return entry is not None and entry.allowed and entry.performance_id == performance_id


def set_up_pairs(
    session: Session,
    settings: FnacSettings,
    repository: MappingRepository,
    product_code: str,
) -> set[tuple[str, str]]:
    """The FNAC (type de tarif, catégorie de client) pairs the sale sheet asked FNAC to set up."""
    mappings = repository.for_product(product_code)
    product = session.scalars(select(Product).where(Product.code == product_code)).one()
    configuration = _configuration(session, product_code)
    offered = settings.tariffs_offered_for(product_code)
    priced = session.execute(
        select(SeatCategory.code, Tariff.code)
        .select_from(Price)
        .join(Performance, Price.performance_id == Performance.id)
        .join(SeatCategory, Price.category_id == SeatCategory.id)
        .join(Tariff, Price.tariff_id == Tariff.id)
        .where(Performance.product_id == product.id, Tariff.code.in_(offered))
        .distinct()
    ).all()
    categories = pd.Series(sorted({category for category, _ in priced}), dtype="str")
    tariffs = pd.Series(sorted({tariff for _, tariff in priced}), dtype="str")
    types = mappings.to_partner(MappingKind.TYPE_TARIF, categories, configuration).dropna()
    # Every alternative counts: FNAC_ADHERENT "15|20" sets up both categories.
    entries = mappings.effective(MappingKind.CATEGORIE_CLIENT)
    customer = {code for tariff in tariffs if tariff in entries for code in entries[tariff].partner}
    return set(pairs(sorted(set(types)), sorted(customer)))


def _configuration(session: Session, product_code: str) -> str | None:
    product = session.scalars(select(Product).where(Product.code == product_code)).one()
    return product.configuration.code if product.configuration else None


def cancel_test_tickets(session: Session, product_code: str) -> int:
    """Cancel the product's valid test tickets; access control refuses them from now on."""
    tickets = _test_tickets(session, product_code)
    if tickets.empty:
        return 0
    ids = [int(i) for i in tickets["ticket_id"]]
    now = dt.datetime.now(dt.UTC)
    session.execute(
        update(Ticket)
        .where(Ticket.id.in_(ids))
        .values(state=TicketState.CANCELLED, cancelled_at=now)
    )
    session.execute(
        update(AccessControlEntry)
        .where(AccessControlEntry.barcode.in_(tickets["barcode"].tolist()))
        .values(allowed=False, updated_at=now)
    )
    session.execute(
        update(Order)
        .where(Order.id.in_([int(o) for o in tickets["order_id"]]))
        .values(state=OrderState.CANCELLED)
    )
    return len(ids)


def _earlier_report(session: Session, product_code: str) -> TestTicketsReport:
    tested = journal.names_in_stream(
        session, RESELLER, Direction.INBOUND, FileType.TEST.value, product_code=product_code
    )
    tickets = session.scalar(
        select(func.count())
        .select_from(Ticket)
        .join(Performance, Ticket.performance_id == Performance.id)
        .join(Product, Performance.product_id == Product.id)
        .where(Product.code == product_code, Ticket.is_test)
    )
    return TestTicketsReport(product_code, tuple(tested), tickets or 0, (), 0, earlier=True)


def _test_tickets(session: Session, product_code: str) -> pd.DataFrame:
    rows = session.execute(
        select(
            Ticket.id,
            Ticket.order_id,
            Ticket.barcode,
            Ticket.performance_id,
            Performance.code,
            Ticket.reseller_ticket_id,
            Ticket.reseller_category,
            SeatCategory.code,
        )
        .join(Performance, Ticket.performance_id == Performance.id)
        .join(Product, Performance.product_id == Product.id)
        .join(SeatCategory, Ticket.category_id == SeatCategory.id)
        .where(Product.code == product_code, Ticket.is_test, Ticket.state == TicketState.VALID)
    ).all()
    return pd.DataFrame(
        rows,
        columns=[
            "ticket_id",
            "order_id",
            "barcode",
            "performance_id",
            "performance_code",
            "reseller_ticket_id",
            "reseller_category",
            "category",
        ],
    )


def run_test_ticket_step(
    engine: Engine | None,
    settings: FnacSettings,
    repository: MappingRepository,
    product_code: str,
) -> TestTicketsReport | None:
    """Integrate, verify, cancel; None while no TEST file for the product has arrived.

    A product whose test tickets an earlier run checked gets that run's outcome
    back (``earlier``) unless new test tickets came.
    """
    files = integrate_test_files(engine, settings, repository, product_code)
    with session_scope(engine) as session:
        if not files and _test_tickets(session, product_code).empty:
            if onboarding_state(session, product_code) in (
                OnboardingState.TESTED,
                OnboardingState.LIVE,
            ):
                return _earlier_report(session, product_code)
            return None
        tickets = len(_test_tickets(session, product_code))
        covered = verify_test_tickets(session, settings, repository, product_code)
    with session_scope(engine) as session:
        cancelled = cancel_test_tickets(session, product_code)
    return TestTicketsReport(product_code, files, tickets, covered, cancelled)
