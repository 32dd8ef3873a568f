"""FNAC receiving the organiser's files: what it refuses, and what it applies.

:func:`receive` checks one file against FNAC's state and applies it, and
returns the refusals the ACK reports (none: ``OK;0``). In order:

1. a name received before: ``E10``, nothing else happens;
2. another organiser's code manager: ``E01``;
3. a SEQ received before under another name (reuse): ``E02``;
4. a SEQ above a missing one of the same type (gap): ``E02``. The SEQ counts
   as received, so once the organiser sends the missing file, the refused
   content can come back under a new SEQ without a new gap;
5. the codec refuses the file (:class:`FileFormatError`): ``E01``;
6. the content. A FICHE is applied whole or refused whole (``KO;0``, one
   line per distinct problem, its message naming the data lines): ``E09`` for a
   product FNAC has not agreed to sell (absent from the code book) or has
   withdrawn, ``E03`` when the manifestation code it gives is not the
   product's, ``E05`` for a configuration without salle, ``E08`` for a
   category without type de tarif or a tariff without catégorie de client.
   PLACES and DECONT are applied line by line: ``E03`` unknown
   manifestation, ``E04`` unknown séance (or a pass: passes have no places),
   ``E05`` unknown salle or bloc, a seat in a free-placement bloc or the
   reverse, a withdrawn place FNAC does not hold; ``E06`` a seat already
   held; ``E07`` a seat sold (or more free places than are unsold);
   ``E08`` a type de tarif the sale sheet did not set up; ``E09`` a
   manifestation FNAC has withdrawn from sale.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pandas as pd

from devtools.sandboxes.fnac.codebook import CodeBook
from devtools.sandboxes.fnac.state import (
    Holding,
    Manifestation,
    PartnerState,
    Seance,
    holding_key,
)
from reseller_sync.fnac.errors import FileFormatError
from reseller_sync.fnac.names import FileName, FileType
from reseller_sync.fnac.reader import read_file
from reseller_sync.fnac.values import WALL_CLOCK_FORMAT

MAX_REFUSALS_SHOWN = 5
"""Problems of a refused file quoted in its E01 message."""


@dataclass(frozen=True)
class Refusal:
    """One ``KO`` line of an ACK: ``line`` 0 for the whole file."""

    line: int
    code: str
    message: str


def receive(state: PartnerState, codebook: CodeBook, name: FileName, data: bytes) -> list[Refusal]:
    """Check and apply an organiser's file; the refusals to acknowledge (empty: all applied)."""
    file_type = name.type.value
    names = state.received_names.setdefault(file_type, [])
    if str(name) in names:
        return [Refusal(0, "E10", "Fichier déjà reçu")]
    names.append(str(name))
    if name.manager != state.manager:
        return [Refusal(0, "E01", f"Code manager {name.manager} inconnu (attendu {state.manager})")]
    seqs = state.received_seqs.setdefault(file_type, [])
    if name.seq in seqs:
        return [Refusal(0, "E02", f"Séquence {name.seq_text} déjà reçue pour {file_type}")]
    seqs.append(name.seq)
    seqs.sort()
    missing = sorted(set(range(1, name.seq)) - set(seqs))
    if missing:
        shown = ", ".join(f"{seq:06d}" for seq in missing[:MAX_REFUSALS_SHOWN])
        return [Refusal(0, "E02", f"Séquence {name.seq_text} reçue avant {shown} (trou)")]
    try:
        frame = read_file(str(name), data).frame
    except FileFormatError as error:
        reasons = "; ".join(str(problem) for problem in error.problems[:MAX_REFUSALS_SHOWN])
        return [Refusal(0, "E01", f"Fichier refusé : {reasons}")]
    if name.type is FileType.FICHE:
        return _receive_fiche(state, codebook, frame)
    return _receive_places(state, frame, withdraw=name.type is FileType.DECONT)


# Sale sheets --------------------------------------------------------------------


@dataclass(frozen=True)
class _FicheLine:
    line: int
    product: str
    manifestation: str
    salle: str | None
    blocs: frozenset[str]
    allotement: str
    seance: str
    type_tarif: str
    categories: tuple[str, ...]
    row: dict[str, Any]


