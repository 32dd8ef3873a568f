"""Reseller types: what each kind of reseller can do, in the box office's words.

A *reseller type* is code: one adapter package per partner contract, which
declares its capabilities here as a :class:`ResellerType`. A *reseller
instance* is one organiser's settings for a type, in
``include/config/resellers/<code>.yaml``, with its mappings in
``include/mappings/<code>/``. The builders, the journal and the integration
read the capabilities; only the adapter knows the partner's files or calls.

The registry lists adapter modules by import path (:data:`ADAPTER_MODULES`),
and the partner packages (:data:`PARTNER_PACKAGES`): those two lists are the one
place outside an adapter that names a reseller. Each
module exposes ``RESELLER_TYPE``; importing it is deferred until a type is
asked for, so that reading the registry loads no codec.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol, cast

from reseller_sync.domain.errors import Problem
from reseller_sync.domain.products import ProductKind

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from reseller_sync.config.settings import InstanceSettings
    from reseller_sync.core.exchange import ExchangeNaming, InboundUnit
    from reseller_sync.core.lines import InboundLines
    from reseller_sync.dashboard.queries import StreamExpectation
    from reseller_sync.integration.settings import IntegrationSettings

ADAPTER_MODULES: tuple[str, ...] = (
    "reseller_sync.fnac.adapter",
    "reseller_sync.ticketnet.adapter",
    "reseller_sync.secutix.adapter",
    "reseller_sync.digitick.adapter",
    "reseller_sync.classictic.adapter",
)
"""The registered reseller types' adapter modules, each exposing ``RESELLER_TYPE``."""

PARTNER_PACKAGES: tuple[str, ...] = (
    "reseller_sync.fnac",
    "reseller_sync.ticketnet",
    "reseller_sync.secutix",
    "reseller_sync.digitick",
    "reseller_sync.classictic",
)
"""Every partner contract's package, with its codec and its operator commands (its ``cli``
module). A package is a reseller type once its adapter module is in :data:`ADAPTER_MODULES`;
until then it brings its codec and commands alone."""

_CODE = re.compile(r"[a-z][a-z0-9]{1,19}")


class InterfaceKind(StrEnum):
    FILES = "files"
    """Asynchronous: both sides drop files on an SFTP server and process the other's in order."""
    REALTIME = "realtime"
    """Synchronous: the reseller calls the box office's web service while its customer buys."""


class Placement(StrEnum):
    SEATED = "seated"
    """Numbered seats given to the reseller one by one."""
    FREE = "free"
    """Free placement (standing, unnumbered): a count of places per area or block."""


class Acknowledgement(StrEnum):
    """How the reseller answers what the organiser sends it."""

    ANSWER_FILE = "answer_file"
    """An answer file per organiser file, decided line by line."""
    ANSWER_PER_BATCH = "answer_per_batch"
    """One answer per batch of files, decided record by record (a JSON document per batch, say)."""
    SYNCHRONOUS = "synchronous"
    """The response to the call itself: nothing to wait for (real-time resellers)."""


class SalesReporting(StrEnum):
    """How the reseller tells the box office what it sold and cancelled."""

    EVENT_LOG = "event_log"
    """Sales, then cancellations and refunds, each an event applied once by its id."""
    TICKET_STATES = "ticket_states"
    """The current state of each ticket that changed, applied as an upsert by barcode."""


class NightlyExchange(StrEnum):
    """What the nightly run exchanges with the reseller."""

    INVENTORY = "inventory"
    """The reseller's view of the places it holds, reconciled with the box office's."""
    WITHDRAWAL = "withdrawal"
    """Places taken back from the reseller's quota, answered place by place."""
    SALES_REPORT = "sales_report"
    """The reseller's report of its sales, reconciled order by order."""


class StreamRole(StrEnum):
    """What an inbound stream of the partner brings, in the box office's words; each is
    integrated by its own hourly task (``integrate_<role>``)."""

    CUSTOMER_CATEGORIES = "customer_categories"
    """The partner's own price or customer categories: a new one mapped to no tariff alerts."""
    SALES = "sales"
    CANCELLATIONS = "cancellations"
    TICKET_STATES = "ticket_states"


@dataclass(frozen=True)
class InboundStream:
    """One stream of files the partner sends, integrated every hour in its order."""

    code: str
    """The partner's name of the stream (a file type, a stream of batches)."""
    role: StreamRole

    @property
    def task_id(self) -> str:
        return f"integrate_{self.role.value}"


