"""The reseller applying the organiser's files to its state, and its answers
(``secutix-reseller-v1`` sections 6, 8, 9.2 and 10.1).

:func:`answer_file` verifies one OFFER, CONTINGENT or WITHDRAW file with the codec's
reseller side (:func:`~reseller_sync.secutix.reseller_side.read_organiser_file`: ``F03``,
then ``F01`` and ``F02``), and returns the RESULT's rows: one line 0 for a file refused
whole, else one line per data line, in order. Each line is applied or refused on its
own, in line order:

- OFFER: the codec's ``O01`` to ``O04`` (against the kinds and currencies applied
  before); an accepted line creates or replaces its price, and the product's columns
  take the line's values;
- CONTINGENT: the codec's ``Q01``, ``Q08``, ``Q02`` (against the OFFER lines applied);
  then ``Q03`` (a place not in the venue plan), ``Q02`` (a seat or block held at
  another seat category), ``Q04`` (a seat held already); else the places are given;
- WITHDRAW (section 8.3): the same first checks, then ``Q07`` (a place not held),
  ``Q05`` (a seat sold), ``Q06`` with ``AVAILABLE`` (fewer unsold places than
  ``QUANTITY``, the whole line refused); else the places are withdrawn.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from devtools.sandboxes.secutix.files import Row
from devtools.sandboxes.secutix.state import (
    Holding,
    PartnerState,
    Price,
    Product,
    holding_key,
    price_key,
)
from devtools.sandboxes.secutix.venues import VenuePlan
from reseller_sync.secutix.errors import Code, FileRefusedError
from reseller_sync.secutix.names import FileName, FileType
from reseller_sync.secutix.reseller_side import (
    SEATED_KINDS,
    offer_verdicts,
    places_verdicts,
    read_organiser_file,
)

MESSAGE_LENGTH = 200

MESSAGES: dict[Code, str] = {
    Code.Q03: "Bloc ou place absent du plan de salle",
    Code.Q02: "Catégorie différente de celle de la place",
    Code.Q04: "Place déjà au contingent",
    Code.Q05: "Place vendue : retrait impossible",
    Code.Q06: "Places disponibles insuffisantes",
    Code.Q07: "Place absente du contingent",
    Code.X99: "Erreur technique chez le revendeur : renvoyez le contenu dans un nouveau fichier",
}
"""The reseller's messages, in French (section 7.4); ``Q04`` is the one of section 12."""


def ok(line: int) -> Row:
    return {"LINE_NUMBER": str(line), "STATUS": "OK"}


def ko(line: int, code: Code | str, message: str, available: int | None = None) -> Row:
    return {
        "LINE_NUMBER": str(line),
        "STATUS": "KO",
        "ERROR_CODE": str(code),
        "AVAILABLE": "" if available is None else str(available),
        "MESSAGE": message[:MESSAGE_LENGTH],
    }


def answer_file(
    state: PartnerState,
    plans: Mapping[str, VenuePlan],
    name: FileName,
    data: bytes,
    control: bytes,
) -> list[Row]:
    """Verify and apply the organiser's file ``name``; the RESULT's rows."""
    try:
        data_file = read_organiser_file(
            str(name), data, control, processed=range(1, state.last_processed + 1)
        )
    except FileRefusedError as refused:
        return [ko(0, refused.code, refused.problems[0].reason)]
    frame = data_file.frame
    if frame.empty:
        return []
    if name.type is FileType.OFFER:
        return _apply_offer(state, frame)
    return _apply_places(state, plans, frame, withdraw=name.type is FileType.WITHDRAW)