def _receive_fiche(state: PartnerState, codebook: CodeBook, frame: pd.DataFrame) -> list[Refusal]:
    """Apply the whole sheet, or refuse it with one ``KO;0`` per distinct problem."""
    problems: dict[tuple[str, str], list[int]] = {}
    lines: list[_FicheLine] = []
    for line, row in _rows(frame):
        checked = _check_fiche_line(state, codebook, line, row)
        if isinstance(checked, _FicheLine):
            lines.append(checked)
        else:
            problems.setdefault(checked, []).append(line)
    if problems:
        return [
            Refusal(0, code, f"{_lines_text(numbers)} : {message}")
            for (code, message), numbers in problems.items()
        ]
    for fiche_line in lines:
        _apply_fiche_line(state, fiche_line)
    return []


def _lines_text(numbers: list[int]) -> str:
    if len(numbers) == 1:
        return f"Ligne {numbers[0]}"
    shown = ", ".join(str(number) for number in numbers[:MAX_REFUSALS_SHOWN])
    more = (
        f" et {len(numbers) - MAX_REFUSALS_SHOWN} autres"
        if len(numbers) > MAX_REFUSALS_SHOWN
        else ""
    )
    return f"Lignes {shown}{more}"


def _check_fiche_line(
    state: PartnerState, codebook: CodeBook, line: int, row: dict[str, Any]
) -> _FicheLine | tuple[str, str]:
    """The line mapped to FNAC's codes, or the code and message of its problem."""
    product = row["code_produit"]
    codes = codebook.for_product(product)
    if codes is None:
        return "E09", f"produit {product} non référencé à la vente chez FNAC"
    known = state.manifestations.get(codes.manifestation)
    if known is not None and known.withdrawn:
        return "E09", f"manifestation {codes.manifestation} retirée de la vente par FNAC"
    if codes.allotement is None:
        return "E09", f"aucun allotement FNAC n'est ouvert pour le produit {product}"
    given = row["code_manifestation"]
    if given and given != codes.manifestation:
        return "E03", f"manifestation {given} inconnue pour le produit {product}"
    configuration = row["code_config"]
    salle: str | None = None
    if row["nature"] in ("EVENEMENT", "COMPETITION"):
        salle = codes.salles.get(configuration)
        if salle is None:
            return "E05", f"configuration {configuration} sans salle FNAC"
    type_tarif = codes.type_tarif(configuration, row["categorie"])
    if type_tarif is None:
        return "E08", f"catégorie {row['categorie']} sans type de tarif FNAC"
    categories = codes.categories_client.get(row["tarif"])
    if not categories:
        return "E08", f"tarif {row['tarif']} sans catégorie de client FNAC"
    return _FicheLine(
        line,
        product,
        codes.manifestation,
        salle,
        codes.blocs.get(configuration, frozenset()) if salle else frozenset(),
        codes.allotement,
        row["date_seance"],
        type_tarif,
        categories,
        row,
    )


def _apply_fiche_line(state: PartnerState, line: _FicheLine) -> None:
    row = line.row
    manifestation = state.manifestations.get(line.manifestation)
    if manifestation is None:
        manifestation = Manifestation(
            code=line.manifestation,
            product=line.product,
            label=row["libelle_produit"],
            nature=row["nature"],
            venue=row["lieu"],
            city=row["ville"],
            country=row["pays"],
            currency=row["devise"],
            allotement=line.allotement,
            salle=line.salle,
        )
        state.manifestations[line.manifestation] = manifestation
    manifestation.label, manifestation.nature = row["libelle_produit"], row["nature"]
    manifestation.currency = row["devise"]
    manifestation.blocs = sorted(set(manifestation.blocs) | line.blocs)
    seance = manifestation.seances.setdefault(line.seance, Seance())
    prices = seance.prices.setdefault(line.type_tarif, {})
    for category in line.categories:
        prices[category] = int(row["prix_ttc"])
    if manifestation.is_pass:
        quota = int(row["contingent"])
        seance.pass_quota[line.type_tarif] = quota
        key = holding_key(line.manifestation, line.seance, "", "", "", line.type_tarif)
        holding = state.holdings.setdefault(
            key,
            Holding(
                line.manifestation, line.seance, "", "", "", "", line.type_tarif, line.allotement
            ),
        )
        holding.held = max(quota, holding.sold + holding.blocked)


