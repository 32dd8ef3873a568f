"""Rules across the lines of one file from the reseller (``secutix-reseller-v1``
sections 7.1, 7.3, 7.4 and 9.1), once the file is verified (section 6).

What needs the organiser's box office (its OFFER, mappings, venue plan,
contingent and prices: ``T13`` against the product's currency, ``T14`` to
``T18``, ``T19`` against the product's kind) is not checked here. What can be
checked from the file alone is:

* TICKETS, in the spec's order: ``T05`` (``FILE_NUMBER`` is the name's),
  ``T08`` (a barcode twice), then line by line ``T09`` (unknown state),
  ``T13`` (an order's tickets in several currencies), ``T19`` (the columns
  fit no product kind), ``T20`` (``REFUND_AMOUNT`` and ``COMMISSION``),
  ``T12`` (``STATE_CHANGED_AT`` before ``SOLD_AT``);
* STOCK: ``T21`` (section 7.3's consistency);
* RESULT: ``T23`` (the lines section 7.4 asks for).

Problems are returned in the spec's order (:func:`spec_order`): the first
one is the code the organiser reports for the file.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from reseller_sync.secutix.errors import RESULT_CODES, Code, SecutixProblem
from reseller_sync.secutix.reader import DataFile, ProblemLog, utc_seconds
from reseller_sync.secutix.states import TicketState

FILE_WIDE = (Code.T05, Code.T08)
"""TICKETS checks over the whole file, before the line by line ones (section 9.1 3)."""
LINE_ORDER = (
    Code.T09,
    Code.T13,
    Code.T14,
    Code.T19,
    Code.T15,
    Code.T16,
    Code.T20,
    Code.T10,
    Code.T11,
    Code.T12,
    Code.T22,
    Code.T17,
)
"""The line by line TICKETS checks in the order of section 9.1 point 3.4."""
END_OF_FILE = (Code.T18,)
"""The checks at the end of a TICKETS file (section 9.1 point 3.5)."""

_STATES = [state.value for state in TicketState]


def _numbers(values: pd.Series) -> pd.Series:
    """Integers of section 5 (any number of digits: past int64 they become floats)."""
    return pd.to_numeric(values)


def spec_order(problem: SecutixProblem) -> tuple[int, int, int]:
    """Sort key putting a TICKETS file's problems in the order the spec checks them."""
    if problem.code in FILE_WIDE:
        return (FILE_WIDE.index(problem.code), problem.line or 0, 0)
    if problem.code in END_OF_FILE:
        return (len(FILE_WIDE) + 1, problem.line or 0, 0)
    rank = LINE_ORDER.index(problem.code) if problem.code in LINE_ORDER else len(LINE_ORDER)
    return (len(FILE_WIDE), problem.line or 0, rank)


def check_file(data_file: DataFile) -> ProblemLog:
    """The rules of the file's type over a verified file; :meth:`ProblemLog.listed` with
    :func:`spec_order` gives its problems in the spec's order."""
    log = ProblemLog(str(data_file.name))
    checks = {"TICKETS": ticket_rules, "STOCK": stock_rules, "RESULT": result_rules}
    checks[data_file.name.type.value](data_file, log)
    return log


def ticket_rules(data_file: DataFile, log: ProblemLog) -> None:
    frame = data_file.frame
    if frame.empty:
        return
    number = data_file.name.number
    lines = frame.index.to_numpy()

    other_number = frame["FILE_NUMBER"] != str(int(number or 0))
    log.add_lines(
        Code.T05,
        lines[other_number.to_numpy()],
        f"FILE_NUMBER is not {number}, the file name's",
        column="FILE_NUMBER",
        values=frame["FILE_NUMBER"],
    )
    twice = frame["BAR_CODE"].duplicated(keep="first")
    log.add_lines(
        Code.T08,
        lines[twice.to_numpy()],
        "the barcode appears on an earlier line of the file",
        column="BAR_CODE",
        values=frame["BAR_CODE"],
    )

    state = frame["TICKET_STATE"]
    unknown = ~state.isin(_STATES)
    log.add_lines(
        Code.T09,
        lines[unknown.to_numpy()],
        "TICKET_STATE is not SOLD, PRINTED, CANCELLED or REFUNDED",
        column="TICKET_STATE",
        values=state,
    )

    first_currency = frame.groupby("ORDER_NUMBER", sort=False)["CURRENCY"].transform("first")
    mixed = frame["CURRENCY"] != first_currency
    log.add_lines(
        Code.T13,
        lines[mixed.to_numpy()],
        "the order's other tickets are in another currency",
        column="CURRENCY",
        values=frame["CURRENCY"],
    )

    performance = frame["PERFORMANCE_CODE"] != ""
    seat = frame["SEAT"] != ""
    validity = frame["PASS_VALIDITY_END"] != ""
    event = performance & seat & ~validity
    visit_pass = performance & ~seat & validity
    undated_pass = ~performance & ~seat & validity
    no_kind = ~(event | visit_pass | undated_pass)
    log.add_lines(
        Code.T19,
        lines[no_kind.to_numpy()],
        "PERFORMANCE_CODE, SEAT and PASS_VALIDITY_END fit no product kind: an event has a "
        "performance and a seat, a visit pass a performance and a validity end, an undated "
        "pass a validity end alone",
    )

    price = frame["PRICE"].astype("int64")
    commission = frame["COMMISSION"].astype("int64")
    refund_given = frame["REFUND_AMOUNT"] != ""
    refund = frame["REFUND_AMOUNT"].where(refund_given, "0").astype("int64")
    refunded = state == TicketState.REFUNDED.value
    for mask, column, reason in (
        (commission > price, "COMMISSION", "COMMISSION is above PRICE"),
        (refunded & ~refund_given, "REFUND_AMOUNT", "a REFUNDED ticket needs REFUND_AMOUNT"),
        (
            refund_given & ~refunded & ~unknown,
            "REFUND_AMOUNT",
            "REFUND_AMOUNT is given only for a REFUNDED ticket",
        ),
        (refund_given & (refund > price), "REFUND_AMOUNT", "REFUND_AMOUNT is above PRICE"),
    ):
        log.add_lines(Code.T20, lines[mask.to_numpy()], reason, column=column)

    early = utc_seconds(frame["STATE_CHANGED_AT"]) < utc_seconds(frame["SOLD_AT"])
    log.add_lines(
        Code.T12,
        lines[early],
        "STATE_CHANGED_AT is before SOLD_AT",
        column="STATE_CHANGED_AT",
        values=frame["STATE_CHANGED_AT"],
    )