def _apply_offer(state: PartnerState, frame: pd.DataFrame) -> list[Row]:
    verdicts = offer_verdicts(
        frame,
        known_kinds={code: p.kind for code, p in state.products.items()},
        known_currencies={code: p.currency for code, p in state.products.items()},
    )
    rows: list[Row] = []
    for (line, values), (code, message) in zip(
        frame.iterrows(), verdicts.itertuples(index=False), strict=True
    ):
        if code:
            rows.append(ko(int(line), code, message))
            continue
        product = values["PRODUCT_CODE"]
        performance = values["PERFORMANCE_CODE"]
        state.products[product] = Product(
            product,
            values["PRODUCT_NAME"],
            values["PRODUCT_KIND"],
            values["VENUE_NAME"],
            values["CITY"],
            values["COUNTRY"],
            values["CURRENCY"],
            values["PASS_VALIDITY_START"],
            values["PASS_VALIDITY_END"],
        )
        if performance:
            state.performances[f"{product}|{performance}"] = values["PERFORMANCE_START"]
        key = price_key(product, performance, values["SEATCAT_CODE"], values["TARIFF_CODE"])
        state.prices[key] = Price(
            product,
            performance,
            values["SEATCAT_CODE"],
            values["SEATCAT_NAME"],
            values["TARIFF_CODE"],
            values["TARIFF_NAME"],
            int(values["PRICE"]),
            values["SALES_START"],
            values["SALES_END"],
            values["ON_SALE"] == "1",
        )
        rows.append(ok(int(line)))
    return rows


def offer_frame(state: PartnerState) -> pd.DataFrame:
    """The OFFER lines applied, as :func:`places_verdicts` takes them."""
    columns = ["PRODUCT_CODE", "PRODUCT_KIND", "PERFORMANCE_CODE", "SEATCAT_CODE"]
    return pd.DataFrame(
        [
            (p.product, state.products[p.product].kind, p.performance, p.seatcat)
            for p in state.prices.values()
        ],
        columns=columns,
        dtype=str,
    )


def _apply_places(
    state: PartnerState, plans: Mapping[str, VenuePlan], frame: pd.DataFrame, *, withdraw: bool
) -> list[Row]:
    verdicts = places_verdicts(frame, offer_frame(state))
    rows: list[Row] = []
    for (line, values), (code, message) in zip(
        frame.iterrows(), verdicts.itertuples(index=False), strict=True
    ):
        if code:
            rows.append(ko(int(line), code, message))
            continue
        apply = _withdraw if withdraw else _give
        refusal = apply(state, plans, values)
        if refusal is None:
            rows.append(ok(int(line)))
        else:
            code, available = refusal
            rows.append(ko(int(line), code, MESSAGES[code], available))
    return rows


_Refusal = tuple[Code, int | None]
"""A line's refusal: its code and, for ``Q06``, the places available."""


def _refuse(code: Code, available: int | None = None) -> _Refusal:
    return (code, available)


def _place(
    state: PartnerState, plans: Mapping[str, VenuePlan], values: pd.Series
) -> tuple[Holding, _Refusal | None]:
    """The holding a line names (a new, empty one if not held), or ``Q03`` / ``Q02``."""
    product = state.products[values["PRODUCT_CODE"]]
    seat, seatcat = values["SEAT"], values["SEATCAT_CODE"]
    key = holding_key(product.code, values["PERFORMANCE_CODE"], seatcat, seat)
    held = state.holdings.get(key)
    plan = plans.get(product.venue)
    if product.kind in SEATED_KINDS and plan is not None and not plan.has(seat):
        return Holding(product.code, values["PERFORMANCE_CODE"], seatcat, seat), _refuse(Code.Q03)
    if held is None:
        return Holding(product.code, values["PERFORMANCE_CODE"], seatcat, seat), None
    if held.given > 0 and held.seatcat != seatcat:
        return held, _refuse(Code.Q02)
    return held, None


def _give(
    state: PartnerState, plans: Mapping[str, VenuePlan], values: pd.Series
) -> _Refusal | None:
    held, refusal = _place(state, plans, values)
    if refusal is not None:
        return refusal
    if held.is_seat and held.given > 0:
        return _refuse(Code.Q04)
    held.seatcat = values["SEATCAT_CODE"]
    held.given = 1 if held.is_seat else held.given + int(values["QUANTITY"])
    state.holdings[held.key] = held
    return None


def _withdraw(
    state: PartnerState, plans: Mapping[str, VenuePlan], values: pd.Series
) -> _Refusal | None:
    held, refusal = _place(state, plans, values)
    if refusal is not None:
        return refusal
    if held.given == 0:
        return _refuse(Code.Q07)
    sold = state.sold(held.key)
    if held.is_seat:
        if sold:
            return _refuse(Code.Q05)
        held.given = 0
        return None
    quantity, available = int(values["QUANTITY"]), held.given - sold
    if quantity > available:
        return _refuse(Code.Q06, available)
    held.given -= quantity
    return None