# Places -------------------------------------------------------------------------


def _receive_places(state: PartnerState, frame: pd.DataFrame, *, withdraw: bool) -> list[Refusal]:
    apply = _withdraw_place if withdraw else _add_place
    refusals = []
    for line, row in _rows(frame):
        message = _place_problem(state, row)
        if message is None:
            message = apply(state, row)
        if message is not None:
            code, text = message
            refusals.append(Refusal(line, code, text))
    return refusals


def _place_problem(state: PartnerState, row: dict[str, Any]) -> tuple[str, str] | None:
    code = row["code_manifestation"]
    manifestation = state.manifestations.get(code)
    if manifestation is None:
        return "E03", f"Manifestation {code} inconnue"
    if manifestation.withdrawn:
        return "E09", f"Manifestation {code} retirée de la vente"
    seance = manifestation.seances.get(row["date_seance"])
    if manifestation.is_pass or seance is None:
        return "E04", f"Séance du {row['date_seance']} inconnue pour la manifestation {code}"
    if row["code_salle"] != manifestation.salle:
        return "E05", f"Salle {row['code_salle']} inconnue pour la manifestation {code}"
    if row["code_bloc"] not in manifestation.blocs:
        return "E05", f"Bloc {row['code_bloc']} inconnu dans la salle {row['code_salle']}"
    seated = row["rang"] != ""
    kinds = {
        holding.seated
        for holding in state.holdings.values()
        if holding.manifestation == code and holding.bloc == row["code_bloc"]
    }
    if kinds and seated not in kinds:
        expected = "en placement libre" if seated else "numéroté"
        return "E05", f"Le bloc {row['code_bloc']} est {expected} : place inconnue"
    if row["type_tarif"] not in seance.prices:
        return "E08", f"Type de tarif {row['type_tarif']} inconnu pour cette séance"
    return None


def _add_place(state: PartnerState, row: dict[str, Any]) -> tuple[str, str] | None:
    key = _key(row)
    holding = state.holdings.get(key)
    if holding is not None and holding.seated:
        return "E06", "Place déjà dans l'allotement"
    if holding is None:
        holding = Holding(
            row["code_manifestation"],
            row["date_seance"],
            row["code_salle"],
            row["code_bloc"],
            row["rang"],
            row["place"],
            row["type_tarif"],
            row["code_allotement"],
        )
        state.holdings[key] = holding
    holding.held += int(row["quantite"])
    return None


def _withdraw_place(state: PartnerState, row: dict[str, Any]) -> tuple[str, str] | None:
    holding = state.holdings.get(_key(row))
    if holding is None or holding.held == 0:
        return "E05", "Place absente de l'allotement"
    quantity = int(row["quantite"])
    if holding.seated and holding.sold:
        return "E07", "Place déjà vendue, ne peut être décontingentée"
    if quantity > holding.held - holding.sold:
        return (
            "E07",
            f"{holding.sold} place(s) déjà vendue(s) : {quantity} ne peuvent être retirées",
        )
    holding.held -= quantity
    holding.blocked = min(holding.blocked, holding.held - holding.sold)
    if holding.held == 0:
        del state.holdings[holding.key]
    return None


def _key(row: dict[str, Any]) -> str:
    return holding_key(
        row["code_manifestation"],
        row["date_seance"],
        row["code_bloc"],
        row["rang"],
        row["place"],
        row["type_tarif"],
    )


def _rows(frame: pd.DataFrame) -> Iterator[tuple[int, dict[str, Any]]]:
    """Each data line as text values (``""`` when empty), ``date_seance`` as written."""
    formatters: dict[str, Callable[[Any], str]] = {"date_seance": _wall_clock}
    for line, record in zip(frame.index, frame.to_dict("records"), strict=True):
        yield (
            int(line),
            {column: formatters.get(column, _text)(value) for column, value in record.items()},
        )


def _text(value: Any) -> Any:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return ""
    return value


def _wall_clock(value: Any) -> str:
    if value is None or pd.isna(value):
        return ""
    return pd.Timestamp(value).strftime(WALL_CLOCK_FORMAT)
