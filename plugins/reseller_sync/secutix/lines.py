"""The SecuTix reseller's TICKETS files as canonical ticket-state lines (``core.lines``), for
the neutral integration (``secutix-reseller-v1`` sections 7.1, 7.2, 9.1 and 10.2).

Each line of a verified TICKETS file (:func:`reseller_sync.secutix.reader.read_file`)
is the whole current state of one ticket, identified by its barcode: it becomes one
line of :data:`~reseller_sync.core.lines.TICKET_STATE_LINES` with the box office's ids.

What is checked here, each line in the order of section 9.1 point 3.4:

* the rules within the file (:mod:`reseller_sync.secutix.rules`, run as they are):
  ``T05``, ``T08``, ``T09``, ``T13`` (an order in several currencies), ``T19`` (columns
  that fit no kind), ``T20`` (``COMMISSION`` and ``REFUND_AMOUNT``), ``T12``
  (``STATE_CHANGED_AT`` before ``SOLD_AT``);
* against the box office: the product is known, on sale at the reseller and of a kind
  it may sell (``T14``); ``CURRENCY`` is the product's (``T13``); ``PERFORMANCE_CODE``,
  ``SEAT`` and ``PASS_VALIDITY_END`` fit the product's kind (``T19``); the performance
  is the product's (``T14``; an undated pass's line names none: it is the pass's single
  performance); the seat category and tariff exist, and are offered for that
  performance at the reseller: priced, the tariff among those offered (``T15``); the
  ``SEAT`` is in the venue plan, ``block/row/number`` a seat of a seated block, a
  ``block`` alone a free-placement block (``T16``); the seat category is the place's
  (``T15``).

The codes exchanged are the organiser's own (section 2): the identity, unless a
mapping overrides one (:class:`reseller_sync.secutix.mappings.ExchangedCodes`).

A line with a problem is left out of the lines and its first problem (in the spec's
order, :func:`reseller_sync.secutix.rules.spec_order`) reported, as a
:class:`~reseller_sync.secutix.errors.SecutixProblem` with its code, file, line, the
partner's column and value; ``T14`` to ``T16`` are mapping problems, the others
external (table 10.2). The first :data:`~reseller_sync.secutix.errors.MAX_PROBLEMS`
lines with a problem are listed, then how many more have one. Under section 9.1 point 3
a file with any problem is applied not at all: the integration refuses it whole.

What needs the tickets already applied (``T10``, ``T11``, ``T12`` against the stored
state, ``T22``), prices (``T17``) and the contingent (``T18``) is the integration's.
The ``CONTACT_*`` columns never reach this module: the reader drops them as it parses
(section 11).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.catalogue import ids_by_code, performance_prices, seats_of_blocks
from reseller_sync.boxoffice.models import (
    Block,
    Performance,
    Product,
    SeatCategory,
    SeatingConfiguration,
    Tariff,
    Zone,
)
from reseller_sync.core.lines import (
    LINE_INDEX,
    TICKET_STATE_LINES,
    LineBatch,
    LineProblems,
    LineTicketState,
)
from reseller_sync.domain.errors import ErrorCategory
from reseller_sync.domain.products import ProductKind
from reseller_sync.integration.problems import Rule
from reseller_sync.integration.settings import IntegrationSettings
from reseller_sync.mappings.repository import MappingRepository
from reseller_sync.secutix import rules
from reseller_sync.secutix.errors import MAX_PROBLEMS, Code, SecutixProblem
from reseller_sync.secutix.mappings import ExchangedCodes, MappingKind, load_mappings
from reseller_sync.secutix.reader import DataFile, ProblemLog
from reseller_sync.secutix.reseller_type import RESELLER_TYPE, ExchangedKind, exchanged_kind
from reseller_sync.secutix.settings import SecutixSettings
from reseller_sync.secutix.states import TicketState

COLUMNS: dict[str, str] = {
    "reseller_order_ref": "ORDER_NUMBER",
    "reseller_ticket_ref": "BAR_CODE",
    "barcode": "BAR_CODE",
    "performance_id": "PERFORMANCE_CODE",
    "seat_id": "SEAT",
    "block_id": "SEAT",
    "category_id": "SEATCAT_CODE",
    "tariff_id": "TARIFF_CODE",
    "reseller_tariff_ref": "TARIFF_CODE",
    "price": "PRICE",
    "commission": "COMMISSION",
    "currency": "CURRENCY",
    "beneficiary_first_name": "BENEFICIARY_FIRSTNAME",
    "beneficiary_last_name": "BENEFICIARY_LASTNAME",
    "point_of_sale_ref": "POINT_OF_SALE",
    "sold_at": "SOLD_AT",
    "state": "TICKET_STATE",
    "state_changed_at": "STATE_CHANGED_AT",
    "refund_amount": "REFUND_AMOUNT",
}
"""The TICKETS column for each canonical column, named in problems (section 7.1)."""

STATES: dict[str, str] = {
    TicketState.SOLD.value: LineTicketState.SOLD.value,
    TicketState.PRINTED.value: LineTicketState.PRINTED.value,
    TicketState.CANCELLED.value: LineTicketState.CANCELLED.value,
    TicketState.REFUNDED.value: LineTicketState.REFUNDED.value,
}
"""``TICKET_STATE`` → the canonical state (section 7.2)."""

_BY = "the SecuTix reseller adapter"


def integration_settings(settings: SecutixSettings) -> IntegrationSettings:
    """What the integration needs of the SecuTix reseller's settings."""
    return IntegrationSettings.of_instance(
        settings,
        name=settings.display_name,
        columns=COLUMNS,
        # Section 7.2, onboarding: the exchange has no test tickets. The reseller sells
        # real tickets and refunds them (REFUNDED, money back): nothing is ever a test
        # ticket, so no cancellation of one is to be accepted.
        cancels_test_tickets=False,
        rule_codes=RULE_CODES,
    )


