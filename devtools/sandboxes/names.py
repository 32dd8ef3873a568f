"""Names of the sandboxes' customers and ticket holders: accents, hyphens, apostrophes and
commas, as partners' files must carry them."""

from __future__ import annotations

import unicodedata

LAST_NAMES = (
    "Dupré",
    "Lefèvre",
    "Petit",
    "O'Neil, Jr",
    "Núñez",
    "Le Bihan",
    "Aït-Ali",
    "Martin",
    "Rossi",
    "Ødegaard",
    "Nguyễn",
    "Moreau",
)
FIRST_NAMES = (
    "Hélène",
    "Zoé",
    "Marc",
    "Jean-Luc",
    "Françoise",
    "Maëlle",
    "Noël",
    "Anaïs",
    "Lucas",
    "Chloé",
    "Björn",
    "Inès",
)
"""Names with what a CSV or a fixed alphabet must cope with."""


def ascii_name(name: str) -> str:
    """The name in lower-case ASCII letters and digits, for e-mail addresses."""
    folded = unicodedata.normalize("NFKD", name.replace("ø", "o").replace("Ø", "O"))
    return "".join(c for c in folded if c.isascii() and c.isalnum()).lower()
