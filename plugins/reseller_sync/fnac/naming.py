"""FNAC's file names as the exchange layer asks for them (``fnac-exchange-v1`` sections 3, 4,
7.1, 7.6 and 9.6): the journal, the transport and the folder watch know FNAC's files only
through :data:`NAMING`, which the adapter gives (``naming()``)."""

from __future__ import annotations

from reseller_sync.fnac.errors import FileFormatError
from reseller_sync.fnac.names import ORGANISER_TYPES, PARTIAL_SUFFIX, FileName, FileType
from reseller_sync.fnac.redaction import redact_buyer_contacts


class FnacNaming:
    """:class:`~reseller_sync.core.exchange.ExchangeNaming` of ``fnac-exchange-v1``."""

    partial_suffix = PARTIAL_SUFFIX
    outbound_types = tuple(
        file_type.value for file_type in FileType if file_type in ORGANISER_TYPES
    )
    """FICHE, PLACES and DECONT."""
    reused_sequence_code = "E02"
    """FNAC's sequence error (gap or reuse): spec section 9, rule 6."""
    changed_batch_code = None
    """FNAC sends files on their own, no batches."""

    def parse(self, name: str) -> FileName | None:
        try:
            return FileName.parse(name)
        except FileFormatError:
            return None

    def sequence_text(self, sequence: int) -> str:
        """Six digits, as in names, headers and trailers."""
        return f"{sequence:06d}"

    def redact(self, name: str, data: bytes) -> bytes:
        """The buyer's contact columns of VENTES and TEST emptied (spec 7.1)."""
        return redact_buyer_contacts(name, data)


NAMING = FnacNaming()