RULE_CODES: dict[str, str] = {
    Rule.TRANSITION.value: Code.T10.value,
    Rule.IMMUTABLE.value: Code.T11.value,
    Rule.STATE_MOMENT.value: Code.T12.value,
    Rule.CURRENCY.value: Code.T13.value,
    Rule.UNPRICED.value: Code.T15.value,
    Rule.PRICE.value: Code.T17.value,
    Rule.PLACE.value: Code.T18.value,
    Rule.ORDER_SEEN.value: Code.T22.value,
}
"""The codes of section 10.2 for the rules the neutral integration checks against the box
office (section 9.1 point 3)."""


def ticket_state_lines(
    session: Session,
    settings: SecutixSettings,
    data_file: DataFile,
    repository: MappingRepository | None = None,
) -> LineBatch:
    """A verified TICKETS file as ticket-state lines: the lines that pass every check
    here, and the first problem of each other line (left out)."""
    frame = data_file.frame
    name = str(data_file.name)
    if frame.empty:
        return LineBatch(TICKET_STATE_LINES.empty(), source=frame, records=0)
    repository = repository if repository is not None else load_mappings()
    log = _RulesLog(name)
    rules.ticket_rules(data_file, log)
    resolver = _Resolver(session, settings, repository, name, frame)
    found = resolver.resolve()
    wrong = resolver.failed | frame.index.isin(log.lines())
    problems = _first_per_line([*log.problems, *resolver.problems], int(wrong.sum()))
    kept = frame.index[~wrong.to_numpy()]
    lines = _lines(frame.loc[kept], found.loc[kept])
    sorted_problems = LineProblems()
    for problem in problems:
        kind = sorted_problems.mapping
        if problem.code.category is not ErrorCategory.MAPPING:
            kind = sorted_problems.external
        kind.append(problem)
    return LineBatch(
        TICKET_STATE_LINES.check(lines, by=_BY),
        sorted_problems,
        source=frame,
        records=len(frame),
    )


class _RulesLog(ProblemLog):
    """The rules' problem log, which also keeps every line it names (it keeps the problems
    of the first :data:`MAX_PROBLEMS` lines of each check only)."""

    def __init__(self, file: str) -> None:
        super().__init__(file)
        self._lines: list[np.ndarray] = []

    def add_lines(
        self,
        code: Code,
        lines: np.ndarray,
        reason: str,
        *,
        column: str | None = None,
        values: pd.Series | None = None,
    ) -> None:
        self._lines.append(lines)
        super().add_lines(code, lines, reason, column=column, values=values)

    def lines(self) -> np.ndarray:
        return np.unique(np.concatenate(self._lines)) if self._lines else np.array([], int)


