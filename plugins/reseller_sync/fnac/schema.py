"""The columns of every file type and the rules between them (spec sections 6 to 8).

A :class:`FileSchema` lists a type's columns in the spec's order, each with
its value format and presence, the control column summed in the trailer,
the columns whose values are unique within one file, and the rules that
relate columns of one line (a seated place has a ``rang`` and a ``place``...).

Presence of a column:

* ``REQUIRED``: the column must be in the file and every line holds a value;
* ``CONDITIONAL``: the column must be in the file; a rule of the type says
  when a line needs a value (the spec's "dated products", "seated", "KO"...);
* ``OPTIONAL``: the column may be missing; a value may be empty.

:data:`BUYER_CONTACT_COLUMNS` is the one place that names the buyer's contact
columns: the reader drops them, only the FNAC sandbox writes them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property

import pandas as pd

from reseller_sync.fnac import values as v
from reseller_sync.fnac.names import FileName, FileType

BUYER_CONTACT_COLUMNS: tuple[str, ...] = (
    "email_acheteur",
    "telephone_acheteur",
    "adresse_acheteur",
)
"""The buyer's contact details (spec 7.1): dropped where a file is read, never stored or logged."""


class Presence(Enum):
    REQUIRED = "required"
    CONDITIONAL = "conditional"
    OPTIONAL = "optional"


@dataclass(frozen=True)
class Column:
    name: str
    format: v.ValueFormat
    presence: Presence = Presence.REQUIRED
    personal: bool = False
    """A buyer contact column: never read, never validated, written only by the sandbox."""


@dataclass(frozen=True)
class Violation:
    """Lines of a frame breaking one rule, reported on ``column``."""

    rows: pd.Series
    column: str
    reason: str


@dataclass(frozen=True)
class Lines:
    """A chunk of data lines as the rules see them."""

    text: pd.DataFrame
    """Every read column as text, ``""`` when empty."""
    typed: pd.DataFrame
    """Every read column typed, NA when empty or invalid."""

    def given(self, column: str) -> pd.Series:
        """Lines where ``column`` holds a value (valid or not)."""
        return self.text[column] != ""

    def __getitem__(self, column: str) -> pd.Series:
        return self.typed[column]


Rule = Callable[[Lines, FileName], Iterator[Violation]]
"""A rule between columns of a line: it yields the lines that break it."""


@dataclass(frozen=True)
class FileSchema:
    type: FileType
    columns: tuple[Column, ...]
    control_column: str | None = None
    """The amount column summed in the trailer's CONTROL (0 when None)."""
    unique_columns: tuple[str, ...] = ()
    rules: tuple[Rule, ...] = field(default=())

    @cached_property
    def by_name(self) -> dict[str, Column]:
        return {column.name: column for column in self.columns}

    @cached_property
    def read_columns(self) -> tuple[Column, ...]:
        """The columns a reader keeps: all but the buyer contact columns."""
        return tuple(column for column in self.columns if not column.personal)

    @cached_property
    def needed_columns(self) -> tuple[str, ...]:
        """The columns a file must have (required and conditional)."""
        return tuple(c.name for c in self.columns if c.presence is not Presence.OPTIONAL)


def _seat(lines: Lines, name: FileName) -> Iterator[Violation]:
    rang, place = lines.given("rang"), lines.given("place")
    yield Violation(rang & ~place, "place", "a seated place (with a rang) needs a place number")
    yield Violation(place & ~rang, "rang", "a seated place (with a place number) needs a rang")
    yield Violation(
        (rang | place) & ~lines.given("code_bloc"), "code_bloc", "a seated place needs a bloc"
    )


def _event(lines: Lines, name: FileName) -> Iterator[Violation]:
    salle, bloc = lines.given("code_salle"), lines.given("code_bloc")
    yield Violation(salle & ~bloc, "code_bloc", "an event line (with a code_salle) needs a bloc")
    yield Violation(bloc & ~salle, "code_salle", "an event line (with a bloc) needs a code_salle")
    yield Violation(
        salle & ~lines.given("date_seance"),
        "date_seance",
        "an event line (with a code_salle) is dated and needs a date_seance",
    )


