"""How a file reseller names its files, as the exchange layer asks for it.

The journal, the SFTP transport and the folder watch handle any file
reseller's files through the :class:`ExchangeNaming` its adapter gives
(``adapter(code).naming()``); only the adapter knows the partner's names.

A file (or a batch of files) belongs to a *stream*, in which it has a
*sequence* number: the files of one stream are processed in sequence order.
An *acknowledgement* is the partner's answer to one file of the organiser.

A partner may send its files in *batches*: data files that travel together and
a closing file (a manifest) written last, which makes the batch visible. A
batch is one unit of the journal: it lands whole, under its closing file's
name, stream and sequence, with its data files as its *members*; it is
integrated whole, and replaced whole when the partner replaces it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol


class Sender(StrEnum):
    """Who writes a file of the exchange."""

    ORGANISER = "organiser"
    """The box office: the file goes to the partner."""
    PARTNER = "partner"
    """The reseller: the file comes to the box office."""


class Unit(StrEnum):
    """What a file is to the journal."""

    FILE = "file"
    """A unit on its own."""
    BATCH_DATA = "batch_data"
    """A data file of a batch: it lands with the batch's closing file, never alone."""
    BATCH_CLOSING = "batch_closing"
    """The file that closes a batch (its manifest): the batch lands under its name, with
    every data file of the same stream and sequence as its members."""


@dataclass(frozen=True)
class InboundUnit:
    """One unit of the partner's to integrate: a file, or a batch under its closing file."""

    name: str
    content: bytes = field(repr=False)
    members: Mapping[str, bytes] = field(default_factory=dict, repr=False)
    """A batch's data files, by name, as the journal keeps them (redacted copies)."""
    member_sha256: Mapping[str, str] = field(default_factory=dict)
    """Each member's SHA-256 as it arrived, before any redaction: what the partner's
    checksums are compared with."""
    unkept: Mapping[str, str] = field(default_factory=dict)
    """Members whose bytes were not kept (their personal data could not be located), with
    why: the adapter refuses the unit, at the step of its verification their syntax is
    checked."""


class UnredactableFileError(ValueError):
    """The personal data of a file cannot be located in it: store none of its bytes."""


class ExchangeName(Protocol):
    """A parsed name of the exchange; ``str()`` gives its canonical text."""

    @property
    def stream(self) -> str:
        """The journal's stream of the file, processed in sequence order; an
        acknowledgement's stream is the adapter's (one per stream answered, say)."""
        ...

    @property
    def sequence(self) -> int:
        """Its number in its stream; an acknowledgement's is the answered file's."""
        ...

    @property
    def sender(self) -> Sender: ...

    @property
    def answers(self) -> ExchangeName | None:
        """The organiser's file an acknowledgement answers; None for any other file."""
        ...

    @property
    def unit(self) -> Unit:
        """A file on its own, or a batch's data or closing file."""
        ...


class ExchangeNaming(Protocol):
    """A file reseller's names and what the box office must do with a file's bytes."""

    @property
    def partial_suffix(self) -> str:
        """Ends the name of a file still being uploaded (written so, then renamed)."""
        ...

    @property
    def outbound_types(self) -> tuple[str, ...]:
        """The types of file the organiser sends, as its names and messages say them."""
        ...

    @property
    def reused_sequence_code(self) -> str | None:
        """The partner's error code for a sequence used twice, quoted when it is told."""
        ...

    @property
    def changed_batch_code(self) -> str | None:
        """The box office's error code for a batch already landed that the partner's folder
        now holds with another closing file; None when the partner sends no batches."""
        ...

    def parse(self, name: str) -> ExchangeName | None:
        """``name`` parsed, or None when it is not a name of the contract."""
        ...

    def sequence_text(self, sequence: int) -> str:
        """A sequence as the partner's names write it."""
        ...

    def redact(self, name: str, data: bytes) -> bytes:
        """``data`` less the personal data the box office stores nowhere (the same bytes when
        there is none); raises :class:`UnredactableFileError` when it cannot be located."""
        ...
