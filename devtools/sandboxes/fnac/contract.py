"""FNAC's part of the reseller contract suite: a day of sales played on the demo box office.

The contract suite (``tests/resellers/test_contract.py``) finds this module by
the reseller type's code (``devtools.sandboxes.<code>.contract``) and calls
:func:`a_day_of_sales`; every sandbox offers that function, with the same
signature, and returns a :class:`DayOfSales`.

The day, from an empty sandbox root:

1. The organiser puts the demo's concert and day pass on sale: their FICHE
   and PLACES, built as the organiser would, the codes from the demo's
   mappings (FNAC's code book) and the séances, validity, prices, venue and
   labels from the box office; small quotas (a few seats in two seated blocs
   and a few pit places per séance, a pass quota of twenty). FNAC accepts
   them (the ACKs say OK) or the day stops with :class:`SandboxError`.
2. FNAC sends its list of customer categories (CATCLI), then a VENTES file
   every hour for a few hours (one of them an hour without a sale), then an
   ANNUL file cancelling some tickets already sent.

The files come back in the order the hourly run integrates them (CATCLI,
VENTES in sequence, ANNUL), as FNAC wrote them (buyer contacts included), with
every buyer contact value written, for the suite's privacy check. The same
box office and ``seed`` give the same files, byte for byte. The box office is
only read.
"""

from __future__ import annotations

import random
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from devtools.demo_boxoffice import DATED_PASS_PRODUCT, EVENT_PRODUCT
from devtools.sandboxes.fnac.codebook import CodeBook, ProductCodes
from devtools.sandboxes.fnac.emit import SandboxError
from devtools.sandboxes.fnac.partner import FnacPartner
from devtools.sandboxes.fnac.people import PARIS
from devtools.sandboxes.fnac.server import DEMO_USERNAME
from reseller_sync.boxoffice.models import Performance, Price, Product, SeatCategory, Tariff
from reseller_sync.domain.products import is_pass
from reseller_sync.fnac.adapter import NATURE
from reseller_sync.fnac.names import FileType
from reseller_sync.fnac.writer import write_file

SALES_OPEN_BEFORE = timedelta(weeks=8)
"""Sales open at FNAC this long before the concert's first séance, at 10:00 in Paris."""
HOURS = 4
"""Hours of sales, each ended by a VENTES file."""
QUIET_HOUR = 3
"""The hour without a sale: its VENTES file holds no line."""
TICKETS_PER_HOUR = (3, 8)
"""Tickets sold in a busy hour, drawn between these bounds."""
CANCELLED = 3
"""Tickets cancelled in the ANNUL file, once the hours of sales are over."""

SEATED_BLOCS: tuple[tuple[str, str, int, int], ...] = (
    ("B", "CAT1", 2, 5),
    ("TB2", "CAT2", 1, 5),
)
"""The concert's seats given to FNAC per séance: (FNAC bloc, category, rows, seats per row).
Bloc B is the floor's block P2 and TB2 the lower stand's block B: both in FNAC's quota."""
FREE_BLOCS: tuple[tuple[str, str, int], ...] = (("FOSSE", "FOSSE", 10),)
"""The concert's free places given to FNAC per séance: (FNAC bloc, category, places)."""
PASS_QUOTA = 20
"""The day pass's places at FNAC (the sale sheet's ``contingent``)."""


@dataclass(frozen=True)
class DayOfSales:
    """What a sandbox's day of sales gives the contract suite."""

    files: tuple[tuple[str, bytes], ...]
    """The inbound files, (name, bytes) as the partner wrote them, in integration order."""
    buyer_contacts: frozenset[str]
    """Every buyer contact value (e-mail, phone, postal address) the files hold."""