def stock_rules(data_file: DataFile, log: ProblemLog) -> None:
    """``T21``: section 7.3's consistency."""
    frame = data_file.frame
    if frame.empty:
        return
    lines = frame.index.to_numpy()
    given, sold, available = (_numbers(frame[c]) for c in ("GIVEN", "SOLD", "AVAILABLE"))
    log.add_lines(
        Code.T21,
        lines[(given != sold + available).to_numpy()],
        "GIVEN is not SOLD + AVAILABLE",
        column="AVAILABLE",
    )
    key = ["PRODUCT_CODE", "PERFORMANCE_CODE", "SEATCAT_CODE"]
    log.add_lines(
        Code.T21,
        lines[frame.duplicated(subset=key).to_numpy()],
        "this product, performance and seat category is on an earlier line",
    )
    for column in ("TICKETS_FILE_NUMBER", "SNAPSHOT_AT"):
        other = frame[column] != frame[column].iloc[0]
        log.add_lines(
            Code.T21,
            lines[other.to_numpy()],
            f"{column} differs from the first line's",
            column=column,
            values=frame[column],
        )


def result_rules(data_file: DataFile, log: ProblemLog) -> None:
    """``T23``: the lines of section 7.4 (a whole-file refusal, or lines 1 to N in order)."""
    frame = data_file.frame
    if frame.empty:
        return
    lines = frame.index.to_numpy()
    number = _numbers(frame["LINE_NUMBER"]).to_numpy()
    status = frame["STATUS"]
    code = frame["ERROR_CODE"]
    whole = number == 0
    if whole.any():
        if len(frame) != 1:
            log.add_lines(
                Code.T23,
                lines[whole],
                "a line 0 (the whole file refused) must be the RESULT's only line",
                column="LINE_NUMBER",
            )
        elif status.iloc[0] != "KO":
            log.add(
                Code.T23,
                "line 0 answers a file refused whole: its STATUS is KO",
                line=1,
                column="STATUS",
            )
    else:
        out_of_order = number != np.arange(1, len(frame) + 1)
        log.add_lines(
            Code.T23,
            lines[out_of_order],
            "LINE_NUMBER must number the lines answered 1, 2, 3... in order",
            column="LINE_NUMBER",
            values=frame["LINE_NUMBER"],
        )
    ko = status == "KO"
    log.add_lines(
        Code.T23,
        lines[(ko & (code == "")).to_numpy()],
        "a KO line needs its ERROR_CODE",
        column="ERROR_CODE",
    )
    log.add_lines(
        Code.T23,
        lines[(~ko & (code != "")).to_numpy()],
        "an OK line has no ERROR_CODE",
        column="ERROR_CODE",
        values=code,
    )
    unknown = (code != "") & ~code.isin([c.value for c in RESULT_CODES])
    log.add_lines(
        Code.T23,
        lines[unknown.to_numpy()],
        "ERROR_CODE is not a code of section 10.1",
        column="ERROR_CODE",
        values=code,
    )
    q06 = code == Code.Q06.value
    given = frame["AVAILABLE"] != ""
    log.add_lines(
        Code.T23,
        lines[(q06 & ~given).to_numpy()],
        "a Q06 line needs AVAILABLE",
        column="AVAILABLE",
    )
    log.add_lines(
        Code.T23,
        lines[(~q06 & given).to_numpy()],
        "AVAILABLE is given only with Q06",
        column="AVAILABLE",
        values=frame["AVAILABLE"],
    )
