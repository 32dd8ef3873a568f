"""Request checks of realtime-api-v1 that need no store: personal data (section 10), unknown
members (section 3) and the shape of every member (section 7), in the order of section 11
(steps 8, 9, 10), plus query parameters (step 6).

Each check raises a :class:`Problem` naming the members by JSON pointer (URI-fragment form),
never by value: a refused body leaves nothing of itself in the answer or the logs.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping
from typing import Any, Union
from urllib.parse import quote

from reseller_sync.realtime.context import ResellerContext
from reseller_sync.realtime.problems import Problem, error_item

ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
REFERENCE = re.compile(r"[A-Za-z0-9._-]{1,40}")
CURRENCY = re.compile(r"[A-Z]{3}")
DATE_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})", re.ASCII
)
EMAIL = re.compile(r"\S@\S*\.")
"""An e-mail address inside a string: a ``@`` with non-blank characters on both sides and a
``.`` after it (section 10)."""
PERSONAL_NAME_PARTS = (
    "email", "mail", "phone", "tel", "mobile", "fax", "address", "street", "zip",
    "postcode", "postal", "city", "birth", "buyer", "customer", "purchaser", "contact",
    "iban", "card",
)  # fmt: skip
CANCELLATION_REASONS = ("customer_request", "performance_cancelled", "reseller_error")
NAME_LENGTH = 60

Shape = Union[None, "Array", Mapping[str, "Shape"]]
"""The members a request may carry: an object's members, an array's items, or a scalar."""


class Array:
    def __init__(self, items: Shape) -> None:
        self.items = items


HOLD_REQUEST: Shape = {
    "lines": Array(
        {"performance_id": None, "seat_id": None, "category_id": None, "quantity": None}
    ),
    "expires_in": None,
}
ORDER_REQUEST: Shape = {
    "hold_id": None,
    "reseller_order_ref": None,
    "sold_at": None,
    "currency": None,
    "point_of_sale": None,
    "lines": Array(
        {
            "hold_place_id": None,
            "tariff_id": None,
            "price": None,
            "commission": None,
            "beneficiary": {"first_name": None, "last_name": None},
        }
    ),
}
CANCELLATION_REQUEST: Shape = {
    "reseller_cancellation_ref": None,
    "reason": None,
    "cancelled_at": None,
    "ticket_ids": Array(None),
    "refund_amount": None,
}


def pointer(*tokens: str | int) -> str:
    """A JSON pointer in URI-fragment form (RFC 6901, section 6)."""
    escaped = (str(token).replace("~", "~0").replace("/", "~1") for token in tokens)
    return "#" + "".join("/" + quote(token, safe="!$&'()*+,;=:@-._~") for token in escaped)


def _is_personal_name(name: str) -> bool:
    folded = name.lower().replace("_", "").replace("-", "")
    return any(part in folded for part in PERSONAL_NAME_PARTS)


def _walk(
    value: Any, shape: Shape, path: tuple[str | int, ...]
) -> Iterator[tuple[str, tuple[str | int, ...], str]]:
    """(kind, path, member name) of each undefined member of a defined object (kind
    ``unknown``) and of each string holding an e-mail address (kind ``email``), in document
    order. Below an undefined member, or a member of the wrong type, only values count."""
    if isinstance(value, str):
        if EMAIL.search(value):
            yield "email", path, ""
    elif isinstance(value, list):
        items = shape.items if isinstance(shape, Array) else None
        for index, item in enumerate(value):
            yield from _walk(item, items, (*path, index))
    elif isinstance(value, dict):
        members = shape if isinstance(shape, Mapping) else None
        for name, item in value.items():
            if members is not None and name not in members:
                yield "unknown", (*path, name), name
            yield from _walk(item, members.get(name) if members else None, (*path, name))


def check_members(body: dict[str, Any], shape: Shape) -> None:
    """Steps 8 and 9: personal data first (a personal-looking undefined member, or an e-mail
    address in any string), then any other undefined member."""
    personal: list[dict[str, Any]] = []
    unknown: list[dict[str, Any]] = []
    for kind, path, name in _walk(body, shape, ()):
        if kind == "email":
            personal.append(error_item("an e-mail address is refused", pointer=pointer(*path)))
        elif _is_personal_name(name):
            personal.append(error_item("this member carries personal data", pointer=pointer(*path)))
        else:
            unknown.append(error_item("this member is not defined", pointer=pointer(*path)))
    if personal:
        raise Problem(
            "personal-data-refused",
            "the request carries personal data beyond the beneficiary's name; nothing of it"
            " was kept",
            personal,
        )
    if unknown:
        raise Problem(
            "unknown-field", f"{len(unknown)} member(s) not defined by the contract", unknown
        )


# --------------------------------------------------------------------------- shapes


class _Shape:
    """Collects the ``validation-failed`` items of one body."""

    def __init__(self) -> None:
        self.errors: list[dict[str, Any]] = []

    def fail(self, path: tuple[str | int, ...], reason: str, detail: str) -> None:
        self.errors.append(error_item(detail, pointer=pointer(*path), reason=reason))

    def present(self, container: dict[str, Any], name: str, path: tuple[str | int, ...]) -> bool:
        """Whether an optional member has a value (absent and null mean none)."""
        return container.get(name) is not None

    def required(self, container: dict[str, Any], name: str, path: tuple[str | int, ...]) -> bool:
        if container.get(name) is None:
            self.fail((*path, name), "required", f"{name} is required")
            return False
        return True

    def string(
        self,
        container: dict[str, Any],
        name: str,
        path: tuple[str | int, ...],
        pattern: re.Pattern[str] | None,
        what: str,
        *,
        required: bool = True,
    ) -> str | None:
        if not (
            self.required(container, name, path)
            if required
            else self.present(container, name, path)
        ):
            return None
        value = container[name]
        if not isinstance(value, str):
            self.fail((*path, name), "type", f"{name} must be a string")
            return None
        if pattern is not None and not pattern.fullmatch(value):
            self.fail((*path, name), "format", f"{name} must be {what}")
            return None
        return value

    def integer(
        self,
        container: dict[str, Any],
        name: str,
        path: tuple[str | int, ...],
        minimum: int,
        maximum: int | None = None,
        *,
        required: bool = True,
    ) -> int | None:
        if not (
            self.required(container, name, path)
            if required
            else self.present(container, name, path)
        ):
            return None
        value = container[name]
        if not isinstance(value, int) or isinstance(value, bool):
            self.fail((*path, name), "type", f"{name} must be an integer")
            return None
        if value < minimum or (maximum is not None and value > maximum):
            bounds = f"{minimum} to {maximum}" if maximum is not None else f"at least {minimum}"
            self.fail((*path, name), "range", f"{name} must be {bounds}")
            return None
        return value

    def date_time(self, container: dict[str, Any], name: str, path: tuple[str | int, ...]) -> None:
        value = self.string(container, name, path, DATE_TIME, "an RFC 3339 date-time")
        if value is not None and parse_date_time(value) is None:
            self.fail((*path, name), "format", f"{name} must be an RFC 3339 date-time")

    def array(
        self, container: dict[str, Any], name: str, path: tuple[str | int, ...], *, required: bool
    ) -> list[Any] | None:
        if not (
            self.required(container, name, path)
            if required
            else self.present(container, name, path)
        ):
            return None
        value = container[name]
        if not isinstance(value, list):
            self.fail((*path, name), "type", f"{name} must be an array")
            return None
        return value

    def objects(
        self, items: list[Any], path: tuple[str | int, ...]
    ) -> Iterator[tuple[int, dict[str, Any]]]:
        for index, item in enumerate(items):
            if isinstance(item, dict):
                yield index, item
            else:
                self.fail((*path, index), "type", "each item must be an object")

    def raise_if_failed(self) -> None:
        if self.errors:
            raise Problem(
                "validation-failed", f"{len(self.errors)} member(s) break the contract", self.errors
            )


def parse_date_time(value: str) -> dt.datetime | None:
    """An RFC 3339 date-time with its offset, or None."""
    if not DATE_TIME.fullmatch(value):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def check_hold(body: dict[str, Any], reseller: ResellerContext) -> None:
    """Step 10 for ``POST /holds``."""
    shape = _Shape()
    lines = shape.array(body, "lines", (), required=True)
    if lines is not None:
        if not lines:
            shape.fail(("lines",), "range", "lines must hold at least one line")
        places = 0
        seats: set[tuple[str, str]] = set()
        for index, line in shape.objects(lines, ("lines",)):
            path: tuple[str | int, ...] = ("lines", index)
            shape.string(line, "performance_id", path, ID, "an id")
            has_seat = line.get("seat_id") is not None
            has_category = line.get("category_id") is not None
            if has_seat == has_category:
                shape.fail(path, "seat_and_category", "a line names either a seat or a category")
            elif has_seat:
                seat = shape.string(line, "seat_id", path, ID, "an id")
                if line.get("quantity") is not None:
                    shape.fail(
                        (*path, "quantity"),
                        "seat_and_category",
                        "a seat line holds one seat and has no quantity",
                    )
                places += 1
                performance = line.get("performance_id")
                if seat is not None and isinstance(performance, str):
                    if (performance, seat) in seats:
                        shape.fail((*path, "seat_id"), "duplicate_seat", "seat named twice")
                    seats.add((performance, seat))
            else:
                shape.string(line, "category_id", path, ID, "an id")
                quantity = shape.integer(line, "quantity", path, 1)
                places += quantity or 0
        if places > reseller.max_places_per_hold:
            shape.fail(
                ("lines",),
                "too_many_places",
                f"{places} places; a hold takes at most {reseller.max_places_per_hold}",
            )
    shape.integer(
        body,
        "expires_in",
        (),
        ResellerContext.HOLD_MIN_SECONDS,
        ResellerContext.HOLD_MAX_SECONDS,
        required=False,
    )
    shape.raise_if_failed()


def check_order(body: dict[str, Any], reseller: ResellerContext) -> None:
    """Step 10 for ``POST /orders``."""
    shape = _Shape()
    shape.string(body, "hold_id", (), ID, "an id")
    shape.string(body, "reseller_order_ref", (), REFERENCE, "1 to 40 of A-Z a-z 0-9 . _ -")
    shape.date_time(body, "sold_at", ())
    shape.string(body, "currency", (), CURRENCY, "an ISO 4217 code")
    shape.string(
        body, "point_of_sale", (), REFERENCE, "1 to 40 of A-Z a-z 0-9 . _ -", required=False
    )
    lines = shape.array(body, "lines", (), required=True)
    if lines is not None:
        if not lines:
            shape.fail(("lines",), "range", "lines must hold one line per place of the hold")
        seen: set[str] = set()
        for index, line in shape.objects(lines, ("lines",)):
            path: tuple[str | int, ...] = ("lines", index)
            place = shape.string(line, "hold_place_id", path, ID, "an id")
            if place is not None:
                if place in seen:
                    shape.fail(
                        (*path, "hold_place_id"), "duplicate_hold_place", "hold place named twice"
                    )
                seen.add(place)
            shape.string(line, "tariff_id", path, ID, "an id")
            price = shape.integer(line, "price", path, 0)
            commission = shape.integer(line, "commission", path, 0)
            if price is not None and commission is not None and commission > price:
                shape.fail(
                    (*path, "commission"),
                    "commission_exceeds_price",
                    "the commission is part of the price: 0 to price",
                )
            if line.get("beneficiary") is not None:
                beneficiary = line["beneficiary"]
                where = (*path, "beneficiary")
                if not isinstance(beneficiary, dict):
                    shape.fail(where, "type", "beneficiary must be an object")
                    continue
                for name in ("first_name", "last_name"):
                    value = shape.string(beneficiary, name, where, None, "")
                    if value is not None and not 1 <= len(value.strip()) <= NAME_LENGTH:
                        shape.fail((*where, name), "range", f"{name}: 1 to 60 characters")
    shape.raise_if_failed()


def check_cancellation(body: dict[str, Any], reseller: ResellerContext) -> None:
    """Step 10 for ``POST /orders/{order_id}/cancellations``."""
    shape = _Shape()
    shape.string(body, "reseller_cancellation_ref", (), REFERENCE, "1 to 40 of A-Z a-z 0-9 . _ -")
    reason = shape.string(body, "reason", (), None, "")
    if reason is not None and reason not in CANCELLATION_REASONS:
        shape.fail(("reason",), "range", f"reason must be one of {', '.join(CANCELLATION_REASONS)}")
    shape.date_time(body, "cancelled_at", ())
    tickets = shape.array(body, "ticket_ids", (), required=False)
    if tickets is not None:
        seen: set[str] = set()
        for index, ticket in enumerate(tickets):
            if not isinstance(ticket, str):
                shape.fail(("ticket_ids", index), "type", "a ticket id is a string")
            elif not ID.fullmatch(ticket):
                shape.fail(("ticket_ids", index), "format", "a ticket id is an id")
            elif ticket in seen:
                shape.fail(("ticket_ids", index), "duplicate_ticket", "ticket named twice")
            else:
                seen.add(ticket)
    shape.integer(body, "refund_amount", (), 0)
    shape.raise_if_failed()


# --------------------------------------------------------------------------- query


def bad_parameter(name: str, detail: str) -> Problem:
    return Problem(
        "malformed-request", detail, [error_item(detail, parameter=name, reason="format")]
    )


def query_values(items: list[tuple[str, str]], allowed: tuple[str, ...]) -> dict[str, str]:
    """The query parameters as one value each; ``400`` for an undefined or repeated one."""
    values: dict[str, str] = {}
    for name, value in items:
        if name not in allowed:
            raise bad_parameter(name, f"parameter {name!r} is not defined here")
        if name in values:
            raise bad_parameter(name, f"parameter {name!r} is given twice")
        values[name] = value
    return values
