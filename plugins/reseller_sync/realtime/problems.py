"""The problem types of realtime-api-v1 (section 11), as one exception the store raises and
the HTTP layer writes as an RFC 9457 problem."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Category = Literal["mapping", "external", "technical"]

TYPE_PREFIX = "urn:problem-type:reseller-sync:"


@dataclass(frozen=True)
class ProblemType:
    name: str
    status: int
    category: Category
    title: str

    @property
    def uri(self) -> str:
        return TYPE_PREFIX + self.name


PROBLEM_TYPES: dict[str, ProblemType] = {
    problem.name: problem
    for problem in (
        ProblemType("malformed-request", 400, "external", "Malformed request"),
        ProblemType("idempotency-key-required", 400, "external", "Idempotency key required"),
        ProblemType("unauthenticated", 401, "external", "Unauthenticated"),
        ProblemType("channel-suspended", 403, "mapping", "Channel suspended"),
        ProblemType("not-found", 404, "external", "Not found"),
        ProblemType("method-not-allowed", 405, "external", "Method not allowed"),
        ProblemType("places-unavailable", 409, "external", "Places unavailable"),
        ProblemType("sale-closed", 409, "external", "Sale closed"),
        ProblemType("hold-already-ordered", 409, "external", "Hold already ordered"),
        ProblemType("duplicate-reference", 409, "external", "Duplicate reference"),
        ProblemType(
            "idempotency-request-in-progress", 409, "external", "Idempotent request in progress"
        ),
        ProblemType("ticket-not-cancellable", 409, "external", "Ticket not cancellable"),
        ProblemType("hold-expired", 410, "external", "Hold expired"),
        ProblemType("hold-released", 410, "external", "Hold released"),
        ProblemType("payload-too-large", 413, "external", "Payload too large"),
        ProblemType("unsupported-media-type", 415, "external", "Unsupported media type"),
        ProblemType("validation-failed", 422, "external", "Validation failed"),
        ProblemType("unknown-field", 422, "external", "Unknown field"),
        ProblemType("personal-data-refused", 422, "external", "Personal data refused"),
        ProblemType("idempotency-key-reused", 422, "external", "Idempotency key reused"),
        ProblemType("price-mismatch", 422, "mapping", "Price mismatch"),
        ProblemType("tariff-not-on-channel", 422, "mapping", "Tariff not on channel"),
        ProblemType("currency-mismatch", 422, "mapping", "Currency mismatch"),
        ProblemType("rate-limited", 429, "external", "Rate limited"),
        ProblemType("internal-error", 500, "technical", "Internal error"),
        ProblemType("service-unavailable", 503, "technical", "Service unavailable"),
        ProblemType("report-not-ready", 409, "external", "Report not ready"),
    )
}


def error_item(
    detail: str,
    *,
    pointer: str | None = None,
    parameter: str | None = None,
    header: str | None = None,
    reason: str | None = None,
    **integers: int,
) -> dict[str, Any]:
    """One ``errors[]`` item: a detail, exactly one of pointer/parameter/header, a reason and
    the integers its type lists (``expected``, ``actual``, ``available``)."""
    located = [
        (name, value)
        for name, value in (("pointer", pointer), ("parameter", parameter), ("header", header))
        if value is not None
    ]
    if len(located) != 1:
        raise ValueError("an error item names exactly one pointer, parameter or header")
    item: dict[str, Any] = {located[0][0]: located[0][1]}
    if reason is not None:
        item["reason"] = reason
    item.update(integers)
    item["detail"] = detail
    return item


class Problem(Exception):  # noqa: N818 (the contract calls it a problem)
    """A non-success answer of the service: its type name, a detail for a person (never a
    personal value or a key), the ``errors[]`` items and the type's extra members
    (``existing_order_id``...)."""

    def __init__(
        self,
        name: str,
        detail: str,
        errors: list[dict[str, Any]] | None = None,
        **members: Any,
    ) -> None:
        if name not in PROBLEM_TYPES:
            raise ValueError(f"unknown problem type {name!r}")
        super().__init__(f"{name}: {detail}")
        self.type = PROBLEM_TYPES[name]
        self.detail = detail
        self.errors = errors or []
        self.members = members

    @property
    def status(self) -> int:
        return self.type.status

    def body(self, *, instance: str, correlation_id: str) -> dict[str, Any]:
        """The problem details object of section 11."""
        return {
            "type": self.type.uri,
            "title": self.type.title,
            "status": self.type.status,
            "detail": self.detail,
            "instance": instance,
            "category": self.type.category,
            "correlation_id": correlation_id,
            "errors": self.errors,
            **self.members,
        }
