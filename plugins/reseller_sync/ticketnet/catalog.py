"""The rules Ticketnet applies to a CATALOG file beyond its syntax (``ticketnet-exchange-v1``
sections 8.1 and 9.2 point 4), so that the organiser refuses to send what Ticketnet would
refuse, and Ticketnet's side (the sandbox) answers with the same codes.

* ``C04``: a currency other than ``EUR``;
* ``C05``: sale dates invalid: ``sale_ends_at`` not after ``sale_starts_at``, or after
  the performance's ``starts_at``;
* ``C06``: the records of one performance (``org_event_code``,
  ``org_performance_code``) disagree on an event or performance column, or repeat a
  price level × price type.

The table is a CATALOG file's records as the codec reads or writes them (strings whose
syntax is valid); a CATALOG file is applied whole or not at all, so any problem refuses
the file. Record numbers count from 1 in the table's order.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from reseller_sync.ticketnet.checks import ProblemLog
from reseller_sync.ticketnet.errors import Code, TicketnetProblem

PERFORMANCE_KEY = ("org_event_code", "org_performance_code")
PERFORMANCE_COLUMNS = ("event_name", "event_kind", "starts_at", "venue_code", "venue_name", "city")
"""The event and performance columns every record of one performance repeats."""
PRICE_KEY = ("price_level", "price_type")


def catalog_problems(table: pa.Table, *, file: str) -> list[TicketnetProblem]:
    """Every ``C04``, ``C05`` and ``C06`` problem of a CATALOG file, in record order."""
    log = ProblemLog()
    if table.num_rows == 0:
        return []
    frame = table.to_pandas()
    frame.index = pd.RangeIndex(1, len(frame) + 1)

    for record, value in frame.loc[frame["currency"] != "EUR", "currency"].items():
        log.add(
            Code.C04,
            "the currency must be EUR",
            file=file,
            record=record,
            column="currency",
            value=value,
        )

    starts = _instants(frame["starts_at"])
    sale_starts = _instants(frame["sale_starts_at"])
    sale_ends = _instants(frame["sale_ends_at"])
    for record in frame.index[sale_ends <= sale_starts]:
        log.add(
            Code.C05,
            "the sale ends before it starts (sale_ends_at not after sale_starts_at)",
            file=file,
            record=record,
            column="sale_ends_at",
            value=frame.at[record, "sale_ends_at"],
        )
    for record in frame.index[sale_ends > starts]:
        log.add(
            Code.C05,
            "the sale ends after the performance starts (sale_ends_at after starts_at)",
            file=file,
            record=record,
            column="sale_ends_at",
            value=frame.at[record, "sale_ends_at"],
        )

    groups = frame.groupby(list(PERFORMANCE_KEY), sort=False)
    first_records = groups["org_event_code"].transform(lambda rows: rows.index[0])
    for column in PERFORMANCE_COLUMNS:
        first = groups[column].transform("first")
        for record in frame.index[frame[column] != first]:
            log.add(
                Code.C06,
                f"{column} differs from the first record of performance "
                f"{frame.at[record, 'org_performance_code']} (record "
                f"{first_records[record]})",
                file=file,
                record=record,
                column=column,
                value=frame.at[record, column],
            )
    repeated = frame.duplicated([*PERFORMANCE_KEY, *PRICE_KEY])
    for record in frame.index[repeated]:
        log.add(
            Code.C06,
            f"price level {frame.at[record, 'price_level']} × price type "
            f"{frame.at[record, 'price_type']} appears twice for performance "
            f"{frame.at[record, 'org_performance_code']}",
            file=file,
            record=record,
            column="price_type",
            value=frame.at[record, "price_type"],
        )
    return sorted(log.problems(), key=lambda problem: (problem.line or 0, problem.code))


def _instants(values: pd.Series) -> pd.Series:
    """Timestamps with their UTC offsets, as instants (UTC)."""
    return pd.to_datetime(values, utc=True, format="ISO8601")
