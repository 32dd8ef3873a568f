"""Value formats of the FNAC contract (spec sections 2 and 5).

Each :class:`ValueFormat` is a regular expression a field's text must match
in full, a short description used in error messages ("must be 6 to 10
digits"), and the Python/pandas type the text becomes once read
(:class:`ValueKind`). The patterns use ``[0-9]`` rather than ``\\d`` so that
they mean the same in Python's ``re`` and in Arrow's RE2 (which pandas uses
for ``Series.str.fullmatch`` on Arrow-backed strings): no other Unicode
digits are accepted.

Other modules (mappings, sandbox) can check a code with :func:`is_valid`,
e.g. ``is_valid(MANIFESTATION, "004512")``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property


class ValueKind(Enum):
    """What a field's text becomes in a parsed frame."""

    TEXT = "text"
    """Kept as text (``str`` dtype); codes keep their leading zeros."""
    AMOUNT = "amount"
    """Whole cents, never negative (``int64``)."""
    INTEGER = "integer"
    """A count or a line number (``int64``)."""
    BOOLEAN = "boolean"
    """``0`` or ``1`` (``bool``)."""
    WALL_CLOCK = "wall_clock"
    """``DD/MM/YYYY HH:MM``, the venue's local time (naive ``datetime64``)."""
    DATE = "date"
    """``DD/MM/YYYY`` (naive ``datetime64`` at midnight)."""
    TIMESTAMP = "timestamp"
    """ISO 8601 with a UTC offset (``datetime64`` in UTC)."""


@dataclass(frozen=True)
class ValueFormat:
    """The shape a field's text must have.

    ``hints`` refine the reason given for a value that does not match: the
    first hint whose pattern is found in the value gives the reason.
    """

    pattern: str | None
    """None accepts any text."""
    description: str
    kind: ValueKind = ValueKind.TEXT
    max_length: int | None = None
    hints: tuple[tuple[str, str], ...] = field(default=())

    @cached_property
    def compiled(self) -> re.Pattern[str]:
        return re.compile(self.pattern if self.pattern is not None else ".*", re.DOTALL)


def is_valid(value_format: ValueFormat, value: str) -> bool:
    """Whether ``value`` has the shape ``value_format`` asks for (non-empty)."""
    if value_format.max_length is not None and len(value) > value_format.max_length:
        return False
    return value != "" and value_format.compiled.fullmatch(value) is not None


def _enum(*values: str) -> ValueFormat:
    return ValueFormat(
        "|".join(re.escape(value) for value in values), "one of " + ", ".join(values)
    )


def _text(max_length: int | None = None) -> ValueFormat:
    description = f"text of at most {max_length} characters" if max_length else "text"
    return ValueFormat(None, description, max_length=max_length)


_AMOUNT_HINTS = (
    (r"^\s*-", "must not be negative"),
    (r"[.,]", "must be whole cents, with no decimal separator"),
    (r"\s", "must hold digits only, with no space"),
)

# Codes (spec section 2).
MANIFESTATION = ValueFormat("[0-9]{6,10}", "6 to 10 digits")
SALLE = ValueFormat("[A-Za-z0-9]{3,8}", "3 to 8 letters or digits")
BLOC = ValueFormat("[A-Za-z0-9]{1,6}", "1 to 6 letters or digits")
TYPE_TARIF = ValueFormat("[0-9]{1,2}", "1 or 2 digits")
CATEGORIE_CLIENT = ValueFormat("0|[1-9][0-9]?", "an integer from 0 to 99, without leading zero")
ALLOTEMENT = ValueFormat("[A-Za-z0-9]{1,6}", "1 to 6 letters or digits")
MANAGER = ValueFormat("M[0-9]{4}", "M followed by 4 digits")
POINT_VENTE = ValueFormat("(?:FR|CH)[0-9]{4}", "FR or CH followed by 4 digits")
CODE_BARRE = ValueFormat("[0-9]{12,20}", "12 to 20 digits")
SEQ = ValueFormat("[0-9]{6}", "6 digits")

# Plain values (spec section 5).
AMOUNT = ValueFormat(
    "[0-9]{1,15}", "a whole number of cents", ValueKind.AMOUNT, hints=_AMOUNT_HINTS
)
COUNT = ValueFormat("[0-9]{1,9}", "a whole number", ValueKind.INTEGER, hints=_AMOUNT_HINTS)
BOOLEAN = ValueFormat("[01]", "0 or 1", ValueKind.BOOLEAN)
DATE_SEANCE = ValueFormat(
    "[0-9]{2}/[0-9]{2}/[0-9]{4} [0-9]{2}:[0-9]{2}",
    "a date and time DD/MM/YYYY HH:MM",
    ValueKind.WALL_CLOCK,
)
DATE = ValueFormat("[0-9]{2}/[0-9]{2}/[0-9]{4}", "a date DD/MM/YYYY", ValueKind.DATE)
TIMESTAMP = ValueFormat(
    "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:[.][0-9]{1,6})?(?:Z|[+-][0-9]{2}:[0-9]{2})",
    "an ISO 8601 timestamp with a UTC offset, e.g. 2026-11-28T14:05:00+01:00",
    ValueKind.TIMESTAMP,
)
IDENTIFIER = _text(20)
NAME = _text(60)
TEXT = _text()

# Enumerations.
DEVISE = _enum("EUR", "CHF")
PAYS = _enum("FR", "CH")
NATURE = _enum("EVENEMENT", "COMPETITION", "PASS_VISITE", "PASS_NON_DATE")
MOTIF = _enum("CLIENT", "SEANCE_ANNULEE", "ERREUR_CAISSE")
STATUT_PLACE = _enum("DISPO", "VENDU", "BLOQUE")
STATUT_ACK = _enum("OK", "KO")
CODE_ERREUR = _enum("E01", "E02", "E03", "E04", "E05", "E06", "E07", "E08", "E09", "E10", "E99")

WALL_CLOCK_FORMAT = "%d/%m/%Y %H:%M"
DATE_FORMAT = "%d/%m/%Y"