@dataclass(frozen=True)
class InboundRhythm:
    """When the inbound run of a file reseller runs, in cron and in words."""

    schedule: str
    """A cron expression (UTC)."""
    words: str
    """For people: ``every hour``, ``every 15 minutes``."""
    tag: str
    """The DAG's tag in the UI."""


HOURLY = InboundRhythm("15 * * * *", "every hour", "hourly")
"""At minute 15: the partners that write hourly do so by minute 10."""
QUARTER_HOURLY = InboundRhythm("5,20,35,50 * * * *", "every 15 minutes", "quarter-hourly")
"""Five minutes after each quarter: for partners that write every 15 minutes, within 5."""


@dataclass(frozen=True)
class ResellerType:
    """A kind of reseller and what it can do; declared once by its adapter."""

    code: str
    """Lower-case identifier: settings file, mapping folder, journal key, DAG id prefix."""
    name: str
    """How people call the reseller, in alerts and pages."""
    contract: str
    """The partner contract by name and version (``<partner>-exchange-v1``)."""
    interface: InterfaceKind
    product_kinds: frozenset[ProductKind]
    """The kinds of product it may sell; anything else is refused before any exchange."""
    placements: frozenset[Placement]
    acknowledgement: Acknowledgement
    sales_reporting: SalesReporting
    nightly: tuple[NightlyExchange, ...]
    refusal_reference: str = ""
    """Where the contract says what may not be sold, quoted in a refusal (``section 1``)."""
    streams: tuple[InboundStream, ...] = field(default=())
    """The partner's inbound streams integrated every hour, in the order they are applied."""
    streams_elsewhere: tuple[tuple[str, str], ...] = field(default=())
    """Inbound streams integrated by another DAG than the hourly one: (stream code, purpose),
    the purpose being ``nightly`` or ``onboarding``."""
    identity_mapping: bool = False
    """The codes exchanged are the organiser's own (the partner runs the same box-office
    software): no mapping file is needed, and one overrides a code that changed."""
    inbound_rhythm: InboundRhythm = field(default_factory=lambda: HOURLY)
    """When its inbound run lands and integrates its files: after each time the partner
    writes them."""

    def __post_init__(self) -> None:
        problems = []
        if not _CODE.fullmatch(self.code):
            problems.append(f"code {self.code!r}: 2 to 20 lower-case letters and digits")
        if not self.product_kinds:
            problems.append("it may sell no product kind")
        if not self.placements:
            problems.append("it takes neither seated nor free placement")
        if (self.interface is InterfaceKind.REALTIME) != (
            self.acknowledgement is Acknowledgement.SYNCHRONOUS
        ):
            problems.append("a real-time reseller, and only one, answers synchronously")
        roles = [stream.role for stream in self.streams]
        if len(set(roles)) != len(roles):
            problems.append("two inbound streams play the same role")
        hourly = {stream.code for stream in self.streams}
        for code, purpose in self.streams_elsewhere:
            if purpose not in {"nightly", "onboarding"} or code in hourly:
                problems.append(f"stream {code}: integrated hourly, at night or at onboarding")
        if problems:
            raise ValueError(f"reseller type {self.code!r}: " + "; ".join(problems))

    def may_sell(self, kind: ProductKind) -> bool:
        return kind in self.product_kinds

    def refusal_reason(self, kind: ProductKind) -> str | None:
        """Why this reseller may not sell a product of ``kind``, or None when it may."""
        if self.may_sell(kind):
            return None
        reference = f" ({self.contract} {self.refusal_reference})" if self.refusal_reference else ""
        return f"{_KIND_WORDS[kind]} may not be sold by {self.name}{reference}"

    def processing_dag(self, stream_code: str) -> str:
        """The DAG that integrates a stream, whose failed task waits for a person."""
        purpose = dict(self.streams_elsewhere).get(stream_code, "inbound")
        return self.dag_id(purpose, "<product>" if purpose == "onboarding" else None)

    def dag_id(self, purpose: str, product_code: str | None = None) -> str:
        """``<code>_<purpose>``, or ``<code>_<purpose>__<product>`` for a product's DAG."""
        base = f"{self.code}_{purpose}"
        return f"{base}__{product_code.lower()}" if product_code else base


_KIND_WORDS: dict[ProductKind, str] = {
    ProductKind.EVENT: "an event",
    ProductKind.COMPETITION: "a competition",
    ProductKind.VISIT_PASS: "a visit pass",
    ProductKind.GROUP_VISIT_PASS: "a visit pass for a group",
    ProductKind.UNDATED_PASS: "an undated pass",
    ProductKind.SUBSCRIPTION: "a subscription (abonnement)",
    ProductKind.PACKAGE: "a package of several products",
}


