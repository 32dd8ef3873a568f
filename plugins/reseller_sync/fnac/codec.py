"""The FNAC file codec: one import for reading, validating and writing every file type.

Reading (both sides: the organiser reads FNAC's files, the sandbox reads the
organiser's)::

    from reseller_sync.fnac.codec import read_file, FileFormatError

    try:
        parsed = read_file("VENTES_M0427_000042_20261128130503.csv", data)
    except FileFormatError as error:
        ...  # error.problems: every problem, with file, line, column, value, reason
    parsed.envelope.count, parsed.frame  # a typed pandas DataFrame, indexed by data line

For big files, :func:`iter_file_chunks` yields the same frame in chunks.
Writing::

    name, data = write_file(FileType.PLACES, "M0427", 7, records)
    name, data = write_ack(answered_name, records)  # the sandbox's side

See ``docs/fnac-codec.md`` for the whole contract of these functions.
"""

from reseller_sync.fnac.errors import MAX_PROBLEMS, FileFormatError, FileWriteError
from reseller_sync.fnac.names import (
    FileName,
    FileType,
    SequenceStatus,
    ack_name,
    sequence_status,
)
from reseller_sync.fnac.reader import (
    DEFAULT_CHUNK_SIZE,
    Envelope,
    ParsedFile,
    iter_file_chunks,
    read_envelope,
    read_file,
)
from reseller_sync.fnac.schema import BUYER_CONTACT_COLUMNS, column_names
from reseller_sync.fnac.writer import encode_file, transliterate, write_ack, write_file

__all__ = [
    "BUYER_CONTACT_COLUMNS",
    "DEFAULT_CHUNK_SIZE",
    "MAX_PROBLEMS",
    "Envelope",
    "FileFormatError",
    "FileName",
    "FileType",
    "FileWriteError",
    "ParsedFile",
    "SequenceStatus",
    "ack_name",
    "column_names",
    "encode_file",
    "iter_file_chunks",
    "read_envelope",
    "read_file",
    "sequence_status",
    "transliterate",
    "write_ack",
    "write_file",
]