def _commission(lines: Lines, name: FileName) -> Iterator[Violation]:
    exceeds = (lines["commission"] > lines["prix_ttc"]).fillna(False).astype(bool)
    yield Violation(exceeds, "commission", "the commission is more than prix_ttc")


def _seat_quantity(lines: Lines, name: FileName) -> Iterator[Violation]:
    seated = lines.given("rang") | lines.given("place")
    wrong = (seated & (lines["quantite"] != 1)).fillna(False).astype(bool)
    yield Violation(wrong, "quantite", "a seat (with a rang and a place) has quantite 1")


def _at_least_one(lines: Lines, name: FileName) -> Iterator[Violation]:
    yield Violation(
        (lines["quantite"] < 1).fillna(False).astype(bool), "quantite", "must be at least 1"
    )


def _fiche_nature(lines: Lines, name: FileName) -> Iterator[Violation]:
    nature = lines["nature"]
    dated_event = nature.isin(["EVENEMENT", "COMPETITION"])
    is_pass = nature.isin(["PASS_VISITE", "PASS_NON_DATE"])
    seance, fin_validite = lines.given("date_seance"), lines.given("fin_validite")
    yield Violation(
        dated_event & ~seance, "date_seance", "an event or competition needs a date_seance"
    )
    yield Violation(
        dated_event & ~lines.given("code_config"),
        "code_config",
        "an event or competition needs a code_config",
    )
    yield Violation(is_pass & ~fin_validite, "fin_validite", "a pass needs a fin_validite")
    yield Violation(
        (nature == "PASS_NON_DATE") & seance,
        "date_seance",
        "an undated pass (PASS_NON_DATE) has no date_seance",
    )


def _sale_period(lines: Lines, name: FileName) -> Iterator[Violation]:
    reversed_period = (lines["fin_vente"] < lines["debut_vente"]).fillna(False).astype(bool)
    yield Violation(reversed_period, "fin_vente", "fin_vente is before debut_vente")


def _ack(lines: Lines, name: FileName) -> Iterator[Violation]:
    ok, ko = lines["statut"] == "OK", lines["statut"] == "KO"
    error_code = lines.given("code_erreur")
    yield Violation(ko & ~error_code, "code_erreur", "a KO line needs a code_erreur")
    yield Violation(ok & error_code, "code_erreur", "an OK line has no code_erreur")
    yield Violation(
        (ok & (lines["ligne"] != 0)).fillna(False).astype(bool),
        "ligne",
        "an OK line concerns the whole file: ligne 0",
    )
    answered = str(name.answered) if name.answered is not None else None
    yield Violation(
        lines.given("fichier") & (lines["fichier"] != answered),
        "fichier",
        f"must be the name of the answered file, {answered}",
    )


_R, _C, _O = Presence.REQUIRED, Presence.CONDITIONAL, Presence.OPTIONAL

_TICKETS = (
    Column("id_vente", v.IDENTIFIER),
    Column("id_billet", v.IDENTIFIER),
    Column("code_manifestation", v.MANIFESTATION),
    Column("date_seance", v.DATE_SEANCE, _C),
    Column("code_salle", v.SALLE, _C),
    Column("code_bloc", v.BLOC, _C),
    Column("rang", v.TEXT, _C),
    Column("place", v.TEXT, _C),
    Column("type_tarif", v.TYPE_TARIF),
    Column("categorie_client", v.CATEGORIE_CLIENT),
    Column("code_allotement", v.ALLOTEMENT),
    Column("prix_ttc", v.AMOUNT),
    Column("commission", v.AMOUNT),
    Column("devise", v.DEVISE),
    Column("code_barre", v.CODE_BARRE),
    Column("nom_beneficiaire", v.NAME, _O),
    Column("prenom_beneficiaire", v.NAME, _O),
    *(Column(name, v.TEXT, _O, personal=True) for name in BUYER_CONTACT_COLUMNS),
    Column("code_point_vente", v.POINT_VENTE),
    Column("libelle_point_vente", v.TEXT),
    Column("date_vente", v.TIMESTAMP),
)

_PLACES = (
    Column("code_manifestation", v.MANIFESTATION),
    Column("date_seance", v.DATE_SEANCE),
    Column("code_salle", v.SALLE),
    Column("code_bloc", v.BLOC),
    Column("rang", v.TEXT, _C),
    Column("place", v.TEXT, _C),
    Column("quantite", v.COUNT),
    Column("type_tarif", v.TYPE_TARIF),
    Column("code_allotement", v.ALLOTEMENT),
)


