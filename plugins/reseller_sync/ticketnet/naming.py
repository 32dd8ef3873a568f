"""Ticketnet's names as the exchange layer asks for them (``ticketnet-exchange-v1`` sections
3, 4 and 11): a batch's manifest and data files share its stream and number; an ACK answers
the organiser's OFFER batch, named by its manifest.

The organiser keeps no copy of a data file that holds buyer values (section 11): a copy
kept for replay has every ``buyer_*`` field emptied, which :meth:`TicketnetNaming.redact`
does on the gzip CSV's bytes.
"""

from __future__ import annotations

import csv
import io
import zlib
from dataclasses import dataclass

from reseller_sync.core.exchange import Sender, Unit, UnredactableFileError
from reseller_sync.ticketnet.errors import Code
from reseller_sync.ticketnet.names import FileName, FileType, NameKind
from reseller_sync.ticketnet.reader import decode_part
from reseller_sync.ticketnet.schema import is_buyer_column

PARTIAL_SUFFIX = ".tmp"
ACK_STREAM = "OFFER_ACK"
"""The journal's stream of Ticketnet's ACKs: they answer the organiser's OFFER batches, one
each, numbered as the batch they answer."""


@dataclass(frozen=True)
class TicketnetName:
    """A parsed name: :class:`~reseller_sync.core.exchange.ExchangeName` of the contract."""

    name: FileName

    @property
    def stream(self) -> str:
        return ACK_STREAM if self.name.kind is NameKind.ACK else self.name.batch.stream.value

    @property
    def sequence(self) -> int:
        return self.name.batch.number

    @property
    def sender(self) -> Sender:
        if self.name.kind is NameKind.ACK or self.name.batch.stream.from_ticketnet:
            return Sender.PARTNER
        return Sender.ORGANISER

    @property
    def answers(self) -> TicketnetName | None:
        """The manifest of the OFFER batch an ACK answers."""
        if self.name.kind is not NameKind.ACK:
            return None
        return TicketnetName(FileName(self.name.batch, NameKind.MANIFEST))

    @property
    def unit(self) -> Unit:
        """A batch lands under its manifest with its data files; an ACK on its own."""
        return {
            NameKind.DATA: Unit.BATCH_DATA,
            NameKind.MANIFEST: Unit.BATCH_CLOSING,
            NameKind.ACK: Unit.FILE,
        }[self.name.kind]

    def __str__(self) -> str:
        return str(self.name)


class TicketnetNaming:
    """:class:`~reseller_sync.core.exchange.ExchangeNaming` of ``ticketnet-exchange-v1``."""

    partial_suffix = PARTIAL_SUFFIX
    outbound_types = tuple(
        file_type.value for file_type in (FileType.CATALOG, FileType.ALLOCATION, FileType.RELEASE)
    )
    """The files of an OFFER batch."""
    reused_sequence_code = "B07"
    """Ticketnet's answer to an OFFER batch number already processed (section 9.2)."""
    changed_batch_code = "R08"
    """A batch number already applied, with a different manifest (section 10.2)."""

    def parse(self, name: str) -> TicketnetName | None:
        parsed = FileName.parse(name)
        return TicketnetName(parsed) if parsed is not None else None

    def sequence_text(self, sequence: int) -> str:
        """Eight digits, as in batch ids."""
        return f"{sequence:08d}"

    def redact(self, name: str, data: bytes) -> bytes:
        """A TRANSACTIONS part with every ``buyer_*`` field emptied (section 11); any other
        file as it is."""
        parsed = FileName.parse(name)
        if parsed is None or parsed.type is not FileType.TRANSACTIONS:
            return data
        return redact_buyer_columns(name, data)


NAMING = TicketnetNaming()


def redact_buyer_columns(name: str, data: bytes) -> bytes:
    """The gzip CSV ``data`` with the fields of every ``buyer_*`` column emptied; the other
    fields' text is kept (written back quoted only where it must be).

    Raises :class:`UnredactableFileError` when the file cannot be read as one gzip member
    of UTF-8 CSV with a header, or breaks the syntax rules of section 5 (``R06``, which a
    rewritten copy would no longer show): its buyer values cannot be located, so none of
    its bytes may be kept.
    """
    syntax = decode_part(name, FileType.TRANSACTIONS, data, Code.R06).parse_problems
    if syntax:
        first = syntax.problems()[0]
        raise UnredactableFileError(f"{first}; the buyer columns cannot be located")
    try:
        decompressor = zlib.decompressobj(wbits=31)
        text = decompressor.decompress(data).decode("utf-8")
        if not decompressor.eof or decompressor.unused_data:
            raise ValueError("not one whole gzip member")
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except (zlib.error, UnicodeDecodeError, csv.Error, ValueError) as error:
        raise UnredactableFileError(
            f"{name}: the buyer columns cannot be located ({error})"
        ) from None
    if not rows:
        raise UnredactableFileError(f"{name}: no header, the buyer columns cannot be located")
    buyer = [index for index, column in enumerate(rows[0]) if is_buyer_column(column)]
    if not buyer:
        return data
    for row in rows[1:]:
        for index in buyer:
            if index < len(row):
                row[index] = ""
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_MINIMAL).writerows(rows)
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
    return compressor.compress(out.getvalue().encode("utf-8")) + compressor.flush()
