"""Texts written for a person, in every language of messages (``notifications.language``).

A :class:`Localized` holds one text per language. ``{reseller}`` in it
stands for the reseller's display name (setting ``reseller.display_name``),
filled in when the message is composed, so that no action hard-codes the
partner's name. The details that come from a partner file or a codec
(problem reasons, values) stay plain ``str``, in their own words.

A :class:`Localized` is a ``str`` whose value is the English text: code that
logs an error's action, tests it with ``in`` or puts it in a JSON payload
keeps working, and only the composer of a message asks for another language.
"""

from __future__ import annotations

from typing import Any, Final

LANGUAGES: Final = ("fr", "en")
RESELLER: Final = "{reseller}"
"""The placeholder of the reseller's display name."""


class Localized(str):
    """One text in French and in English; as a ``str``, the English text (placeholder kept)."""

    fr: str

    def __new__(cls, *, fr: str, en: str) -> Localized:
        text = super().__new__(cls, en)
        text.fr = fr
        return text

    @property
    def en(self) -> str:
        return str.__str__(self)

    def render(self, language: str, reseller: str) -> str:
        """The text in ``language`` (``fr`` or ``en``), naming the reseller ``reseller``."""
        if language not in LANGUAGES:
            raise ValueError(f"unknown language {language!r}: expected one of {LANGUAGES}")
        text = self.fr if language == "fr" else self.en
        return text.replace(RESELLER, reseller)

    def __repr__(self) -> str:
        return f"Localized(fr={self.fr!r}, en={self.en!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return _localized, (self.fr, self.en)


def _localized(fr: str, en: str) -> Localized:
    return Localized(fr=fr, en=en)


Text = str
"""A text for a person: a :class:`Localized` one of ours, or a plain ``str`` shown as it is."""


def render_text(text: Text, language: str, reseller: str) -> str:
    """``text`` as a person reads it in ``language``. A plain ``str`` keeps its words; its
    placeholder is filled too (a localized text that went through JSON comes back as one)."""
    if isinstance(text, Localized):
        return text.render(language, reseller)
    return text.replace(RESELLER, reseller)
