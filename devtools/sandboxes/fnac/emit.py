"""The content of FNAC's files, drawn from its state with a seeded random generator.

Each function changes the :class:`~devtools.sandboxes.fnac.state.PartnerState`
as FNAC would (places sold, tickets issued or cancelled) and returns the
records of one file, ready for :func:`reseller_sync.fnac.writer.encode_file`.
Writing, sequences and file-level faults are the partner's
(:mod:`devtools.sandboxes.fnac.partner`).

Realism, in short: sales come from FNAC's allotment only (unsold seats, free
places, pass quotas), one to four tickets per order, seats side by side;
prices are the sale sheet's, commission included (EUR: 3.50 from 35.00 up,
else 5 %; CHF: 5 % to the 5 centimes); customer category ``0`` mostly; French
and Swiss shops and fnac.com; buyer contact details always filled (see
:mod:`devtools.sandboxes.fnac.people`).
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from devtools.sandboxes.fnac.people import (
    Buyer,
    Shop,
    beneficiary,
    make_buyer,
    pick_shop,
)
from devtools.sandboxes.fnac.state import (
    CustomerCategory,
    Holding,
    Manifestation,
    PartnerState,
    Ticket,
)

ORDER_SIZES = {1: 55, 2: 30, 3: 10, 4: 5}
"""Tickets per order → weight."""
NORMAL_CATEGORY = "0"
NORMAL_CATEGORY_WEIGHT = 0.7
MOTIFS = {"CLIENT": 70, "ERREUR_CAISSE": 20, "SEANCE_ANNULEE": 10}
NEW_CATEGORY = ("31", "Carte Fnac+ Jeunes")
"""The category FNAC creates when a fault asks for sales at a category the organiser lacks."""
PRICE_GAPS = (100, 150, 200, 500)
"""Cents added to a price by the ``price`` fault."""

log = logging.getLogger(__name__)


class SandboxError(Exception):
    """A command the sandbox cannot carry out with its current state."""


def commission_on(price: int, currency: str) -> int:
    """FNAC's commission included in ``price``."""
    if currency == "CHF":
        return round(price * 0.05 / 5) * 5
    return 350 if price >= 3500 else round(price * 0.05)


# Sales ------------------------------------------------------------------------


@dataclass
class _Order:
    id_vente: str
    shop: Shop
    buyer: Buyer
    sold_at: datetime


def draw_sales(
    state: PartnerState, rng: random.Random, lines: int, created: datetime
) -> list[dict[str, Any]]:
    """Up to ``lines`` tickets sold in the hour before ``created``, grouped in orders."""
    records: list[dict[str, Any]] = []
    while len(records) < lines:
        holdings = _sellable(state)
        if not holdings:
            break
        first = rng.choices(holdings, weights=[h.available for h in holdings])[0]
        size = min(rng.choices(list(ORDER_SIZES), weights=list(ORDER_SIZES.values()))[0], lines)
        size = min(size, lines - len(records))
        spots = _side_by_side(state, first, size)
        order = _new_order(state, rng, first, created, prefix="V", minutes=59)
        for holding in spots:
            category = _pick_category(rng, state, holding)
            records.append(_issue(state, rng, order, holding, category, created))
    return records


def draw_test_tickets(
    state: PartnerState,
    rng: random.Random,
    code: str,
    created: datetime,
    *,
    leave_out_last: bool = False,
) -> list[dict[str, Any]]:
    """One TEST ticket per type de tarif × catégorie de client set up for ``code``.

    Each takes a place of the allotment and blocks it (``BLOQUE``): it is not
    for sale, and the organiser cancels the ticket on its side. With
    ``leave_out_last``, the last pair gets none (the ``missing-ticket`` fault).
    """
    manifestation = state.manifestations.get(code)
    if manifestation is None:
        raise SandboxError(f"manifestation {code} is not set up: send its FICHE first")
    wanted = sorted(
        {
            (tt, cat)
            for seance in manifestation.seances.values()
            for tt, by in seance.prices.items()
            for cat in by
        },
        key=lambda pair: (int(pair[0]), int(pair[1])),
    )
    if leave_out_last:
        wanted = wanted[:-1]
    records: list[dict[str, Any]] = []
    missing = []
    order = None
    for type_tarif, category in wanted:
        holding = _last_available(state, code, type_tarif)
        if holding is None:
            missing.append(type_tarif)
            continue
        if order is None:
            order = _new_order(state, rng, holding, created, prefix="VT", minutes=10)
        records.append(_issue(state, rng, order, holding, category, created, test=True))
    if not records:
        shown = ", ".join(sorted(set(missing)))
        raise SandboxError(
            f"FNAC holds no place of manifestation {code} for type(s) de tarif {shown}: "
            "send its PLACES first"
        )
    if missing:
        log.warning(
            "No TEST ticket for type(s) de tarif %s of manifestation %s: FNAC holds no place",
            ", ".join(sorted(set(missing))),
            code,
        )
    manifestation.tested = True
    return records