def a_day_of_sales(root: Path, session: Session, *, seed: int) -> DayOfSales:
    """FNAC on the sandbox folder ``root`` (empty): the demo's concert and day pass put on
    sale, a few hours of sales and a cancellation file; ``session`` is only read."""
    codebook = CodeBook.from_mappings()
    concert = _product(session, EVENT_PRODUCT)
    day_pass = _product(session, DATED_PASS_PRODUCT)
    seances = _seances(session, concert)
    opening = datetime.combine(min(seances.values()).date() - SALES_OPEN_BEFORE, time(10, 0), PARIS)
    clock = _Clock(opening.astimezone(UTC))
    partner = FnacPartner(root, DEMO_USERNAME, codebook, clock=clock, seed=seed)

    concert_codes = _codes(codebook, concert)
    fiche = _concert_fiche(session, concert, concert_codes, seances, opening)
    fiche += _pass_fiche(session, day_pass, _codes(codebook, day_pass), opening)
    places = _concert_places(concert, concert_codes, list(seances.values()))
    for file_type, records in ((FileType.FICHE, fiche), (FileType.PLACES, places)):
        name, data = write_file(file_type, partner.manager, 1, records, created=clock())
        (partner.depot / name).write_bytes(data)
    refused = [answer for answer in partner.process_depot() if answer.status != "OK"]
    if refused:
        raise SandboxError(f"FNAC refused the demo's products: {refused}")

    rng = random.Random(f"{seed}/day-of-sales")
    clock.advance(minutes=5)
    names = [partner.emit_catcli()]
    for hour in range(1, HOURS + 1):
        clock.advance(hours=1)
        tickets = 0 if hour == QUIET_HOUR else rng.randint(*TICKETS_PER_HOUR)
        names.append(partner.emit_ventes(lines=tickets))
    clock.advance(minutes=20)
    names.append(partner.emit_annul(count=CANCELLED))

    contacts = partner.buyer_contacts
    return DayOfSales(
        files=tuple(
            (name, (partner.retour / name).read_bytes()) for name in names if name is not None
        ),
        buyer_contacts=frozenset([*contacts.emails, *contacts.phones, *contacts.addresses]),
    )


class _Clock:
    """FNAC's clock for the day: the opening, then moved on by the story."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


# The organiser's files ------------------------------------------------------------


def _product(session: Session, code: str) -> Product:
    product = session.scalar(select(Product).where(Product.code == code))
    if product is None:
        raise SandboxError(f"the box office has no product {code}: seed the demo box office")
    return product


def _codes(codebook: CodeBook, product: Product) -> ProductCodes:
    codes = codebook.for_product(product.code)
    if codes is None:
        raise SandboxError(f"the mappings give FNAC no codes for {product.code}")
    return codes


def _seances(session: Session, product: Product) -> dict[int, datetime]:
    """The product's dated performances: id → séance (wall clock), in time order."""
    seances = {
        performance_id: starts_at.replace(tzinfo=None)
        for performance_id, starts_at in session.execute(
            select(Performance.id, Performance.starts_at)
            .where(Performance.product_id == product.id, Performance.starts_at.is_not(None))
            .order_by(Performance.starts_at)
        )
        if starts_at is not None
    }
    if not seances:
        raise SandboxError(f"{product.code} has no dated performance in the box office")
    return seances


def _prices(
    session: Session,
    performance_id: int,
    codes: ProductCodes,
    categories: Collection[str] | None = None,
) -> list[tuple[str, str, str, str, int, str]]:
    """The performance's prices at the tariffs FNAC sells (those it has catégories de client
    for) and ``categories`` (default: all): (category, its name, tariff, its name, cents,
    currency)."""
    query = (
        select(
            SeatCategory.code,
            SeatCategory.name,
            Tariff.code,
            Tariff.name,
            Price.amount,
            Price.currency,
        )
        .join(SeatCategory, Price.category_id == SeatCategory.id)
        .join(Tariff, Price.tariff_id == Tariff.id)
        .where(
            Price.performance_id == performance_id,
            Tariff.code.in_(list(codes.categories_client)),
        )
        .order_by(SeatCategory.code, Tariff.code)
    )
    if categories is not None:
        query = query.where(SeatCategory.code.in_(list(categories)))
    return [
        (category, category_name, tariff, tariff_name, amount, str(currency))
        for category, category_name, tariff, tariff_name, amount, currency in session.execute(query)
    ]


