"""Reading the organiser's files as the reseller does (``secutix-reseller-v1`` sections 6,
8, 9.2 and 10.1): OFFER, CONTINGENT and WITHDRAW.

:func:`read_organiser_file` refuses a file whole, as section 9.2 point 2 says: its
number already processed (``F03``), then the verification of section 6 with the
reseller's codes (``F01`` for the control file, the SHA-256 and the line count,
``F02`` for the syntax and the fields). It reuses the organiser's reader, whose
``T01`` to ``T04`` are renamed.

Then each line is applied or refused on its own. :func:`offer_verdicts` and
:func:`places_verdicts` give each line's code (``""`` when the checks here pass), the
first in this order:

* OFFER: ``O01`` (a kind the reseller may not sell), ``O02`` (performance and pass
  validity columns that do not fit the kind, or a product's kind that changes),
  ``O03`` (a currency other than ``EUR`` or ``CHF``, or not the product's), ``O04``
  (``SALES_END`` not after ``SALES_START``, or after a dated product's
  ``PERFORMANCE_START``);
* CONTINGENT and WITHDRAW, against the OFFER lines the reseller has applied:
  ``Q01`` (product and performance not offered), ``Q08`` (``SEAT`` that does not fit
  the product's kind, or a seat with a ``QUANTITY`` other than 1), ``Q02`` (seat
  category not offered for them).

The product's kind and currency are the ones the reseller has applied before
(``known``), else those of the product's first line in the file that passes ``O01``
and the column checks of ``O02``. What needs the reseller's venue plan and contingent
(``Q03`` to ``Q07``, and ``Q02`` for a place's own category) is not checked here.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Final

import numpy as np
import pandas as pd

from reseller_sync.secutix.errors import Code
from reseller_sync.secutix.names import ORGANISER_SEQUENCE, FileName, NameKind
from reseller_sync.secutix.reader import DataFile, ProblemLog, utc_seconds, verify_file

RESELLER_CODES: Final[Mapping[Code, Code]] = {
    Code.T01: Code.F01,
    Code.T02: Code.F01,
    Code.T03: Code.F01,
    Code.T04: Code.F02,
}
"""The organiser's verification codes (10.2) and the reseller's for the same step (10.1)."""

KINDS: Final = ("EVENT", "COMPETITION", "VISIT_PASS", "UNDATED_PASS")
DATED_KINDS: Final = ("EVENT", "COMPETITION", "VISIT_PASS")
SEATED_KINDS: Final = ("EVENT", "COMPETITION")
"""Kinds whose places have a ``SEAT``: a seat, or a free-placement block."""
CURRENCIES: Final = ("EUR", "CHF")

VERDICT_COLUMNS: Final = ("ERROR_CODE", "MESSAGE")


def read_organiser_file(
    name: str, data: bytes, control: bytes, *, processed: Collection[int] = ()
) -> DataFile:
    """Verify an OFFER, CONTINGENT or WITHDRAW file as the reseller does.

    ``processed``: the organiser's file numbers the reseller has processed already.
    Raises :class:`~reseller_sync.secutix.errors.FileRefusedError` (``F03``, ``F01``
    or ``F02``): the file is refused whole, answered by a RESULT with line 0.
    """
    parsed = FileName.parse(name)
    if parsed is None or parsed.kind is not NameKind.DATA or parsed.partial:
        raise ValueError(f"not the name of a data file: {name!r}")
    if parsed.type not in ORGANISER_SEQUENCE:
        raise ValueError(f"the reseller does not read {parsed.type} files")
    log = ProblemLog(name, codes=RESELLER_CODES)
    if parsed.number in processed:
        log.add(Code.F03, f"file number {parsed.number} was already processed")
        raise log.refuse()
    return verify_file(name, data, control, log)


def _verdicts(frame: pd.DataFrame, checks: list[tuple[pd.Series, Code, str]]) -> pd.DataFrame:
    """Each line's first failing check (in ``checks``' order): its code and message."""
    masks = [np.asarray(mask, dtype=bool) for mask, _, _ in checks]
    codes = np.select(masks, [code.value for _, code, _ in checks], default="")
    messages = np.select(masks, [message for _, _, message in checks], default="")
    return pd.DataFrame(
        {"ERROR_CODE": codes.astype(str), "MESSAGE": messages.astype(str)}, index=frame.index
    )


def _per_product(
    frame: pd.DataFrame, column: str, usable: pd.Series, known: Mapping[str, str]
) -> pd.Series:
    """The product's value of ``column``: ``known``, else its first ``usable`` line's."""
    first = frame.loc[usable].groupby("PRODUCT_CODE", sort=False)[column].first()
    mapping = {**first.to_dict(), **known}
    values = frame["PRODUCT_CODE"].map(mapping).astype(object)
    return values.where(values.notna(), "")


def offer_verdicts(
    frame: pd.DataFrame,
    *,
    known_kinds: Mapping[str, str] | None = None,
    known_currencies: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """``ERROR_CODE`` and ``MESSAGE`` of each line of a verified OFFER frame (``""``: OK).

    ``known_kinds`` and ``known_currencies``: product code -> kind or currency the
    reseller has applied from earlier OFFER files.
    """
    kind = frame["PRODUCT_KIND"]
    performance = frame["PERFORMANCE_CODE"] != ""
    start = frame["PERFORMANCE_START"] != ""
    validity_start = frame["PASS_VALIDITY_START"] != ""
    validity_end = frame["PASS_VALIDITY_END"] != ""
    dated = kind.isin(DATED_KINDS)
    undated = kind == "UNDATED_PASS"
    wrong_kind = ~kind.isin(KINDS)
    wrong_columns = (dated & (~performance | ~start | validity_start | validity_end)) | (
        undated & (performance | start | ~validity_end)
    )
    product_kind = _per_product(
        frame, "PRODUCT_KIND", ~wrong_kind & ~wrong_columns, known_kinds or {}
    )
    kind_changes = kind != product_kind
    product_currency = _per_product(
        frame, "CURRENCY", frame["CURRENCY"].isin(CURRENCIES), known_currencies or {}
    )
    currency = frame["CURRENCY"]
    wrong_currency = ~currency.isin(CURRENCIES) | (currency != product_currency)
    sales_start, sales_end = utc_seconds(frame["SALES_START"]), utc_seconds(frame["SALES_END"])
    performance_at = utc_seconds(frame["PERFORMANCE_START"].where(start, frame["SALES_END"]))
    wrong_sales = (sales_end <= sales_start) | (
        (dated & start).to_numpy() & (sales_end > performance_at)
    )
    return _verdicts(
        frame,
        [
            (wrong_kind, Code.O01, "product kind the reseller may not sell"),
            (
                wrong_columns,
                Code.O02,
                "PERFORMANCE_CODE, PERFORMANCE_START and the pass validity dates do not fit "
                "the product kind",
            ),
            (kind_changes, Code.O02, "the product's kind changes"),
            (wrong_currency, Code.O03, "currency not EUR or CHF, or not the product's"),
            (
                pd.Series(wrong_sales, index=frame.index),
                Code.O04,
                "SALES_END must be after SALES_START, and not after PERFORMANCE_START",
            ),
        ],
    )


def places_verdicts(frame: pd.DataFrame, offer: pd.DataFrame | None) -> pd.DataFrame:
    """``ERROR_CODE`` and ``MESSAGE`` of each line of a verified CONTINGENT or WITHDRAW
    frame, against ``offer``: the OFFER lines the reseller has applied (at least
    ``PRODUCT_CODE``, ``PRODUCT_KIND``, ``PERFORMANCE_CODE``, ``SEATCAT_CODE``).

    With ``offer`` None, only what the file shows alone: a seat whose ``QUANTITY`` is
    not 1 (``Q08``)."""
    is_seat = frame["SEAT"].str.contains("/", regex=False)
    wrong_quantity = is_seat & (frame["QUANTITY"] != "1")
    seat_message = "SEAT does not fit the product kind (a seat's QUANTITY is 1)"
    if offer is None:
        return _verdicts(frame, [(wrong_quantity, Code.Q08, seat_message)])
    performances = offer.drop_duplicates(["PRODUCT_CODE", "PERFORMANCE_CODE"])
    pair = pd.MultiIndex.from_frame(frame[["PRODUCT_CODE", "PERFORMANCE_CODE"]])
    offered = pair.isin(
        pd.MultiIndex.from_frame(performances[["PRODUCT_CODE", "PERFORMANCE_CODE"]])
    )
    kinds = offer.drop_duplicates("PRODUCT_CODE").set_index("PRODUCT_CODE")["PRODUCT_KIND"]
    kind = frame["PRODUCT_CODE"].map(kinds)
    seat = frame["SEAT"] != ""
    seated = kind.isin(SEATED_KINDS)
    wrong_seat = (seated & ~seat) | (~seated & seat) | wrong_quantity
    triple = ["PRODUCT_CODE", "PERFORMANCE_CODE", "SEATCAT_CODE"]
    categories = pd.MultiIndex.from_frame(offer[triple].drop_duplicates())
    category_offered = pd.MultiIndex.from_frame(frame[triple]).isin(categories)
    return _verdicts(
        frame,
        [
            (pd.Series(~offered, index=frame.index), Code.Q01, "unknown product or performance"),
            (wrong_seat, Code.Q08, seat_message),
            (
                pd.Series(~category_offered, index=frame.index),
                Code.Q02,
                "seat category not offered for the product and performance",
            ),
        ],
    )
