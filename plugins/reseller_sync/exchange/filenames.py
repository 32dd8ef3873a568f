"""Checks on file names that come from, or go to, a partner's SFTP server.

Two separate questions:

- Is the name *safe* to use at all (:func:`unsafe_reason`)? A name from a
  server is untrusted input: it must not hold path separators, ``..``,
  control or invisible formatting characters, and must not be absurdly long.
  An unsafe name is refused loudly, never silently skipped.
- Is it a name of the reseller's exchange (:func:`parse_exchange_name`, which
  asks the adapter's :class:`~reseller_sync.core.exchange.ExchangeNaming`)? A
  safe name that is not one (a README left by the partner, a directory) is
  simply not ours to process.
"""

from __future__ import annotations

import unicodedata

from reseller_sync.core.exchange import ExchangeName, ExchangeNaming

MAX_NAME_LENGTH = 128
"""Longest name accepted, in characters; exchange names are about 45."""

_SHOWN_LENGTH = 80
# Unicode categories that must never appear in a name: control characters,
# invisible formatting characters (bidirectional overrides, zero-width
# spaces) and line or paragraph separators.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})


def unsafe_reason(name: str) -> str | None:
    """Say why ``name`` is unsafe to use as a plain file name, or None if it is safe."""
    if not name:
        return "the name is empty"
    if len(name) > MAX_NAME_LENGTH:
        return f"the name is {len(name)} characters long, above the limit of {MAX_NAME_LENGTH}"
    if "/" in name or "\\" in name:
        return "the name holds a path separator"
    if name in {".", ".."} or ".." in name:
        return "the name holds '..'"
    for char in name:
        if unicodedata.category(char) in _FORBIDDEN_CATEGORIES:
            return f"the name holds the control or invisible character U+{ord(char):04X}"
    return None


def shown_name(name: str) -> str:
    """The name as it may be written in a message or a log.

    Non-printable characters are escaped and a very long name is cut, so a
    hostile name can neither forge log lines nor flood them.
    """
    escaped = name.encode("unicode_escape").decode("ascii")
    if len(escaped) > _SHOWN_LENGTH:
        return f"{escaped[:_SHOWN_LENGTH]}... ({len(name)} characters)"
    return escaped


def is_part_name(name: str, naming: ExchangeNaming) -> bool:
    """Whether ``name`` is a file still being uploaded (readers ignore it)."""
    return name.endswith(naming.partial_suffix)


def parse_exchange_name(name: str, naming: ExchangeNaming) -> ExchangeName | None:
    """Parse an exchange file name, or None if ``name`` is not one.

    Only canonical names count: parsing and writing back gives ``name`` again.
    """
    parsed = naming.parse(name)
    return parsed if parsed is not None and str(parsed) == name else None