def _first_per_line(problems: list[SecutixProblem], failing: int) -> list[SecutixProblem]:
    """Each line's first problem in the spec's order, for the first :data:`MAX_PROBLEMS`
    lines; then how many lines more have one (``failing`` lines have one in all)."""
    first: dict[int, SecutixProblem] = {}
    for problem in sorted(problems, key=rules.spec_order):
        if problem.line and problem.line not in first:
            first[problem.line] = problem
    listed = sorted(first.values(), key=rules.spec_order)[:MAX_PROBLEMS]
    if failing > len(listed) and listed:
        more = failing - len(listed)
        listed.append(
            SecutixProblem(
                f"and {more} more line{'s' if more > 1 else ''} with a problem",
                listed[-1].file,
                0,
                code=listed[-1].code,
            )
        )
    return listed


def _lines(rows: pd.DataFrame, found: pd.DataFrame) -> pd.DataFrame:
    index = pd.Index(rows.index.to_numpy(dtype="int64"), name=LINE_INDEX)
    refund = rows["REFUND_AMOUNT"].where(rows["REFUND_AMOUNT"] != "")
    lines = pd.DataFrame(
        {
            "reseller_order_ref": rows["ORDER_NUMBER"].astype("str"),
            "reseller_ticket_ref": rows["BAR_CODE"].astype("str"),
            "barcode": rows["BAR_CODE"].astype("str"),
            "performance_id": found["performance_id"].astype("int64"),
            "seat_id": found["seat_id"].astype("Int64"),
            "block_id": found["block_id"].astype("Int64").where(found["seat_id"].isna()),
            "category_id": found["category_id"].astype("int64"),
            "tariff_id": found["tariff_id"].astype("int64"),
            "reseller_tariff_ref": rows["TARIFF_CODE"].astype("str"),
            "price": rows["PRICE"].astype("int64"),
            "commission": rows["COMMISSION"].astype("int64"),
            "currency": rows["CURRENCY"].astype("str"),
            "beneficiary_first_name": _optional(rows["BENEFICIARY_FIRSTNAME"]),
            "beneficiary_last_name": _optional(rows["BENEFICIARY_LASTNAME"]),
            "point_of_sale_ref": rows["POINT_OF_SALE"].astype("str"),
            "point_of_sale_name": pd.Series(pd.NA, index=rows.index, dtype="str"),
            "sold_at": _instants(rows["SOLD_AT"]),
            "state": _on_distinct(rows["TICKET_STATE"], lambda v: v.map(STATES)).astype("str"),
            "state_changed_at": _instants(rows["STATE_CHANGED_AT"]),
            "refund_amount": pd.to_numeric(refund).astype("Int64"),
        },
        index=rows.index,
    )
    return lines.set_axis(index)


def _on_distinct(
    values: pd.Series, resolve: Callable[[pd.Series], pd.DataFrame | pd.Series]
) -> Any:
    """``resolve`` applied to the distinct values only (a file repeats its codes), then
    spread back to ``values``' index; NA for a missing value."""
    positions, distinct = pd.factorize(values)
    resolved = resolve(pd.Series(distinct, dtype=values.dtype))
    spread = resolved.reindex(positions)
    return spread.set_axis(values.index)


def _seat_parts(seats: pd.Series) -> pd.DataFrame:
    """``SEAT`` values (formats checked by the reader) → ``block``, ``row``, ``number``; row
    and number NA for a block alone."""
    parts = seats.str.split("/", expand=True).reindex(columns=[0, 1, 2])
    parts.columns = pd.Index(["block", "row", "number"])
    return parts.astype("str")


def _found_in(keys: pd.DataFrame, table: pd.DataFrame) -> pd.Series:
    """Whether each row of ``keys`` (by index) is a row of ``table`` (same columns, no
    duplicate rows); a key with a missing value is not."""
    columns = list(keys.columns)
    table = table.astype({column: keys[column].dtype for column in columns})
    found = keys.reset_index(names=LINE_INDEX).merge(
        table.assign(_found=True), on=columns, how="left"
    )
    return pd.Series(
        found["_found"].fillna(False).astype(bool).to_numpy(), index=keys.index, dtype=bool
    )


def _optional(values: pd.Series) -> pd.Series:
    return values.where(values != "").astype("str")


