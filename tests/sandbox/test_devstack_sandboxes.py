"""The sandboxes the stack of ``make demo`` and the browser test starts
(``devtools.devstack``), each reached by the Airflow connection the stack gives Airflow,
through the reseller's own transport, as its DAGs reach it: ``fnac_sftp``,
``ticketnet_sftp`` and ``secutix_sftp``. The SecuTix reseller plays on its sandbox as the
stack's :class:`~devtools.devstack.SecutixAtWork` sees it: it answers the organiser's
files by itself, every 2 s. Airflow is not started: the browser and distributed tests
start the whole stack."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devtools.devstack import Ports, Stack, StackError, free_ports
from reseller_sync.exchange.transport import SftpTransport
from reseller_sync.secutix.names import FileType
from tests.sandbox.test_secutix_sandbox import catalogue, full_contingent, organiser, send


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    """The stack's sandboxes and mail sink on free ports, their state under ``tmp_path``."""
    stack = Stack(
        state_dir=tmp_path,
        airflow_home=tmp_path / "airflow",
        ports=Ports(*free_ports(4)),
        host="127.0.0.1",
        name="sandboxes",
    )
    try:
        stack.fresh_state()
        stack.start_sandboxes()
        yield stack
    finally:
        stack.stop(quiet=True)


def wait_until(stack: Stack, ready: Callable[[], bool], what: str, seconds: float = 30) -> None:
    try:
        stack.wait_for(ready, what, seconds)
    except StackError as error:
        pytest.fail(f"{error}\n{stack.log_tails(20)}")


def test_each_reseller_reaches_its_sandbox_by_the_stack_s_connection(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reseller_sync.fnac import outbound as fnac
    from reseller_sync.fnac.settings import load_settings as fnac_settings
    from reseller_sync.secutix import inbound as secutix
    from reseller_sync.secutix.settings import load_settings as secutix_settings
    from reseller_sync.ticketnet import inbound as ticketnet
    from reseller_sync.ticketnet.settings import load_settings as ticketnet_settings

    connections = stack.connections()
    for variable, value in connections.items():
        monkeypatch.setenv(variable, value)
    assert {
        "AIRFLOW_CONN_FNAC_SFTP",
        "AIRFLOW_CONN_TICKETNET_SFTP",
        "AIRFLOW_CONN_SECUTIX_SFTP",
    } <= set(connections)
    ports = stack.ports
    assert len({ports.sftp, ports.ticketnet_sftp, ports.secutix_sftp}) == 3
    assert f'"port": {ports.secutix_sftp}' in connections["AIRFLOW_CONN_SECUTIX_SFTP"]

    transports: dict[str, Callable[[], SftpTransport]] = {
        "fnac": lambda: fnac.transport_for(fnac_settings()),
        "ticketnet": lambda: ticketnet.transport_for(ticketnet_settings()),
        "secutix": lambda: secutix.transport_for(secutix_settings()),
    }
    for reseller, transport in transports.items():

        def reached(transport: Callable[[], SftpTransport] = transport) -> bool:
            try:
                transport().check()
            except Exception:
                return False
            return True

        wait_until(stack, reached, f"the {reseller} sandbox")


def test_the_secutix_reseller_answers_the_organiser_s_files_by_itself(stack: Stack) -> None:
    partner = stack.secutix_partner()
    wait_until(stack, lambda: _reachable(stack), "the SecuTix sandbox")
    with organiser(("127.0.0.1", stack.ports.secutix_sftp)) as sftp:
        send(sftp, FileType.OFFER, 1, catalogue())
        send(sftp, FileType.CONTINGENT, 2, full_contingent())
        wait_until(
            stack,
            lambda: {"RESULT_00000002.ctl"} <= set(sftp.listdir("/to_organiser")),
            "the reseller's RESULTs",
        )
    assert partner.snapshot().results == {"1": "OK", "2": "OK"}
    assert partner.snapshot().last_tickets == 0, "no TICKETS file unless asked"


def _reachable(stack: Stack) -> bool:
    try:
        with organiser(("127.0.0.1", stack.ports.secutix_sftp)):
            return True
    except Exception:
        return False
