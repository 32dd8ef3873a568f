"""The opaque ``cursor`` of ``GET /orders`` (realtime-api-v1, section 7.6).

A cursor is ``<payload>.<signature>``, both base64url without padding: the payload is JSON
``{"c": changed_at, "i": order id, "f": filters, "r": reseller, "exp": issued + 24 h}``, the
signature its HMAC-SHA256. The secret is the environment variable
``REALTIME_CURSOR_SECRET``; without it, a secret generated once per process, so cursors
then stay valid only on the process that issued them (``realtime serve`` generates one for
all its workers when the variable is unset). An expired, altered or foreign cursor (another
secret, another reseller) answers ``400 malformed-request``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
from functools import cache
from typing import Any

from reseller_sync.realtime.http_validation import bad_parameter

SECRET_VARIABLE = "REALTIME_CURSOR_SECRET"
LIFETIME = dt.timedelta(hours=24)


@cache
def _process_secret() -> bytes:
    return secrets.token_bytes(32)


def cursor_secret() -> bytes:
    configured = os.environ.get(SECRET_VARIABLE)
    return configured.encode("utf-8") if configured else _process_secret()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(payload: str, secret: bytes) -> str:
    return _b64(hmac.new(secret, payload.encode("ascii"), hashlib.sha256).digest())


def issue(
    position: tuple[dt.datetime, str],
    filters: dict[str, Any],
    reseller_code: str,
    now: dt.datetime,
    secret: bytes | None = None,
) -> str:
    changed_at, order_id = position
    payload = _b64(
        json.dumps(
            {
                "c": changed_at.isoformat(),
                "i": order_id,
                "f": filters,
                "r": reseller_code,
                "exp": int((now + LIFETIME).timestamp()),
            },
            separators=(",", ":"),
        ).encode("utf-8")
    )
    return f"{payload}.{_sign(payload, secret or cursor_secret())}"


def read(
    cursor: str, reseller_code: str, now: dt.datetime, secret: bytes | None = None
) -> tuple[tuple[dt.datetime, str], dict[str, Any]]:
    """The position and filters a cursor carries; ``400`` when it is not one of ours, is
    another reseller's or has expired."""
    payload, _, signature = cursor.partition(".")
    try:
        valid = (
            hmac.compare_digest(_sign(payload, secret or cursor_secret()), signature)
            and payload.isascii()
        )
        data = json.loads(_unb64(payload)) if valid else None
        if not isinstance(data, dict) or data.get("r") != reseller_code:
            raise ValueError("foreign")
        position = (dt.datetime.fromisoformat(data["c"]), str(data["i"]))
        expires = dt.datetime.fromtimestamp(int(data["exp"]), dt.UTC)
        filters = data["f"]
        if not isinstance(filters, dict):
            raise ValueError("filters")
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeError):
        raise bad_parameter("cursor", "the cursor is not one this service issued") from None
    if expires <= now:
        raise bad_parameter("cursor", "the cursor has expired (24 hours): list again")
    return position, filters
