"""The watch for a partner's answer, without Airflow and without a server: a scripted folder
and a clock that moves only when the watch sleeps."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterable

import pytest

from reseller_sync.domain.errors import (
    ConfigurationError,
    ExternalError,
    TemporaryExternalError,
)
from reseller_sync.exchange.watch import (
    Wanted,
    WatchOutcome,
    WatchStatus,
    failed_outcome,
    watch_folder,
)

START = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)
FICHE = "FICHE_M0427_000001_20261128120000.csv"
ACK = f"ACK_{FICHE}"


class ScriptedFolder:
    """A folder whose n-th look returns (or raises) the n-th entry of the script; the
    last entry repeats. Its clock advances only when the watch sleeps."""

    def __init__(self, *script: Iterable[str] | Exception) -> None:
        self.script = list(script)
        self.now = START
        self.looked_at: list[dt.datetime] = []
        self.slept: list[float] = []

    async def look(self) -> Iterable[str]:
        self.looked_at.append(self.now)
        entry = self.script[min(len(self.looked_at), len(self.script)) - 1]
        if isinstance(entry, Exception):
            raise entry
        return entry

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += dt.timedelta(seconds=seconds)

    def watch(
        self, wanted: Wanted, *, minutes: float = 10, poll_seconds: float = 60
    ) -> WatchOutcome:
        return asyncio.run(
            watch_folder(
                self.look,
                wanted,
                folder="/retour/",
                deadline=START + dt.timedelta(minutes=minutes),
                poll_seconds=poll_seconds,
                now=lambda: self.now,
                sleep=self.sleep,
            )
        )


def down() -> TemporaryExternalError:
    return TemporaryExternalError("cannot reach the server at connection 'fnac_sftp'")


def test_the_answer_found_on_the_third_look_ends_the_watch() -> None:
    folder = ScriptedFolder([], [FICHE + ".part", "README"], [ACK, "VENTES_x.csv"])

    outcome = folder.watch(Wanted(names=(ACK,)))

    assert outcome.status is WatchStatus.FOUND
    assert outcome.found == (ACK,)
    assert (outcome.looks, outcome.failed_looks) == (3, 0)
    assert folder.slept == [60, 60], "one look a poll interval, the first at once"


def test_looks_that_fail_for_a_while_are_waited_through() -> None:
    folder = ScriptedFolder([], down(), down(), [ACK])

    outcome = folder.watch(Wanted(names=(ACK,)))

    assert outcome.status is WatchStatus.FOUND
    assert (outcome.looks, outcome.failed_looks) == (4, 2)
    assert outcome.last_failure == "cannot reach the server at connection 'fnac_sftp'"


def test_no_answer_by_the_deadline_is_a_timeout_after_a_last_look_at_the_deadline() -> None:
    folder = ScriptedFolder([FICHE])

    outcome = folder.watch(Wanted(names=(ACK,)), minutes=2.5)

    assert outcome.status is WatchStatus.TIMEOUT
    assert outcome.timed_out
    assert outcome.found == ()
    assert folder.slept == [60, 60, 30]
    assert folder.looked_at[-1] == START + dt.timedelta(minutes=2.5)


def test_a_server_down_until_the_deadline_times_out_saying_so() -> None:
    folder = ScriptedFolder(down())

    outcome = folder.watch(Wanted(names=(ACK,)), minutes=3)

    assert outcome.status is WatchStatus.TIMEOUT
    assert (outcome.looks, outcome.failed_looks) == (4, 4)
    assert outcome.last_failure is not None


def test_a_failure_waiting_cannot_fix_ends_the_watch_at_once() -> None:
    folder = ScriptedFolder([], ExternalError("the server refused the login"), [ACK])

    outcome = folder.watch(Wanted(names=(ACK,)))

    assert outcome.status is WatchStatus.FAILED
    assert (outcome.looks, outcome.failed_looks) == (2, 1)
    with pytest.raises(ExternalError, match="refused the login"):
        outcome.raise_for_failure()
    assert len(folder.looked_at) == 2


def test_a_bug_in_a_look_is_not_taken_for_the_partner_s_silence() -> None:
    folder = ScriptedFolder([], KeyError("bug"))

    with pytest.raises(KeyError):
        folder.watch(Wanted(names=(ACK,)))


def test_a_test_file_counts_only_above_the_last_sequence_landed() -> None:
    old = "TEST_M0427_000002_20261128110000.csv"
    new = "TEST_M0427_000003_20261128121500.csv"
    folder = ScriptedFolder(
        [old, "VENTES_M0427_000009_20261128121000.csv"],
        [old, new + ".part"],
        [old, new],
    )

    outcome = folder.watch(Wanted(file_type="TEST", after_seq=2, reseller="fnac"))

    assert outcome.found == (new,)
    assert outcome.looks == 3


def test_a_wait_names_files_or_a_type_never_both() -> None:
    with pytest.raises(ValueError, match="not both or neither"):
        Wanted(names=(ACK,), file_type="TEST")
    with pytest.raises(ValueError, match="not both or neither"):
        Wanted()


def test_a_wait_for_a_type_says_whose_names_to_read() -> None:
    with pytest.raises(ValueError, match="give reseller"):
        Wanted(file_type="TEST", after_seq=2)
    wanted = Wanted(file_type="TEST", after_seq=2, reseller="fnac")
    assert wanted.describe() == "a TEST file after sequence 000002"
    assert Wanted.from_payload(wanted.to_payload()) == wanted


def test_an_outcome_travels_as_json_and_back() -> None:
    found = WatchOutcome(
        WatchStatus.FOUND, Wanted(names=(ACK,)), "/retour/", START, (ACK,), 3, 1, "down"
    )
    failed = failed_outcome(
        ConfigurationError("no host_key", action="Set host_key.", file=None),
        Wanted(file_type="TEST", after_seq=4, reseller="fnac"),
        "/retour/",
        START,
    )

    for outcome in (found, failed):
        payload = outcome.to_payload()
        assert WatchOutcome.from_payload(payload) == outcome
        assert WatchOutcome.from_payload(payload).to_payload() == payload
    with pytest.raises(ConfigurationError, match="no host_key") as raised:
        WatchOutcome.from_payload(failed.to_payload()).raise_for_failure()
    assert raised.value.action == "Set host_key."
    assert found.raise_for_failure() is found
