"""JSON for the HTTP layer of realtime-api-v1: the response encoding, the RFC 8785 canonical
form (the idempotency fingerprint, the catalogue's ETag) and the strict request parser."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
from typing import Any

from reseller_sync.realtime.problems import Problem, error_item


def _default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise TypeError("an instant without its offset cannot be written")
        if value.utcoffset() == dt.timedelta(0):
            return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def dumps(value: Any) -> str:
    """A response body: UTF-8 JSON, instants in RFC 3339 (UTC as ``Z``)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_default)


def encode(value: Any) -> bytes:
    return dumps(value).encode("utf-8")


# --------------------------------------------------------------------------- RFC 8785

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r"}
_ESCAPES["\t"] = "\\t"
_TO_ESCAPE = re.compile(r'["\\\x00-\x1f]')


def _string(value: str) -> str:
    def escape(match: re.Match[str]) -> str:
        char = match.group(0)
        return _ESCAPES.get(char) or f"\\u{ord(char):04x}"

    return '"' + _TO_ESCAPE.sub(escape, value) + '"'


def _number(value: float) -> str:
    """ECMAScript's Number.prototype.toString of an IEEE 754 double (RFC 8785, 3.2.2.3)."""
    if math.isnan(value) or math.isinf(value):
        raise ValueError("NaN and infinities have no JSON form")
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    # repr gives the shortest digits that round-trip, as ECMAScript asks.
    mantissa, _, exponent_text = repr(abs(value)).partition("e")
    exponent = int(exponent_text) if exponent_text else 0
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction).lstrip("0")
    # n: the position of the decimal point relative to the digits (ECMAScript's n).
    point = (
        len(whole) + exponent
        if whole != "0"
        else exponent - (len(fraction) - len(fraction.lstrip("0")))
    )
    digits = digits.rstrip("0") or "0"
    k = len(digits)
    if k <= point <= 21:
        text = digits + "0" * (point - k)
    elif 0 < point <= 21:
        text = digits[:point] + "." + digits[point:]
    elif -6 < point <= 0:
        text = "0." + "0" * (-point) + digits
    else:
        power = point - 1
        sign_of_power = "+" if power >= 0 else "-"
        head = digits[0] + ("." + digits[1:] if k > 1 else "")
        text = f"{head}e{sign_of_power}{abs(power)}"
    return sign + text


def canonical(value: Any) -> str:
    """The RFC 8785 (JCS) form of a parsed JSON value: members sorted by their UTF-16 code
    units, no insignificant whitespace, numbers as ECMAScript writes doubles."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        if abs(value) < 2**53:
            return str(value)
        return _number(float(value))
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list | tuple):
        return "[" + ",".join(canonical(item) for item in value) + "]"
    if isinstance(value, dict):
        members = sorted(value.items(), key=lambda item: item[0].encode("utf-16-be"))
        return "{" + ",".join(f"{_string(name)}:{canonical(item)}" for name, item in members) + "}"
    raise TypeError(f"{type(value).__name__} is not JSON")


def fingerprint(value: Any) -> str:
    """SHA-256 (hex) of the canonical form: a request's idempotency fingerprint."""
    return hashlib.sha256(canonical(value).encode("utf-8", "surrogatepass")).hexdigest()


# --------------------------------------------------------------------------- requests


class _DuplicateMemberError(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, value in pairs:
        if name in result:
            raise _DuplicateMemberError(name)
        result[name] = value
    return result


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_object(raw: bytes) -> dict[str, Any]:
    """The request body as a JSON object (RFC 8259, UTF-8, I-JSON: no duplicate member names,
    no NaN); ``400 malformed-request`` otherwise. The message never repeats the body."""
    try:
        text = raw.decode("utf-8")
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_refuse_constant)
    except _DuplicateMemberError:
        raise Problem(
            "malformed-request",
            "the body names a member twice",
            [error_item("a member is named twice", pointer="#", reason="format")],
        ) from None
    except (UnicodeDecodeError, ValueError):
        raise Problem(
            "malformed-request",
            "the body is not JSON in UTF-8",
            [error_item("the body is not JSON in UTF-8", pointer="#", reason="format")],
        ) from None
    if not isinstance(value, dict):
        raise Problem(
            "malformed-request",
            "the body is not a JSON object",
            [error_item("the body must be a JSON object", pointer="#", reason="type")],
        )
    return value