def overprice(state: PartnerState, rng: random.Random, record: dict[str, Any]) -> None:
    """The ``price`` fault: the ticket costs more than the sale sheet says."""
    record["prix_ttc"] += rng.choice(PRICE_GAPS)
    state.tickets[record["id_billet"]].prix_ttc = record["prix_ttc"]


def sell_at_new_category(state: PartnerState, record: dict[str, Any], created: datetime) -> str:
    """The ``new-category`` fault: the ticket is sold at a category no sale sheet set up.

    Uses an active category FNAC has but no manifestation is priced at, else
    creates :data:`NEW_CATEGORY` (without telling the organiser by CATCLI).
    """
    priced = {
        category
        for manifestation in state.manifestations.values()
        for seance in manifestation.seances.values()
        for by_category in seance.prices.values()
        for category in by_category
    }
    unused = [
        code
        for code, category in state.customer_categories.items()
        if category.actif and code not in priced
    ]
    code = unused[0] if unused else NEW_CATEGORY[0]
    if code not in state.customer_categories:
        state.customer_categories[code] = CustomerCategory(
            NEW_CATEGORY[1], True, created.isoformat(timespec="seconds")
        )
    record["categorie_client"] = code
    state.tickets[record["id_billet"]].categorie_client = code
    return code


def sell_outside_allotment(
    state: PartnerState, rng: random.Random, created: datetime
) -> dict[str, Any]:
    """The ``outside-allotment`` fault: a seat sold that FNAC does not hold.

    The seat is in a bloc where FNAC holds seats, one row beyond the last it
    holds there: exactly the slip a partner's seating plan makes.
    """
    seats = [h for h in state.holdings.values() if h.seated and _priced(state, h)]
    if not seats:
        raise SandboxError("FNAC holds no seat: send a FICHE and PLACES for an event first")
    model = rng.choice(seats)
    rows = [
        h.rang
        for h in seats
        if (h.manifestation, h.seance, h.bloc) == (model.manifestation, model.seance, model.bloc)
    ]
    outside = Holding(
        model.manifestation,
        model.seance,
        model.salle,
        model.bloc,
        _next_row(rows),
        "1",
        model.type_tarif,
        model.allotement,
        held=1,
    )
    order = _new_order(state, rng, outside, created, prefix="V", minutes=59)
    category = _pick_category(rng, state, outside)
    return _issue(state, rng, order, outside, category, created)


# Cancellations ----------------------------------------------------------------


def draw_cancellations(
    state: PartnerState,
    rng: random.Random,
    count: int,
    created: datetime,
    readable_files: Iterable[str],
    motif: str | None = None,
) -> list[dict[str, Any]]:
    """Cancel up to ``count`` sold tickets, each delivered in a readable VENTES file already.

    The refund is the price, or the price less the commission when the
    customer asked (motif ``CLIENT``). The place goes back to FNAC's allotment.
    """
    readable = set(readable_files)
    candidates = [
        ticket
        for ticket in state.tickets.values()
        if not ticket.test and ticket.cancelled_by is None and readable.intersection(ticket.files)
    ]
    chosen = rng.sample(candidates, min(count, len(candidates)))
    records = []
    for ticket in sorted(chosen, key=lambda t: t.id_billet):
        reason = motif or rng.choices(list(MOTIFS), weights=list(MOTIFS.values()))[0]
        id_annulation = f"A{created:%y%m%d}{state.next_counter('annulation'):05d}"
        refund = ticket.prix_ttc - ticket.commission if reason == "CLIENT" else ticket.prix_ttc
        sold_at = datetime.fromisoformat(ticket.sold_at)
        cancelled_at = max(created - timedelta(minutes=rng.randrange(1, 30)), sold_at)
        ticket.cancelled_by = id_annulation
        holding = state.holdings.get(ticket.holding) if ticket.holding else None
        if holding is not None and holding.sold:
            holding.sold -= 1
        records.append(
            {
                "id_annulation": id_annulation,
                "id_vente": ticket.id_vente,
                "id_billet": ticket.id_billet,
                "code_barre": ticket.code_barre,
                "montant_rembourse": refund,
                "devise": ticket.devise,
                "motif": reason,
                "code_point_vente": ticket.point_vente,
                "date_annulation": cancelled_at.astimezone(sold_at.tzinfo),
            }
        )
    return records