def _instants(values: pd.Series) -> pd.Series:
    """Timestamps of section 5 (with their UTC offset) as UTC instants."""
    return pd.to_datetime(values, utc=True, format="ISO8601").astype("datetime64[us, UTC]")


# --------------------------------------------------------------------------- resolution

_RESOLVED_COLUMNS = (
    "PERFORMANCE_CODE",
    "PASS_VALIDITY_END",
    "SEATCAT_CODE",
    "TARIFF_CODE",
    "SEAT",
)
"""The columns a product's lines are resolved from."""
_FOUND = ("product_id", "performance_id", "category_id", "tariff_id", "block_id", "seat_id")


@dataclass(frozen=True)
class _Products:
    """The box-office products the file names: code → id, kind, configuration; the
    performances of each, and their prices."""

    products: pd.DataFrame
    """Indexed by product code: ``product_id``, ``configuration`` (its code or None)."""
    kinds: dict[str, ExchangedKind | None]
    """Product code → its kind in the contract; None when the reseller may not sell it."""
    performances: pd.DataFrame
    """``performance_id``, ``product_id``, ``code``, ``local_date`` (of a dated one),
    ``valid_until``."""
    prices: pd.DataFrame
    """``performance_id``, ``category_id``, ``tariff_id``, ``currency``."""