def _sheet_line(product: Product, price: tuple[str, str, str, str, int, str]) -> dict[str, Any]:
    """What a FICHE line says of the product and of one of its prices."""
    category, category_name, tariff, tariff_name, amount, currency = price
    return {
        "code_produit": product.code,
        "libelle_produit": product.name,
        "nature": NATURE[product.kind],
        "lieu": product.venue.name,
        "ville": product.venue.city,
        "pays": product.venue.country,
        "categorie": category,
        "libelle_categorie": category_name,
        "tarif": tariff,
        "libelle_tarif": tariff_name,
        "prix_ttc": amount,
        "devise": currency,
    }


def _concert_fiche(
    session: Session,
    concert: Product,
    codes: ProductCodes,
    seances: dict[int, datetime],
    opening: datetime,
) -> list[dict[str, Any]]:
    """The concert's sale sheet: séance × category given to FNAC × tariff FNAC sells."""
    if concert.configuration is None:
        raise SandboxError(f"{concert.code} has no seating configuration")
    places = {category: rows * seats for _, category, rows, seats in SEATED_BLOCS}
    places.update({category: count for _, category, count in FREE_BLOCS})
    return [
        _sheet_line(concert, price)
        | {
            "date_seance": seance,
            "code_config": concert.configuration.code,
            "contingent": places[price[0]],
            "debut_vente": opening,
            "fin_vente": seance.replace(tzinfo=PARIS) - timedelta(hours=2),
        }
        for performance_id, seance in seances.items()
        for price in _prices(session, performance_id, codes, places)
    ]


def _pass_fiche(
    session: Session, day_pass: Product, codes: ProductCodes, opening: datetime
) -> list[dict[str, Any]]:
    """The day pass's sale sheet: its category × tariff FNAC sells, ``PASS_QUOTA`` places."""
    performance = next(iter(day_pass.performances), None)
    if not is_pass(day_pass.kind) or performance is None or performance.valid_until is None:
        raise SandboxError(f"{day_pass.code} is not a pass with a last valid day")
    last_day = performance.valid_until
    return [
        _sheet_line(day_pass, price)
        | {
            "fin_validite": datetime.combine(last_day, time()),
            "contingent": PASS_QUOTA,
            "debut_vente": opening,
            "fin_vente": datetime.combine(last_day, time(18, 0), PARIS),
        }
        for price in _prices(session, performance.id, codes)
    ]


def _concert_places(
    concert: Product, codes: ProductCodes, seances: list[datetime]
) -> list[dict[str, Any]]:
    """The concert's places given to FNAC, every séance: ``SEATED_BLOCS`` and ``FREE_BLOCS``."""
    configuration = concert.configuration.code if concert.configuration else ""
    salle = codes.salles.get(configuration)
    if salle is None or codes.allotement is None:
        raise SandboxError(f"the mappings give {concert.code} no FNAC salle or allotement")

    def line(
        seance: datetime, bloc: str, category: str, rang: str | None, place: str | None, count: int
    ) -> dict[str, Any]:
        type_tarif = codes.type_tarif(configuration, category)
        if bloc not in codes.blocs.get(configuration, frozenset()) or type_tarif is None:
            raise SandboxError(f"the mappings give no FNAC bloc {bloc} or type de tarif {category}")
        return {
            "code_manifestation": codes.manifestation,
            "date_seance": seance,
            "code_salle": salle,
            "code_bloc": bloc,
            "rang": rang,
            "place": place,
            "quantite": count,
            "type_tarif": type_tarif,
            "code_allotement": codes.allotement,
        }

    return [
        *(
            line(seance, bloc, category, str(row), str(seat), 1)
            for seance in seances
            for bloc, category, rows, seats in SEATED_BLOCS
            for row in range(1, rows + 1)
            for seat in range(1, seats + 1)
        ),
        *(
            line(seance, bloc, category, None, None, count)
            for seance in seances
            for bloc, category, count in FREE_BLOCS
        ),
    ]