# Lists ------------------------------------------------------------------------


def category_list(state: PartnerState) -> list[dict[str, Any]]:
    """The whole list of customer categories (CATCLI)."""
    return [
        {
            "categorie_client": code,
            "libelle": category.libelle,
            "actif": category.actif,
            "date_modification": datetime.fromisoformat(category.modified),
        }
        for code, category in sorted(state.customer_categories.items(), key=lambda i: int(i[0]))
    ]


def allotment_state(state: PartnerState) -> list[dict[str, Any]]:
    """Every place FNAC holds, per séance of an event (ETATPL); passes have no places."""
    records = []
    for holding in sorted(
        (h for h in state.holdings.values() if h.salle and h.held),
        key=lambda h: (
            h.manifestation,
            _seance_order(h.seance),
            h.bloc,
            _natural(h.rang),
            _natural(h.place),
            h.type_tarif,
        ),
    ):
        counts = {
            "VENDU": holding.sold,
            "BLOQUE": holding.blocked,
            "DISPO": holding.available,
        }
        for status, quantity in counts.items():
            if quantity > 0:
                records.append(
                    {
                        "code_manifestation": holding.manifestation,
                        "date_seance": holding.seance,
                        "code_salle": holding.salle,
                        "code_bloc": holding.bloc,
                        "rang": holding.rang,
                        "place": holding.place,
                        "quantite": quantity,
                        "code_allotement": holding.allotement,
                        "statut": status,
                    }
                )
    return records


# Helpers ----------------------------------------------------------------------


def _sellable(state: PartnerState) -> list[Holding]:
    return [h for h in state.holdings.values() if h.available > 0 and _priced(state, h)]


def _priced(state: PartnerState, holding: Holding) -> bool:
    manifestation = state.manifestations.get(holding.manifestation)
    if manifestation is None or manifestation.withdrawn:
        return False
    seance = manifestation.seances.get(holding.seance)
    return seance is not None and bool(seance.prices.get(holding.type_tarif))


def _side_by_side(state: PartnerState, first: Holding, size: int) -> list[Holding]:
    """``size`` places from ``first``: the next free seats of its row, or free places."""
    if not first.seated:
        return [first] * min(size, first.available)
    row = sorted(
        (
            h
            for h in state.holdings.values()
            if h.seated
            and h.available > 0
            and (h.manifestation, h.seance, h.bloc, h.rang, h.type_tarif)
            == (first.manifestation, first.seance, first.bloc, first.rang, first.type_tarif)
        ),
        key=lambda h: _natural(h.place),
    )
    start = row.index(first)
    after = row[start : start + size]
    return row[max(0, start - (size - len(after))) : start] + after


def _last_available(state: PartnerState, code: str, type_tarif: str) -> Holding | None:
    """The last free place of a type de tarif (TEST tickets take them from the back)."""
    found = [
        h
        for h in state.holdings.values()
        if h.manifestation == code and h.type_tarif == type_tarif and h.available > 0
    ]
    if not found:
        return None
    return max(
        found, key=lambda h: (_seance_order(h.seance), h.bloc, _natural(h.rang), _natural(h.place))
    )


def _pick_category(rng: random.Random, state: PartnerState, holding: Holding) -> str:
    prices = _prices(state, holding)
    others = sorted((c for c in prices if c != NORMAL_CATEGORY), key=int)
    if NORMAL_CATEGORY in prices and (not others or rng.random() < NORMAL_CATEGORY_WEIGHT):
        return NORMAL_CATEGORY
    return rng.choice(others)


def _prices(state: PartnerState, holding: Holding) -> dict[str, int]:
    manifestation = state.manifestations[holding.manifestation]
    return manifestation.seances[holding.seance].prices[holding.type_tarif]


