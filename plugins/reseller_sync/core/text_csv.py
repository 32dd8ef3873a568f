"""Parsing a partner's CSV data (RFC 4180 quoting, a header already read) into text
columns with Arrow's multi-threaded reader, whatever the partner: every value a string,
nothing converted, no empty line skipped, so that each contract's own checks see the
fields as written."""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
import pyarrow.csv as pacsv

BLOCK_SIZE = 4 * 1024 * 1024
"""Arrow's CSV block: big enough for the threads to share the work, small in memory."""


def parse_text_columns(
    data: pa.Buffer,
    column_names: Sequence[str],
    kept: Sequence[str],
    *,
    delimiter: str,
    check_utf8: bool = True,
) -> pa.Table | None:
    """The records of ``data`` (the text after the header) as a table of the ``kept``
    columns, all strings, named by ``column_names`` in the order of the header; None when
    Arrow cannot parse them (a quote out of place, a record with too many fields...).
    ``check_utf8=False`` when the caller has validated the encoding already."""
    try:
        return pacsv.read_csv(
            pa.BufferReader(data),
            read_options=pacsv.ReadOptions(
                column_names=list(column_names), use_threads=True, block_size=BLOCK_SIZE
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter,
                quote_char='"',
                double_quote=True,
                escape_char=False,
                newlines_in_values=True,
                ignore_empty_lines=False,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in kept},
                include_columns=list(kept),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                check_utf8=check_utf8,
            ),
        )
    except pa.ArrowInvalid:
        return None
