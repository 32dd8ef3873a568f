"""Every file reseller's naming (``adapter(code).naming()``), as the exchange layer relies on
it: the names its own side writes parse back to themselves, each in its stream and sequence."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from reseller_sync.core.exchange import ExchangeNaming, Sender
from reseller_sync.core.resellers import InterfaceKind, adapter, reseller_types
from reseller_sync.exchange.filenames import is_part_name, parse_exchange_name, unsafe_reason


@dataclass(frozen=True)
class Samples:
    """Names as the adapter's own writer (and its partner's) produce them."""

    sent: str
    """A file the organiser sends."""
    acknowledgement: str
    """The partner's answer to ``sent``."""
    received: str
    """A file the partner sends."""


def _fnac() -> Samples:
    from reseller_sync.fnac.names import FileName, FileType, ack_name

    places = FileName.build(FileType.PLACES, "M0427", 7)
    return Samples(
        sent=str(places),
        acknowledgement=str(ack_name(places)),
        received=str(FileName.build(FileType.VENTES, "M0427", 42)),
    )


def _ticketnet() -> Samples:
    from reseller_sync.ticketnet.names import BatchId, FileType, Stream

    offer = BatchId(Stream.OFFER, "PR04127", 7)
    return Samples(
        sent=offer.manifest_name,
        acknowledgement=offer.ack_name,
        received=BatchId(Stream.SALES, "PR04127", 42).data_file_name(FileType.TRANSACTIONS, 1),
    )


def _secutix() -> Samples:
    from reseller_sync.secutix.names import FileName, FileType

    contingent = FileName.numbered(FileType.CONTINGENT, 7)
    return Samples(
        sent=str(contingent.control),
        acknowledgement=str(FileName.numbered(FileType.RESULT, 7).control),
        received=str(FileName.numbered(FileType.TICKETS, 42)),
    )


SAMPLES: dict[str, Callable[[], Samples]] = {
    "fnac": _fnac,
    "ticketnet": _ticketnet,
    "secutix": _secutix,
}
"""One entry per file reseller type, registered or whose naming is written ahead of its
adapter (:data:`NAMINGS_AHEAD`)."""

NAMINGS_AHEAD = {
    "ticketnet": "reseller_sync.ticketnet.naming",
    "secutix": "reseller_sync.secutix.naming",
}
"""Partner packages whose naming exists before their adapter is registered: module → NAMING."""

FILE_RESELLERS = sorted(
    {kind.code for kind in reseller_types() if kind.interface is InterfaceKind.FILES}
    | set(NAMINGS_AHEAD)
)


def naming_and_samples(code: str) -> tuple[ExchangeNaming, Samples]:
    assert code in SAMPLES, f"add the names {code}'s writer produces to SAMPLES"
    registered = {kind.code for kind in reseller_types()}
    if code in registered:
        return adapter(code).naming(), SAMPLES[code]()
    import importlib

    naming: ExchangeNaming = importlib.import_module(NAMINGS_AHEAD[code]).NAMING
    return naming, SAMPLES[code]()


@pytest.mark.parametrize("code", FILE_RESELLERS)
def test_its_names_parse_back_to_themselves(code: str) -> None:
    naming, samples = naming_and_samples(code)
    for name in (samples.sent, samples.acknowledgement, samples.received):
        assert unsafe_reason(name) is None
        parsed = parse_exchange_name(name, naming)
        assert parsed is not None, name
        assert str(parsed) == name
        assert parsed.sequence >= 1
        assert naming.sequence_text(parsed.sequence) in name
        partial = name + naming.partial_suffix
        assert is_part_name(partial, naming)
        assert not is_part_name(name, naming)
        assert parse_exchange_name(partial, naming) is None
    assert naming.parse("README.txt") is None


@pytest.mark.parametrize("code", FILE_RESELLERS)
def test_an_acknowledgement_answers_the_organisers_file_in_a_stream_of_its_own(
    code: str,
) -> None:
    naming, samples = naming_and_samples(code)
    sent = naming.parse(samples.sent)
    ack = naming.parse(samples.acknowledgement)
    received = naming.parse(samples.received)
    assert sent is not None
    assert ack is not None
    assert received is not None

    assert (sent.sender, sent.answers) == (Sender.ORGANISER, None)
    assert (received.sender, received.answers) == (Sender.PARTNER, None)
    assert ack.sender is Sender.PARTNER
    assert ack.answers is not None
    assert (ack.answers.stream, ack.answers.sequence) == (sent.stream, sent.sequence)
    assert ack.sequence == sent.sequence
    assert ack.stream not in (sent.stream, received.stream)
    assert naming.outbound_types


@pytest.mark.parametrize("code", FILE_RESELLERS)
def test_a_file_without_personal_data_is_kept_as_it_is(code: str) -> None:
    naming, samples = naming_and_samples(code)
    data = b"an acknowledgement's bytes\n"
    assert naming.redact(samples.acknowledgement, data) == data