def _new_order(
    state: PartnerState,
    rng: random.Random,
    holding: Holding,
    created: datetime,
    *,
    prefix: str,
    minutes: int,
) -> _Order:
    manifestation = state.manifestations[holding.manifestation]
    shop = pick_shop(rng, manifestation.country)
    sold_at = created - timedelta(minutes=rng.randrange(1, minutes), seconds=rng.randrange(60))
    return _Order(
        f"{prefix}{created:%y%m%d}{state.next_counter('vente'):04d}",
        shop,
        make_buyer(rng, shop),
        sold_at.astimezone(shop.timezone),
    )


def _issue(
    state: PartnerState,
    rng: random.Random,
    order: _Order,
    holding: Holding,
    category: str,
    created: datetime,
    *,
    test: bool = False,
) -> dict[str, Any]:
    """Issue one ticket on ``holding``: the place is sold (or blocked, for a TEST ticket)."""
    manifestation: Manifestation = state.manifestations[holding.manifestation]
    price = _prices(state, holding).get(category) or _prices(state, holding)[NORMAL_CATEGORY]
    commission = commission_on(price, manifestation.currency)
    id_billet = f"B{state.next_counter('billet'):09d}"
    barcode = _new_barcode(state, rng)
    last_name, first_name = beneficiary(rng, order.buyer)
    key = holding.key if holding.key in state.holdings else None
    if key is not None:
        if test:
            holding.blocked += 1
        else:
            holding.sold += 1
    state.tickets[id_billet] = Ticket(
        id_billet=id_billet,
        id_vente=order.id_vente,
        code_barre=barcode,
        holding=key,
        manifestation=holding.manifestation,
        seance=holding.seance,
        salle=holding.salle,
        bloc=holding.bloc,
        rang=holding.rang,
        place=holding.place,
        type_tarif=holding.type_tarif,
        categorie_client=category,
        allotement=holding.allotement,
        prix_ttc=price,
        commission=commission,
        devise=manifestation.currency,
        point_vente=order.shop.code,
        sold_at=order.sold_at.isoformat(timespec="seconds"),
        test=test,
    )
    state.buyer_contacts.add(order.buyer.email, order.buyer.phone, order.buyer.address)
    return {
        "id_vente": order.id_vente,
        "id_billet": id_billet,
        "code_manifestation": holding.manifestation,
        "date_seance": holding.seance,
        "code_salle": holding.salle,
        "code_bloc": holding.bloc,
        "rang": holding.rang,
        "place": holding.place,
        "type_tarif": holding.type_tarif,
        "categorie_client": category,
        "code_allotement": holding.allotement,
        "prix_ttc": price,
        "commission": commission,
        "devise": manifestation.currency,
        "code_barre": barcode,
        "nom_beneficiaire": last_name,
        "prenom_beneficiaire": first_name,
        "email_acheteur": order.buyer.email,
        "telephone_acheteur": order.buyer.phone,
        "adresse_acheteur": order.buyer.address,
        "code_point_vente": order.shop.code,
        "libelle_point_vente": order.shop.label,
        "date_vente": order.sold_at,
    }


def _new_barcode(state: PartnerState, rng: random.Random) -> str:
    """13 to 16 digits, never issued before."""
    issued = set(state.barcodes)
    while True:
        length = rng.randint(13, 16)
        barcode = "4" + "".join(str(rng.randrange(10)) for _ in range(length - 1))
        if barcode not in issued:
            state.barcodes.append(barcode)
            return barcode


def _next_row(rows: list[str]) -> str:
    numbers = [int(row) for row in rows if row.isdigit()]
    return str(max(numbers, default=0) + 1)


def _natural(text: str) -> tuple[int, str]:
    """Sort ``2`` before ``10``, and letters after numbers."""
    return (int(text), "") if text.isdigit() else (10**9, text)


_SEANCE = re.compile(r"(\d{2})/(\d{2})/(\d{4}) (\d{2}):(\d{2})")


def _seance_order(seance: str) -> str:
    match = _SEANCE.fullmatch(seance)
    if match is None:
        return seance
    day, month, year, hour, minute = match.groups()
    return f"{year}{month}{day}{hour}{minute}"


__all__ = [
    "NEW_CATEGORY",
    "SandboxError",
    "allotment_state",
    "category_list",
    "commission_on",
    "draw_cancellations",
    "draw_sales",
    "draw_test_tickets",
    "overprice",
    "sell_at_new_category",
    "sell_outside_allotment",
]