class ProductVerdict(Protocol):
    """An adapter's answer to "may this reseller sell the product, and is it ready?"."""

    @property
    def ok(self) -> bool: ...
    @property
    def sellable(self) -> bool: ...
    @property
    def problems(self) -> Sequence[Problem]: ...


class MappingVerdict(Protocol):
    """An adapter's mapping check of its instance's products."""

    @property
    def ok(self) -> bool: ...
    def report(self) -> str:
        """The check's outcome for a person: each product, then each problem and its fix."""
        ...


class InboundFiles(Protocol):
    """One run's reading of a file reseller's inbound units (a file, or a batch under its
    closing file), for the neutral integration."""

    def lines(self, session: Session, unit: InboundUnit) -> Sequence[InboundLines] | None:
        """The unit's canonical lines, kind after kind in the order they are applied (in
        one transaction), or None for a unit that holds none."""
        ...

    def integrate_other(
        self, session: Session, unit: InboundUnit, *, file_id: int
    ) -> tuple[Any, int]:
        """Apply a unit that holds no lines (a list of the partner's categories, an
        acknowledgement...); its outcome and number of records."""
        ...


class ResellerAdapter(Protocol):
    """What an adapter module provides beside its ``RESELLER_TYPE`` (see
    ``docs/adding-a-reseller.md``). The settings object is the adapter's own model, a
    :class:`~reseller_sync.config.settings.InstanceSettings`."""

    RESELLER_TYPE: ResellerType

    def load_settings(self, path: Path | None = None) -> InstanceSettings: ...
    def check_product(
        self, session: Session, settings: Any, product_code: str
    ) -> ProductVerdict: ...
    def check_mappings(
        self, settings: Any, session: Session | None, products: Sequence[str] | None = None
    ) -> MappingVerdict:
        """Every mapping of the instance's products (or of ``products``); files only without
        a session."""
        ...

    def inbound_exchange(self) -> Any:
        """A file reseller's part of the hourly run (the inbound builder's
        ``InboundExchangeSteps``), imported only when a DAG is built."""
        ...

    def onboarding_steps(self) -> Sequence[Any]:
        """The onboarding DAG's steps (``reseller_sync.airflow.steps``), in order."""
        ...

    def onboarding_doc(self, product_code: str) -> str:
        """The onboarding DAG's documentation for one product, shown in the UI."""
        ...

    def nightly_exchange(self) -> Any:
        """A file reseller's part of the nightly run (the nightly builder's
        ``NightlyExchangeSteps``), imported only when a DAG is built."""
        ...

    def naming(self) -> ExchangeNaming:
        """A file reseller's file names, for the journal, the transport and the watch."""
        ...

    def expected_streams(self, settings: Any) -> Sequence[StreamExpectation]:
        """A file reseller's streams of files its dashboard lists, in order, with how late
        each may be (its contract's cadence and answer delay)."""
        ...

    def integration_settings(self, settings: Any) -> IntegrationSettings:
        """What the neutral integration needs of the instance's settings."""
        ...

    def inbound_files(self, settings: Any) -> InboundFiles:
        """A file reseller's reading of its inbound files, for one run."""
        ...


class UnknownResellerError(LookupError):
    def __init__(self, code: str) -> None:
        known = ", ".join(sorted(reseller_type_codes()))
        super().__init__(f"no reseller type {code!r} is registered (known: {known})")
        self.code = code


@cache
def _adapters() -> dict[str, ModuleType]:
    adapters: dict[str, ModuleType] = {}
    for module_name in ADAPTER_MODULES:
        module = importlib.import_module(module_name)
        declared = getattr(module, "RESELLER_TYPE", None)
        if not isinstance(declared, ResellerType):
            raise TypeError(f"{module_name}.RESELLER_TYPE is not a ResellerType")
        if declared.code in adapters:
            raise ValueError(f"reseller type {declared.code!r} is registered twice")
        adapters[declared.code] = module
    return adapters


def _registered() -> dict[str, ResellerType]:
    return {code: module.RESELLER_TYPE for code, module in _adapters().items()}


def adapter(code: str) -> ResellerAdapter:
    """The adapter module of a registered reseller type."""
    try:
        return cast("ResellerAdapter", _adapters()[code])
    except KeyError:
        raise UnknownResellerError(code) from None


def reseller_types() -> Iterator[ResellerType]:
    """Every registered reseller type, in the registry's order."""
    yield from _registered().values()


def reseller_type_codes() -> tuple[str, ...]:
    return tuple(_registered())


def reseller_type(code: str) -> ResellerType:
    try:
        return _registered()[code]
    except KeyError:
        raise UnknownResellerError(code) from None