def _ticket_schema(file_type: FileType) -> FileSchema:
    return FileSchema(
        file_type,
        _TICKETS,
        control_column="prix_ttc",
        unique_columns=("id_billet",),
        rules=(_seat, _event, _commission),
    )


def _places_schema(file_type: FileType) -> FileSchema:
    return FileSchema(file_type, _PLACES, rules=(_seat, _seat_quantity, _at_least_one))


SCHEMAS: dict[FileType, FileSchema] = {
    FileType.VENTES: _ticket_schema(FileType.VENTES),
    FileType.TEST: _ticket_schema(FileType.TEST),
    FileType.ANNUL: FileSchema(
        FileType.ANNUL,
        (
            Column("id_annulation", v.TEXT),
            Column("id_vente", v.IDENTIFIER),
            Column("id_billet", v.IDENTIFIER),
            Column("code_barre", v.CODE_BARRE),
            Column("montant_rembourse", v.AMOUNT),
            Column("devise", v.DEVISE),
            Column("motif", v.MOTIF),
            Column("code_point_vente", v.POINT_VENTE),
            Column("date_annulation", v.TIMESTAMP),
        ),
        control_column="montant_rembourse",
        unique_columns=("id_annulation", "id_billet"),
    ),
    FileType.CATCLI: FileSchema(
        FileType.CATCLI,
        (
            Column("categorie_client", v.CATEGORIE_CLIENT),
            Column("libelle", v.TEXT),
            Column("actif", v.BOOLEAN),
            Column("date_modification", v.TIMESTAMP),
        ),
        unique_columns=("categorie_client",),
    ),
    FileType.ETATPL: FileSchema(
        FileType.ETATPL,
        (
            Column("code_manifestation", v.MANIFESTATION),
            Column("date_seance", v.DATE_SEANCE),
            Column("code_salle", v.SALLE),
            Column("code_bloc", v.BLOC),
            Column("rang", v.TEXT, _C),
            Column("place", v.TEXT, _C),
            Column("quantite", v.COUNT),
            Column("code_allotement", v.ALLOTEMENT),
            Column("statut", v.STATUT_PLACE),
        ),
        rules=(_seat, _seat_quantity),
    ),
    FileType.ACK: FileSchema(
        FileType.ACK,
        (
            Column("fichier", v.TEXT),
            Column("statut", v.STATUT_ACK),
            Column("ligne", v.COUNT),
            Column("code_erreur", v.CODE_ERREUR, _C),
            Column("message", v.TEXT, _O),
        ),
        rules=(_ack,),
    ),
    FileType.FICHE: FileSchema(
        FileType.FICHE,
        (
            Column("code_produit", v.TEXT),
            Column("libelle_produit", v.TEXT),
            Column("nature", v.NATURE),
            Column("code_manifestation", v.MANIFESTATION, _O),
            Column("lieu", v.TEXT),
            Column("ville", v.TEXT),
            Column("pays", v.PAYS),
            Column("date_seance", v.DATE_SEANCE, _C),
            Column("fin_validite", v.DATE, _C),
            Column("code_config", v.TEXT, _C),
            Column("categorie", v.TEXT),
            Column("libelle_categorie", v.TEXT),
            Column("tarif", v.TEXT),
            Column("libelle_tarif", v.TEXT),
            Column("prix_ttc", v.AMOUNT),
            Column("devise", v.DEVISE),
            Column("contingent", v.COUNT),
            Column("debut_vente", v.TIMESTAMP),
            Column("fin_vente", v.TIMESTAMP),
        ),
        control_column="prix_ttc",
        rules=(_fiche_nature, _sale_period),
    ),
    FileType.PLACES: _places_schema(FileType.PLACES),
    FileType.DECONT: _places_schema(FileType.DECONT),
}


def schema_of(file_type: FileType) -> FileSchema:
    return SCHEMAS[FileType(file_type)]


def column_names(file_type: FileType) -> tuple[str, ...]:
    """The columns of ``file_type`` in the spec's order, buyer contact columns included."""
    return tuple(column.name for column in schema_of(file_type).columns)