class _Resolver:
    """The box-office ids of each line, and at most one problem per line (the first check
    of section 9.1 point 3.4 that fails; a line that fails one is not checked further)."""

    def __init__(
        self,
        session: Session,
        settings: SecutixSettings,
        repository: MappingRepository,
        file_name: str,
        frame: pd.DataFrame,
    ) -> None:
        self.session = session
        self.settings = settings
        self.repository = repository
        self.file_name = file_name
        self.frame = frame
        self.problems: list[SecutixProblem] = []
        self.failed = pd.Series(False, index=frame.index)
        self.found = pd.DataFrame(
            {name: pd.Series(pd.NA, index=frame.index, dtype="Int64") for name in _FOUND}
        )

    # ------------------------------------------------------------------ reporting

    def fail(self, code: Code, mask: pd.Series, column: str | None, reason: str) -> None:
        """Report ``code`` on each line of ``mask`` not failed yet (the first
        :data:`MAX_PROBLEMS` of them); they all fail."""
        mask = mask.reindex(self.frame.index, fill_value=False).astype(bool) & ~self.failed
        if not mask.any():
            return
        shown = self.frame.index[mask][:MAX_PROBLEMS]
        values = self.frame.loc[shown, column] if column is not None else None
        for line in shown:
            value = None if values is None else str(values.loc[line]) or None
            self.problems.append(
                SecutixProblem(reason, self.file_name, int(line), column, value, code=code)
            )
        self.failed |= mask

    # ------------------------------------------------------------------ steps

    def resolve(self) -> pd.DataFrame:
        """The ids found for each line (NA where not found); the problems in
        :attr:`problems`."""
        codes = self._product_codes()
        known = self._products(codes)
        self._check_products(codes, known)
        for product, lines in self._by_product(codes):
            self._resolve_product(product, lines, known)
        return self.found

    def _product_codes(self) -> pd.Series:
        """Each line's box-office product code: the exchanged code, unless a product file
        maps another product to it, or maps that product to another code."""
        partner_products = self.repository.partner_products()
        renamed = set(partner_products) | set(partner_products.values())

        def resolve(exchanged: pd.Series) -> pd.Series:
            mapped = exchanged.map(partner_products).astype("str")
            return mapped.fillna(exchanged.where(~exchanged.isin(renamed))).astype("str")

        return _on_distinct(self.frame["PRODUCT_CODE"], resolve)

    def _products(self, codes: pd.Series) -> _Products:
        wanted = sorted(set(codes.dropna()))
        rows = self.session.execute(
            select(Product.id, Product.code, Product.kind, SeatingConfiguration.code)
            .outerjoin(SeatingConfiguration, Product.configuration_id == SeatingConfiguration.id)
            .where(Product.code.in_(wanted))
        ).all()
        products = pd.DataFrame(rows, columns=["product_id", "code", "kind", "configuration"])
        performances = pd.DataFrame(
            self.session.execute(
                select(
                    Performance.id,
                    Performance.product_id,
                    Performance.code,
                    Performance.starts_at,
                    Performance.valid_until,
                ).where(Performance.product_id.in_(products["product_id"].tolist()))
            ).all(),
            columns=["performance_id", "product_id", "code", "starts_at", "valid_until"],
        )
        dated = performances.groupby("product_id")["starts_at"].agg(
            lambda starts: bool(starts.notna().all()) and len(starts) > 0
        )
        kinds = {
            str(code): exchanged_kind(ProductKind(kind), dated=bool(dated.get(pid, False)))
            for pid, code, kind, _ in rows
        }
        performances["local_date"] = [
            None if pd.isna(start) else start.date().isoformat()
            for start in performances["starts_at"]
        ]
        performances["valid_until"] = [
            None if pd.isna(day) else day.isoformat() for day in performances["valid_until"]
        ]
        prices = performance_prices(self.session, performances["performance_id"].tolist())
        return _Products(products.set_index("code"), kinds, performances, prices)

    def _check_products(self, codes: pd.Series, known: _Products) -> None:
        """``T14`` for a product the reseller was never offered; ``T13`` for a currency
        other than the product's."""
        products = known.products
        exists = codes.isin(products.index)
        self.fail(
            Code.T14,
            ~exists,
            "PRODUCT_CODE",
            "no product of the box office has this code (and no mapping names it)",
        )
        refused = [code for code, kind in known.kinds.items() if kind is None]
        self.fail(
            Code.T14,
            exists & codes.isin(refused),
            "PRODUCT_CODE",
            f"this product is of a kind {RESELLER_TYPE.name} may not sell "
            f"({RESELLER_TYPE.contract} section 1): it was never offered",
        )
        on_sale = codes.isin(list(self.settings.product_codes))
        self.fail(
            Code.T14,
            exists & ~on_sale,
            "PRODUCT_CODE",
            f"this product is not on sale at {RESELLER_TYPE.name} (products of the settings): "
            "it was never offered",
        )
        ids = products["product_id"].to_dict()
        product_ids = _on_distinct(codes, lambda v: v.map(ids)).astype("Int64")
        currencies = (
            known.performances[["performance_id", "product_id"]]
            .merge(known.prices[["performance_id", "currency"]], on="performance_id")
            .drop(columns="performance_id")
            .drop_duplicates()
        )
        priced = product_ids.isin(currencies["product_id"])
        other = priced & ~_found_in(
            pd.DataFrame({"product_id": product_ids, "currency": self.frame["CURRENCY"]}),
            currencies,
        )
        self.fail(Code.T13, other, "CURRENCY", "CURRENCY is not the product's currency")
        self.found["product_id"] = product_ids.where(~self.failed)

    def _by_product(self, codes: pd.Series) -> Iterator[tuple[str, pd.Index]]:
        alive = codes[~self.failed]
        for product, group in alive.groupby(alive, sort=True):
            yield str(product), group.index

    def _resolve_product(self, product: str, lines: pd.Index, known: _Products) -> None:
        row = known.products.loc[product]
        kind = known.kinds[product]
        assert kind is not None, "a product of a kind the reseller may not sell has failed"
        product_id = int(row["product_id"])
        configuration = row["configuration"] if isinstance(row["configuration"], str) else None
        rows = self.frame.loc[lines, list(_RESOLVED_COLUMNS)]
        self._check_columns(kind, rows)

        performances = known.performances[known.performances["product_id"] == product_id]
        performance = self._performance(kind, rows, performances)
        self.found.loc[lines, "performance_id"] = performance.where(~self.failed.loc[lines])
        self._check_validity_end(kind, rows, performance, performances)

        codes = ExchangedCodes.of(self.repository, product)
        self._categories_and_tariffs(product, codes, configuration, rows, known)
        if kind.seated:
            self._places(product, codes, configuration, rows)

    def _check_columns(self, kind: ExchangedKind, rows: pd.DataFrame) -> None:
        """``T19``: the columns the product's kind asks for (section 7.1)."""
        performance = rows["PERFORMANCE_CODE"] != ""
        seat = rows["SEAT"] != ""
        validity = rows["PASS_VALIDITY_END"] != ""
        what = f"a {kind.value} product's line"
        if kind.dated:
            self.fail(
                Code.T19, ~performance, "PERFORMANCE_CODE", f"{what} needs a PERFORMANCE_CODE"
            )
        else:
            self.fail(Code.T19, performance, "PERFORMANCE_CODE", f"{what} has no PERFORMANCE_CODE")
        if kind.seated:
            self.fail(Code.T19, ~seat, "SEAT", f"{what} needs a SEAT")
            self.fail(Code.T19, validity, "PASS_VALIDITY_END", f"{what} has no PASS_VALIDITY_END")
        else:
            self.fail(Code.T19, seat, "SEAT", f"{what} has no SEAT")
            self.fail(Code.T19, ~validity, "PASS_VALIDITY_END", f"{what} needs a PASS_VALIDITY_END")

    def _performance(
        self, kind: ExchangedKind, rows: pd.DataFrame, performances: pd.DataFrame
    ) -> pd.Series:
        """``T14``: each line's performance id (NA where it fails)."""
        if not kind.dated:
            if len(performances) == 1:
                return pd.Series(int(performances["performance_id"].iloc[0]), index=rows.index)
            self.fail(
                Code.T14,
                pd.Series(True, index=rows.index),
                "PRODUCT_CODE",
                f"this undated pass has {len(performances)} performances in the box office, "
                "where it needs exactly one (its validity)",
            )
            return pd.Series(pd.NA, index=rows.index, dtype="Int64")
        by_code = dict(zip(performances["code"], performances["performance_id"], strict=True))
        ids = _on_distinct(rows["PERFORMANCE_CODE"], lambda v: v.map(by_code))
        self.fail(
            Code.T14,
            ids.isna(),
            "PERFORMANCE_CODE",
            "no performance of the product has this code",
        )
        return ids.astype("Int64")

    def _check_validity_end(
        self,
        kind: ExchangedKind,
        rows: pd.DataFrame,
        performance: pd.Series,
        performances: pd.DataFrame,
    ) -> None:
        """``T19``: a pass's ``PASS_VALIDITY_END`` is its performance's local date (a
        ``VISIT_PASS``), or the end of its validity (an ``UNDATED_PASS``, when it has one)."""
        if kind.seated:
            return
        column = "local_date" if kind is ExchangedKind.VISIT_PASS else "valid_until"
        by_id = dict(zip(performances["performance_id"], performances[column], strict=True))
        expected = _on_distinct(performance, lambda v: v.map(by_id)).astype("str")
        differs = expected.notna() & (expected != rows["PASS_VALIDITY_END"])
        what = (
            "the performance's local date"
            if kind is ExchangedKind.VISIT_PASS
            else "the last day of the pass's validity"
        )
        self.fail(
            Code.T19,
            differs.fillna(False).astype(bool),
            "PASS_VALIDITY_END",
            f"PASS_VALIDITY_END is not {what}",
        )

    def _categories_and_tariffs(
        self,
        product: str,
        codes: ExchangedCodes,
        configuration: str | None,
        rows: pd.DataFrame,
        known: _Products,
    ) -> None:
        """``T15``: the seat category and tariff exist, and are offered for the performance
        at the reseller (priced, the tariff among those offered)."""
        category_codes = ids_by_code(self.session, SeatCategory)
        tariff_codes = ids_by_code(self.session, Tariff)
        categories = _on_distinct(
            rows["SEATCAT_CODE"],
            lambda v: codes.to_box_office(MappingKind.SEAT_CATEGORY, v, configuration),
        )
        tariffs = _on_distinct(
            rows["TARIFF_CODE"], lambda v: codes.to_box_office(MappingKind.TARIFF, v)
        )
        category_ids = _on_distinct(categories, lambda v: v.map(category_codes)).astype("Int64")
        tariff_ids = _on_distinct(tariffs, lambda v: v.map(tariff_codes)).astype("Int64")
        self.fail(
            Code.T15,
            category_ids.isna(),
            "SEATCAT_CODE",
            "no seat category of the box office has this code (and no mapping names it)",
        )
        self.fail(
            Code.T15,
            tariff_ids.isna(),
            "TARIFF_CODE",
            "no tariff of the box office has this code (and no mapping names it)",
        )
        performance = self.found.loc[rows.index, "performance_id"]
        wanted = pd.DataFrame(
            {"performance_id": performance, "category_id": category_ids, "tariff_id": tariff_ids}
        )
        prices = known.prices[["performance_id", "category_id", "tariff_id"]]
        category_offered = _found_in(
            wanted[["performance_id", "category_id"]],
            prices[["performance_id", "category_id"]].drop_duplicates(),
        )
        tariff_priced = _found_in(wanted, prices.drop_duplicates())
        offered = set(self.settings.tariffs_offered_for(product))
        self.fail(
            Code.T15,
            ~category_offered,
            "SEATCAT_CODE",
            "this seat category is not offered for the product and performance",
        )
        self.fail(
            Code.T15,
            ~tariff_priced | ~tariffs.isin(list(offered)),
            "TARIFF_CODE",
            "this tariff is not offered for the product and performance at "
            f"{RESELLER_TYPE.name} (tariffs_offered: {', '.join(sorted(offered))})",
        )
        self.found.loc[rows.index, "category_id"] = category_ids
        self.found.loc[rows.index, "tariff_id"] = tariff_ids

    def _places(
        self, product: str, codes: ExchangedCodes, configuration: str | None, rows: pd.DataFrame
    ) -> None:
        """``T16``: the ``SEAT`` in the product's venue plan; then ``T15``: the seat
        category is the place's."""
        lines = rows.index[~self.failed.loc[rows.index]]
        if lines.empty:
            return
        seat = _on_distinct(rows.loc[lines, "SEAT"], _seat_parts)
        seated = seat["row"].notna()
        if configuration is None:
            self.fail(
                Code.T16,
                pd.Series(True, index=lines),
                "SEAT",
                f"product {product} has no seating configuration in the box office",
            )
            return
        blocks = pd.DataFrame(
            self.session.execute(
                select(Block.id, Zone.code, Block.code, Block.free_placement, Block.category_id)
                .join(Zone, Block.zone_id == Zone.id)
                .join(SeatingConfiguration, Zone.configuration_id == SeatingConfiguration.id)
                .where(SeatingConfiguration.code == configuration)
            ).all(),
            columns=["block_id", "zone", "block", "free_placement", "block_category_id"],
        )
        target = _on_distinct(
            seat["block"].astype("str"),
            lambda v: codes.blocks_to_box_office(v, configuration, blocks[["zone", "block"]]),
        )
        located = (
            target.reset_index(names=LINE_INDEX)
            .merge(blocks, on=["zone", "block"], how="left")
            .set_index(LINE_INDEX)
        )
        self.fail(
            Code.T16,
            located["block_id"].isna(),
            "SEAT",
            f"no block of configuration {configuration} has this code (and no mapping names it)",
        )
        free = located["free_placement"].fillna(False).astype(bool)
        self.fail(
            Code.T16,
            located["block_id"].notna() & free & seated,
            "SEAT",
            "this block is free placement: its SEAT is the block alone",
        )
        self.fail(
            Code.T16,
            located["block_id"].notna() & ~free & ~seated,
            "SEAT",
            "this block is seated: its SEAT is block/row/number",
        )
        to_seat = seated & ~self.failed.loc[lines]
        wanted = seat.loc[to_seat, ["row", "number"]].assign(
            block_id=located.loc[to_seat, "block_id"].astype("int64")
        )
        seats = seats_of_blocks(self.session, wanted["block_id"].unique().tolist())
        found_seats = (
            wanted.reset_index(names=LINE_INDEX)
            .merge(seats, on=["block_id", "row", "number"], how="left")
            .set_index(LINE_INDEX)
        )
        self.fail(
            Code.T16,
            found_seats["seat_id"].isna(),
            "SEAT",
            "no such seat in this block of the venue plan",
        )
        place_category = (
            found_seats["category_id"]
            .reindex(lines)
            .fillna(located["block_category_id"])
            .astype("Int64")
        )
        category = self.found.loc[lines, "category_id"]
        self.fail(
            Code.T15,
            (place_category != category).fillna(False).astype(bool),
            "SEATCAT_CODE",
            "this seat category is not the place's in the box office",
        )
        alive = lines[~self.failed.loc[lines]]
        self.found.loc[alive, "block_id"] = located.loc[alive, "block_id"].astype("Int64")
        self.found.loc[alive, "seat_id"] = (
            found_seats["seat_id"].reindex(alive).astype("Int64")
            if not found_seats.empty
            else pd.Series(pd.NA, index=alive, dtype="Int64")
        )
