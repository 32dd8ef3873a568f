"""The whole interface (FNAC, Ticketnet, SecuTix, and the real-time resellers Digitick and
ClassicTic) on one machine: what ``make demo`` and the browser test start.

A :class:`Stack` starts, each in its own process group:

- the FNAC sandbox (a real SFTP server playing FNAC, answering every 2 s, sending
  the TEST file of each product it onboards);
- the Ticketnet sandbox (the same SFTP server with Ticketnet's home, Ticketnet
  answering its OFFER batches every 2 s; its test tickets, their refunds and its
  SALES batches are played by :class:`TicketnetAtWork`);
- the SecuTix sandbox (the same SFTP server with the SecuTix reseller's home, the reseller
  answering the organiser's files every 2 s and, given ``secutix_tickets_every``, writing
  a TICKETS file that often; its opening tickets, their refunds and the TICKETS files of
  an onboarding are played by :class:`SecutixAtWork`);
- the mail sink (SMTP, with a page listing the messages);
- given ``realtime``, the real-time reseller service (``realtime serve``, its own process
  over the same box office) and, for Digitick and ClassicTic each, its settings recorded,
  its API key issued into a file under ``realtime/`` and its sandbox (its customers buying
  and cancelling through the service, its sales-report endpoint); their onboardings are
  played by :class:`RealtimeAtWork`;
- Airflow (``airflow standalone``) over a box office seeded with the demo data,
  with the connections ``fnac_sftp``, ``ticketnet_sftp``, ``secutix_sftp`` and
  ``smtp_default`` pointing at the four (and, given ``realtime``, each real-time
  reseller's sales-report connection at its sandbox);
  or, given a :class:`Distributed`, Airflow split as in production: api-server,
  scheduler, dag-processor, triggerer and Celery workers (Redis broker,
  PostgreSQL metadata database and result backend), see ``docs/distributed.md``.

It then talks to Airflow's REST API (login through ``/auth/token``, trigger a
DAG, answer a human step, wait for a run, playing the partner's part meanwhile:
:class:`TicketnetAtWork`, :class:`SecutixAtWork`) and stops everything it started,
children included. Nothing here is imported by Airflow itself: this is a developer's tool, outside
``plugins/``, in the top-level ``devtools`` package.

``make demo`` uses the fixed ports of the README under ``var/``;
``tests/browser`` uses free ports of 127.0.0.1 under a temporary folder.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, ClassVar, TypeVar

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from devtools.sandboxes.secutix import SecutixPartner
    from devtools.sandboxes.ticketnet import TicketnetPartner
    from reseller_sync.realtime.instance_settings import RealtimeInstanceSettings

PROJECT_ROOT = Path(__file__).resolve().parents[1]
APPROVAL_TASK = "confirm_fnac_codes_recorded"
"""The step of FNAC's onboarding where a person approves (declared in
``reseller_sync.fnac.onboarding``); written out so that importing this module imports
no Airflow. ``tests/dags/test_onboarding_builder.py`` checks that the two agree."""
APPROVAL_TASKS: dict[str, str] = {
    "fnac": APPROVAL_TASK,
    "ticketnet": "confirm_offer_at_ticketnet",
    "secutix": "confirm_offer_at_reseller",
    "digitick": "confirm_at_reseller",
    "classictic": "confirm_at_reseller",
}
"""Each reseller's onboarding step where a person approves (Ticketnet's is declared in
``reseller_sync.ticketnet.onboarding``, the SecuTix reseller's in
``reseller_sync.secutix.onboarding``, the real-time resellers' in
``reseller_sync.realtime.onboarding``), written out for the same reason;
:meth:`Stack.finish` checks that the run's DAG has the task it is asked to approve."""
REALTIME_RESELLERS: dict[str, str] = {"digitick": "DGT-", "classictic": "CTT-"}
"""The real-time resellers the stack starts a sandbox for, with the prefix of their
customers' order references (their test orders' prefixes, ``DGT-TEST-`` and ``CTT-TEST-``
in their settings, are not among them)."""
REALTIME_PATH = "/realtime/v1"
"""Where the service answers (``reseller_sync.realtime.http_service.PREFIX``)."""
T = TypeVar("T")


class StackError(RuntimeError):
    """A service stopped, or did not become ready in time."""


def isolated_environment(
    state_dir: Path,
    *,
    boxoffice_url: str,
    trigger_log_port: int,
    worker_log_port: int | None = None,
    root: Path = PROJECT_ROOT,
) -> dict[str, str]:
    """What keeps a stack apart from the checkout's own Airflow and box office (the tests').

    Airflow's home, the box office and the reports under ``state_dir`` (or the
    box office at ``boxoffice_url``), the log servers on the ports given, the
    project's DAGs and plugins, this interpreter's tools first on the PATH, and
    no proxy for the local services.
    """
    environment = {
        "AIRFLOW_HOME": str(state_dir / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(root / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(root / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(trigger_log_port),
        "BOXOFFICE_DB_URL": boxoffice_url,
        "RESELLER_SYNC_REPORTS_DIR": str(state_dir / "reports"),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }
    if worker_log_port is not None:
        environment["AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT"] = str(worker_log_port)
    return environment


APPROVAL_GRACE_SECONDS = 10
"""A person takes a moment before answering a human step. An answer that comes before
the scheduler has heard that the parking attempt's process ended races it: seen here on
Airflow 3.3.2, the resumed task (queued again) was then failed on that attempt's stale
"success" ("task state changed externally"). That process lingered up to 7 s after
parking when the machine was busy: 5 s of grace from the first look that saw the task
waiting were not always enough."""


API_ATTEMPTS = 3
"""Calls of the REST API that answer a server error are tried this many times in all. On
its SQLite metadata database, ``airflow standalone`` answered 500 for a moment here while
the scheduled runs of every DAG started with it (a write of the api-server failed, the
database most likely locked): the demo's first trigger failed on it once."""

PARTNER_GRACE_SECONDS = APPROVAL_GRACE_SECONDS
"""The same for a partner's answer to a step that waits in the triggerer (the resumed
task is then failed for a retry): see :class:`TicketnetAtWork`."""


def say(text: str) -> None:
    print(f"\033[1m==> {text}\033[0m", flush=True)


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """``count`` distinct ports nobody listens on now (held together while chosen)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((host, 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@dataclass(frozen=True)
class Ports:
    airflow: int = 8080
    sftp: int = 2222
    smtp: int = 8025
    mail_page: int = 8026
    ticketnet_sftp: int = 0
    """The Ticketnet sandbox's SFTP port; 0: a free port of 127.0.0.1, chosen when the
    :class:`Stack` is made."""
    secutix_sftp: int = 0
    """The SecuTix sandbox's SFTP port; 0: a free port, likewise."""
    realtime: int = 0
    """The real-time service's HTTP port (when the stack starts it); 0: a free port."""
    digitick_report: int = 0
    """Digitick's sandbox sales-report endpoint; 0: a free port."""
    classictic_report: int = 0
    """ClassicTic's; 0: a free port."""

    def report_port(self, reseller: str) -> int:
        return int(getattr(self, f"{reseller}_report"))

    @classmethod
    def free(cls) -> Ports:
        return cls(*free_ports(5))


WORKER_NAME_VARIABLE = "RESELLER_SYNC_WORKER_NAME"


def worker_hostname() -> str:
    """``[core] hostname_callable`` of the Celery workers started here.

    Workers sharing one machine would all record the same host name on their task
    instances; each records its own name instead, to show which one ran a task.
    """
    return os.environ.get(WORKER_NAME_VARIABLE) or socket.getfqdn()


@dataclass(frozen=True)
class Distributed:
    """Airflow under the CeleryExecutor instead of ``airflow standalone``.

    ``metadata_url`` (SQLAlchemy URL, ``postgresql+psycopg://...``) is Airflow's
    database and the Celery result backend; ``broker_url`` the Redis broker;
    ``queue`` the Celery queue (unique per stack, so stacks sharing a Redis
    database never take each other's tasks); one worker per ``worker_log_ports``
    entry, each serving its logs on that port.
    """

    metadata_url: str
    broker_url: str
    worker_log_ports: tuple[int, ...]
    queue: str = "reseller_sync"
    concurrency: int = 2

    @property
    def workers(self) -> list[str]:
        return [f"worker{number}" for number in range(1, len(self.worker_log_ports) + 1)]


class Stack:
    """Sandbox, mail sink and Airflow, started from ``root`` with their state in ``state_dir``.

    ``env`` is added to this process's environment for every command (box office
    URL, Airflow folders...); ``host`` is the name the REST API and the printed
    addresses use; ``secutix_tickets_every``: the SecuTix sandbox's customers act and the
    reseller writes a TICKETS file that often, in seconds (None: only when asked, as by
    :class:`SecutixAtWork`). ``realtime``: start the real-time service and the Digitick and
    ClassicTic sandboxes too, their customers acting every ``realtime_customers_every``
    seconds (None: only the onboardings' test orders, played by :class:`RealtimeAtWork`).
    """

    def __init__(
        self,
        *,
        state_dir: Path,
        airflow_home: Path,
        ports: Ports = Ports(),
        host: str = "localhost",
        poke_seconds: float = 5,
        env: Mapping[str, str] | None = None,
        root: Path = PROJECT_ROOT,
        python: str = sys.executable,
        name: str = "stack",
        distributed: Distributed | None = None,
        secutix_tickets_every: float | None = None,
        realtime: bool = False,
        realtime_customers_every: float | None = None,
    ) -> None:
        self.name = name
        self.secutix_tickets_every = secutix_tickets_every
        self.realtime = realtime
        self.realtime_customers_every = realtime_customers_every
        self.distributed = distributed
        self.jwt_secret = secrets.token_urlsafe(32)
        self.api_secret_key = secrets.token_urlsafe(32)
        if not ports.ticketnet_sftp or not ports.secutix_sftp:
            ticketnet, secutix = free_ports(2)
            ports = dataclasses.replace(
                ports,
                ticketnet_sftp=ports.ticketnet_sftp or ticketnet,
                secutix_sftp=ports.secutix_sftp or secutix,
            )
        if realtime and not (ports.realtime and ports.digitick_report and ports.classictic_report):
            service, digitick, classictic = free_ports(3)
            ports = dataclasses.replace(
                ports,
                realtime=ports.realtime or service,
                digitick_report=ports.digitick_report or digitick,
                classictic_report=ports.classictic_report or classictic,
            )
        self.state_dir, self.airflow_home, self.ports = state_dir, airflow_home, ports
        self.root, self.python, self.poke_seconds = root, python, poke_seconds
        self.base = f"http://{host}:{ports.airflow}"
        self.mail_page = f"http://{host}:{ports.mail_page}"
        self.extra_env = dict(env or {})
        self.processes: list[subprocess.Popen[bytes]] = []
        self.names: dict[int, str] = {}
        self._logs: list[IO[bytes]] = []
        self.token = ""

    # ------------------------------------------------------------------ folders

    @property
    def logs(self) -> Path:
        return self.state_dir / "logs"

    @property
    def sandbox_root(self) -> Path:
        return self.state_dir / "sandbox"

    @property
    def ticketnet_sandbox_root(self) -> Path:
        return self.state_dir / "ticketnet-sandbox"

    @property
    def secutix_sandbox_root(self) -> Path:
        return self.state_dir / "secutix-sandbox"

    @property
    def mail_dir(self) -> Path:
        return self.state_dir / "mail"

    @property
    def realtime_root(self) -> Path:
        """Each real-time reseller's folder: its API key (``api-key``) and its books."""
        return self.state_dir / "realtime"

    def realtime_books(self, reseller: str) -> Path:
        return self.realtime_root / reseller

    def api_key_file(self, reseller: str) -> Path:
        return self.realtime_books(reseller) / "api-key"

    @property
    def realtime_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.realtime}{REALTIME_PATH}"

    def log_tails(self, lines: int = 40) -> str:
        """The last ``lines`` of each service's log, to show when a service failed."""
        return "\n".join(
            f"--- {log.name} (last {lines} lines)\n"
            + "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
            for log in sorted(self.logs.glob("*.log"))
        )

    def shown(self, path: Path) -> str:
        """A path as the messages show it: relative to the checkout when inside it."""
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)

    def fresh_state(self, *leftovers: Path) -> None:
        """Forget the sandbox, the mails, the reports, the logs and Airflow's database.

        ``leftovers`` are more files to delete, with their ``-wal``/``-shm`` companions.
        """
        for folder in (
            "sandbox",
            "ticketnet-sandbox",
            "secutix-sandbox",
            "realtime",
            "mail",
            "reports",
            "logs",
        ):
            shutil.rmtree(self.state_dir / folder, ignore_errors=True)
        for leftover in (*leftovers, self.airflow_home / "airflow.db"):
            for path in leftover.parent.glob(leftover.name + "*"):
                path.unlink()
        self.logs.mkdir(parents=True, exist_ok=True)

    # ------------------------------------------------------------------ processes

    def environment(self) -> dict[str, str]:
        return {**os.environ, **self.extra_env}

    def run(self, *args: str) -> None:
        """``python -m MODULE ARGS`` (``reseller_sync``'s migrations, ``devtools``' seeding),
        to the end."""
        subprocess.run(
            [self.python, "-m", *args],
            check=True,
            cwd=self.root,
            env=self.environment(),
        )

    def seed_boxoffice(self) -> None:
        self.run("reseller_sync", "db", "upgrade")
        self.run("devtools", "demo", "seed")

    def start(self, name: str, command: list[str], env: Mapping[str, str] | None = None) -> None:
        log = open(self.logs / f"{name}.log", "wb")  # noqa: SIM115 - kept open while it runs
        self._logs.append(log)
        process = subprocess.Popen(
            command,
            cwd=self.root,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env or self.environment()),
            start_new_session=True,
        )
        self.processes.append(process)
        self.names[process.pid] = name

    def stop(self, *, quiet: bool = False) -> None:
        """Stop every process started, and every process they started, even on failure."""
        if not quiet:
            say(f"Stopping everything the {self.name} started ...")
        family = {child for process in self.processes for child in _descendants(process.pid)}
        for process in reversed(self.processes):
            if process.poll() is None:
                _signal_group(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                _signal_group(process.pid, signal.SIGKILL)
                process.wait(10)
        for pid, started in family:  # children that left the group (setsid) and outlived it
            if _start_time(pid) == started:
                _signal_pid(pid, signal.SIGKILL)
        for log in self._logs:
            log.close()
        self._logs.clear()

    def connections(self) -> dict[str, str]:
        from devtools.sandboxes.fnac import connection_env_var, sandbox_connection_json

        smtp = {
            "conn_type": "smtp",
            "host": "127.0.0.1",
            "port": self.ports.smtp,
            "extra": {
                "from_email": "fnac-interface@organiser.example",
                "disable_tls": True,
                "disable_ssl": True,
                "timeout": 10,
            },
        }
        return {
            connection_env_var("fnac_sftp"): sandbox_connection_json("127.0.0.1", self.ports.sftp),
            connection_env_var("ticketnet_sftp"): sandbox_connection_json(
                "127.0.0.1", self.ports.ticketnet_sftp
            ),
            connection_env_var("secutix_sftp"): sandbox_connection_json(
                "127.0.0.1", self.ports.secutix_sftp
            ),
            "AIRFLOW_CONN_SMTP_DEFAULT": json.dumps(smtp),
            **(self.realtime_connections() if self.realtime else {}),
        }

    def realtime_connections(self) -> dict[str, str]:
        """Each real-time reseller's sales-report connection (its settings'
        ``sales_report.connection_id``) at its sandbox's endpoint, the sandbox's key as
        password."""
        from devtools.sandboxes.connection import connection_env_var
        from devtools.sandboxes.realtime.cli import DEMO_REPORT_KEY

        connections = {}
        for reseller in REALTIME_RESELLERS:
            conn_id = realtime_settings(reseller).sales_report.connection_id
            connections[connection_env_var(conn_id)] = json.dumps(
                {
                    "conn_type": "http",
                    "host": "127.0.0.1",
                    "port": self.ports.report_port(reseller),
                    "schema": "http",
                    "password": DEMO_REPORT_KEY,
                }
            )
        return connections

    def airflow_environment(self) -> dict[str, str]:
        env = {
            **self.environment(),
            **self.connections(),
            "AIRFLOW_HOME": str(self.airflow_home),
            "AIRFLOW__API__PORT": str(self.ports.airflow),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
            "AIRFLOW__API__BASE_URL": self.base,
            "RESELLER_SYNC_POKE_SECONDS": f"{self.poke_seconds:g}",
        }
        if cluster := self.distributed:
            env |= {
                "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": cluster.metadata_url,
                # Else derived as postgresql+asyncpg (not installed); psycopg 3 does async.
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": cluster.metadata_url,
                "AIRFLOW__CELERY__BROKER_URL": cluster.broker_url,
                # psycopg 3 (psycopg2 is not installed): db+postgresql+psycopg://...
                "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{cluster.metadata_url}",
                "AIRFLOW__OPERATORS__DEFAULT_QUEUE": cluster.queue,
                # Every process signs or checks the same tokens (workers -> Execution API).
                "AIRFLOW__API_AUTH__JWT_SECRET": self.jwt_secret,
                "AIRFLOW__API__SECRET_KEY": self.api_secret_key,  # log requests to workers
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base}/execution/",
                "AIRFLOW__CORE__AUTH_MANAGER": (
                    "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
                ),
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.password_file),
                "AIRFLOW__API__WORKERS": "1",
            }
        return env

    def start_services(self) -> None:
        self.start_sandboxes()
        self.start_airflow()

    def start_sandboxes(self) -> None:
        """The partners' sandboxes and the mail sink, in the background."""
        ports = self.ports
        say(f"FNAC sandbox: SFTP on 127.0.0.1:{ports.sftp}, FNAC answers every 2 s")
        self.start(
            "sandbox",
            [self.python, "-m", "devtools", "fnac-sandbox", "serve",
             "--root", str(self.sandbox_root), "--port", str(ports.sftp),
             "--interval", "2", "--auto-test", "--seed", "2026"],
        )  # fmt: skip
        say(
            f"Ticketnet sandbox: SFTP on 127.0.0.1:{ports.ticketnet_sftp}, Ticketnet answers "
            "every 2 s"
        )
        self.start(
            "ticketnet-sandbox",
            [self.python, "-m", "devtools", "ticketnet-sandbox", "serve",
             "--root", str(self.ticketnet_sandbox_root), "--port", str(ports.ticketnet_sftp),
             "--interval", "2", "--seed", "2026"],
        )  # fmt: skip
        every = self.secutix_tickets_every
        say(
            f"SecuTix sandbox: SFTP on 127.0.0.1:{ports.secutix_sftp}, the reseller answers "
            "every 2 s" + (f", writes a TICKETS file every {every:g} s" if every else "")
        )
        self.start(
            "secutix-sandbox",
            [self.python, "-m", "devtools", "secutix-sandbox", "serve",
             "--root", str(self.secutix_sandbox_root), "--port", str(ports.secutix_sftp),
             "--interval", "2", "--seed", "2026",
             *(["--tickets-every", f"{every:g}"] if every else [])],
        )  # fmt: skip
        say(f"Mail sink: SMTP on 127.0.0.1:{ports.smtp}, messages at {self.mail_page}")
        self.start(
            "mailsink",
            [self.python, "-m", "devtools", "mailsink", "serve",
             "--dir", str(self.mail_dir), "--port", str(ports.smtp),
             "--web-port", str(ports.mail_page)],
        )  # fmt: skip
        if self.realtime:
            self.start_realtime()

    def start_realtime(self) -> None:
        """The real-time service over the stack's box office (seeded already), then each
        real-time reseller's settings recorded, its key issued and its sandbox started."""
        port, logs = self.ports.realtime, self.shown(self.logs)
        say(f"Real-time service: {self.realtime_url} (log: {logs}/realtime-service.log)")
        self.start(
            "realtime-service",
            [self.python, "-m", "reseller_sync", "realtime", "serve",
             "--host", "127.0.0.1", "--port", str(port)],
        )  # fmt: skip
        for reseller, prefix in REALTIME_RESELLERS.items():
            self.issue_api_key(reseller)
            every = self.realtime_customers_every
            report = self.ports.report_port(reseller)
            say(
                f"{reseller} sandbox: sales report on http://127.0.0.1:{report}"
                + (f", a customer every {every:g} s" if every else "")
            )
            self.start(
                f"{reseller}-sandbox",
                [self.python, "-m", "devtools", "realtime-sandbox", "serve",
                 "--base-url", self.realtime_url,
                 "--key-file", str(self.api_key_file(reseller)),
                 "--reseller", reseller, "--state", str(self.realtime_books(reseller)),
                 "--prefix", prefix, "--port", str(report),
                 "--interval", f"{every or 0:g}", "--seed", "2026"],
            )  # fmt: skip
        self.wait_for(self.realtime_serves, "the real-time service", 120)

    def issue_api_key(self, reseller: str) -> None:
        """The reseller's settings recorded (as its onboarding would), then a key issued by
        the operator command and kept in its file, readable by this user only: never
        printed."""
        self.run("reseller_sync", reseller, "record")
        key_file = self.api_key_file(reseller)
        key_file.parent.mkdir(parents=True, exist_ok=True)
        issued = subprocess.run(
            [self.python, "-m", "reseller_sync", "realtime", "keys", "issue", reseller],
            check=True,
            cwd=self.root,
            env=self.environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        key_file.touch(mode=0o600)
        key_file.write_text(issued.stdout.strip() + "\n")
        say(f"  {reseller}: API key issued, kept in {self.shown(key_file)}")

    def realtime_serves(self) -> bool:
        """The service answers its health check."""
        try:
            with urllib.request.urlopen(f"{self.realtime_url}/health", timeout=5) as answer:
                return bool(answer.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def start_airflow(self) -> None:
        """Airflow, in the background, until it is healthy; then logged in."""
        env, logs = self.airflow_environment(), self.shown(self.logs)
        say("Airflow: migrating its metadata database ...")
        subprocess.run(
            ["airflow", "db", "migrate"],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if self.distributed:
            self.start_distributed(env)
        else:
            say(f"Airflow: starting (log: {logs}/airflow.log) on {self.base} ...")
            self.start("airflow", ["airflow", "standalone"], env=env)
        self.wait_for(self.healthy, "Airflow to be healthy", 240)
        self.login()

    def start_distributed(self, env: Mapping[str, str]) -> None:
        """Each Airflow component in its own process, tasks run by Celery workers."""
        cluster, logs = self.distributed, self.shown(self.logs)
        assert cluster is not None
        say(f"Airflow (CeleryExecutor): starting its components (logs: {logs}/) on {self.base}")
        for component in ("api-server", "scheduler", "dag-processor", "triggerer"):
            self.start(component, ["airflow", component], env=env)
        for worker, log_port in zip(cluster.workers, cluster.worker_log_ports, strict=True):
            say(f"  Celery worker {worker}: queue {cluster.queue}, {cluster.concurrency} slots")
            worker_env = {
                **env,
                WORKER_NAME_VARIABLE: worker,
                "AIRFLOW__CORE__HOSTNAME_CALLABLE": "devtools.devstack.worker_hostname",
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(log_port),
            }
            self.start(
                worker,
                ["airflow", "celery", "worker", "--celery-hostname", f"{worker}@%h",
                 "--concurrency", str(cluster.concurrency), "--queues", cluster.queue,
                 "--without-gossip", "--without-mingle"],
                env=worker_env,
            )  # fmt: skip

    # ------------------------------------------------------------------ REST API

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base}/api/v2/monitor/health", timeout=5) as answer:
                health = json.load(answer)
        except (urllib.error.URLError, OSError, ValueError):
            return False
        return all(part.get("status") == "healthy" for part in health.values())

    @property
    def password_file(self) -> Path:
        return self.airflow_home / "simple_auth_manager_passwords.json.generated"

    def password(self) -> str:
        return str(json.loads(self.password_file.read_text())["admin"])

    def login(self) -> None:
        request = urllib.request.Request(
            f"{self.base}/auth/token",
            method="POST",
            data=json.dumps({"username": "admin", "password": self.password()}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            self.token = json.load(answer)["access_token"]

    def api(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """One call of the REST API; its JSON answer. A server error (5xx) is tried again,
        ``API_ATTEMPTS`` times in all, 3 s apart: see :data:`API_ATTEMPTS`."""
        for attempt in range(1, API_ATTEMPTS + 1):
            request = urllib.request.Request(
                f"{self.base}/api/v2{path}",
                method=method,
                data=json.dumps(body).encode() if body is not None else None,
                headers={
                    "Authorization": f"Bearer {self.token}",
                    "Content-Type": "application/json",
                },
            )
            try:
                with urllib.request.urlopen(request, timeout=30) as answer:
                    return json.load(answer)
            except urllib.error.HTTPError as error:
                if error.code < 500 or attempt == API_ATTEMPTS:
                    raise
                error.close()
            time.sleep(3)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def wait_for(self, ready: Callable[[], T | None], what: str, seconds: float) -> T:
        deadline = time.monotonic() + seconds
        logs = self.shown(self.logs)
        while time.monotonic() < deadline:
            if result := ready():
                return result
            for process in self.processes:
                if process.poll() is not None:
                    name = self.names[process.pid]
                    raise StackError(f"{name} stopped; see {logs}/{name}.log")
            time.sleep(2)
        raise StackError(f"Gave up waiting for {what} after {seconds:.0f} s; see {logs}/")

    def dag_is_ready(self, dag_id: str) -> bool:
        """Parsed, and unpaused: ready to run."""
        try:
            self.api("PATCH", f"/dags/{dag_id}", {"is_paused": False})
        except urllib.error.HTTPError:
            return False
        return True

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None) -> str:
        self.wait_for(lambda: self.dag_is_ready(dag_id), f"{dag_id} to be parsed", 180)
        run = self.api(
            "POST", f"/dags/{dag_id}/dagRuns", {"logical_date": None, "conf": conf or {}}
        )
        return str(run["dag_run_id"])

    def run_state(self, dag_id: str, run_id: str) -> str:
        return str(self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}")["state"])

    def task_state(self, dag_id: str, run_id: str, task_id: str) -> str | None:
        instance = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}")
        return instance["state"]

    def awaits_input(self, dag_id: str, run_id: str, task_id: str) -> bool:
        return self.task_state(dag_id, run_id, task_id) == "awaiting_input"

    def has_task(self, dag_id: str, task_id: str) -> bool:
        """The DAG (parsed) has a task of that id."""
        try:
            self.api("GET", f"/dags/{dag_id}/tasks/{task_id}")
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return False
            raise
        return True

    def finish(
        self,
        dag_id: str,
        run_id: str,
        approve: str | None = None,
        seconds: float = 600,
        meanwhile: Callable[[], object] | None = None,
    ) -> str:
        """Wait for the run to end, approving its human step ``approve`` when it asks.

        ``meanwhile`` is called at each look while the run goes on: the partner's part
        (see :class:`TicketnetAtWork`).
        """
        if approve and not self.has_task(dag_id, approve):
            raise StackError(f"{dag_id} has no task {approve} to approve (see APPROVAL_TASKS)")
        approved = False

        def done() -> str | None:
            nonlocal approved
            if meanwhile is not None:
                meanwhile()
            if approve and not approved and self.awaits_input(dag_id, run_id, approve):
                time.sleep(APPROVAL_GRACE_SECONDS)
                say(f"  {dag_id}: a person approves '{approve}' (Required Actions)")
                self.api(
                    "PATCH",
                    f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{approve}/-1/hitlDetails",
                    {"chosen_options": ["Approve"], "params_input": {}},
                )
                approved = True
            state = self.run_state(dag_id, run_id)
            return state if state in ("success", "failed") else None

        return self.wait_for(done, f"{dag_id} to finish", seconds)

    # ------------------------------------------------------------------ FNAC

    def partner(self) -> Any:
        """FNAC itself, to make it send files (sales, cancellations...) into the sandbox."""
        from devtools.sandboxes.fnac import CodeBook, FnacPartner
        from devtools.sandboxes.fnac.server import DEMO_USERNAME

        return FnacPartner(self.sandbox_root, DEMO_USERNAME, CodeBook.from_mappings(), seed=2026)

    # ------------------------------------------------------------------ Ticketnet

    def ticketnet_partner(self) -> TicketnetPartner:
        """Ticketnet itself, on the Ticketnet sandbox's folder: to make it answer OFFER
        batches and send SALES batches (sales, refunds, test tickets...).

        It shares its state with the sandbox server's own loop, under a file lock.
        """
        from devtools.sandboxes.sftp import DEMO_USERNAME
        from devtools.sandboxes.ticketnet import TicketnetPartner

        return TicketnetPartner(self.ticketnet_sandbox_root, DEMO_USERNAME, seed=2026)

    # ------------------------------------------------------------------ SecuTix

    def secutix_partner(self) -> SecutixPartner:
        """The SecuTix reseller itself, on its sandbox's folder: to make it sell and
        refund, and write its TICKETS files. It shares its state with the sandbox server's
        own loop, under a file lock."""
        from devtools.sandboxes.secutix import SecutixPartner
        from devtools.sandboxes.sftp import DEMO_USERNAME

        return SecutixPartner(self.secutix_sandbox_root, DEMO_USERNAME, seed=2026)

    def boxoffice_engine(self) -> Engine:
        """The box office the stack's Airflow works on (read by the partners' drivers)."""
        from reseller_sync.boxoffice.db import URL_VARIABLE, database_url, make_engine

        return make_engine(self.environment().get(URL_VARIABLE) or database_url())


class PartnerAtWork(ABC):
    """A reseller's part in an onboarding run of ``product`` at it (:meth:`onboard`), played
    round by round (:meth:`play_round`) while the run waits."""

    def __init__(self, stack: Stack, reseller: str, product: str, *, grace_seconds: float) -> None:
        from reseller_sync.core.resellers import reseller_type

        self.stack, self.reseller, self.product = stack, reseller, product
        self.grace_seconds = grace_seconds
        self.dag_id = reseller_type(reseller).dag_id("onboarding", product)
        self.run_id = ""

    def onboard(self, seconds: float = 900) -> str:
        """Trigger the product's onboarding at the reseller, approve its human step, play
        the reseller's part until the run ends; the run's state (its id in ``run_id``)."""
        self.run_id = self.stack.trigger(self.dag_id)
        return self.stack.finish(
            self.dag_id,
            self.run_id,
            approve=APPROVAL_TASKS[self.reseller],
            seconds=seconds,
            meanwhile=self.play_round,
        )

    @abstractmethod
    def play_round(self) -> None:
        """The reseller's part at one look of the stack at the run."""


class FileResellerAtWork(PartnerAtWork):
    """A file reseller's part, and its inbound DAG's, in an onboarding run, played round by
    round: the reseller answers the organiser's files at every round (:meth:`answer`); once
    no task of the run has been busy for ``grace_seconds`` (:meth:`settled`, see
    :class:`TicketnetAtWork` for why), it makes its next move (:meth:`move`), which may be to
    run the inbound DAG on the files it wrote (:meth:`run_inbound`)."""

    BUSY = frozenset({"scheduled", "queued", "running", "restarting", "up_for_retry"})
    """Task states of a step on its way somewhere (to deferring, say)."""
    NAME: ClassVar[str]
    """The reseller as the stack's messages name it."""

    def __init__(self, stack: Stack, reseller: str, product: str, *, grace_seconds: float) -> None:
        from reseller_sync.core.resellers import reseller_type

        super().__init__(stack, reseller, product, grace_seconds=grace_seconds)
        self.inbound = reseller_type(reseller).dag_id("inbound")
        self.inbound_runs: list[tuple[str, str]] = []
        """(run id, state) of each inbound run played meanwhile."""
        self._engine: Engine | None = None
        self._quiet_since: float | None = None

    @abstractmethod
    def answer(self) -> None:
        """Answer the organiser's files (under the partner's file lock), at every round."""

    @abstractmethod
    def move(self) -> bool:
        """The reseller's next move, or the inbound DAG's, if one is due; whether one was."""

    @abstractmethod
    def sandbox_error(self) -> type[Exception]:
        """What the reseller's sandbox raises for a move it could not make."""

    def play_round(self) -> None:
        """One round: answer the organiser's files; then, the run settled, one more move."""
        self.answer()
        if not self.settled():
            return
        try:
            moved = self.move()
        except self.sandbox_error() as error:  # the reseller could not: said, the run goes on
            say(f"  {self.NAME}: {error}")
            moved = True
        if moved:  # what went may wake a step: let the run settle again
            self._quiet_since = None

    def settled(self) -> bool:
        """No task of the run scheduled, queued or running for ``grace_seconds``."""
        path = f"/dags/{self.dag_id}/dagRuns/{self.run_id}/taskInstances"
        instances = self.stack.api("GET", path)["task_instances"]
        if any(instance["state"] in self.BUSY for instance in instances):
            self._quiet_since = None
            return False
        now = time.monotonic()
        if self._quiet_since is None:
            self._quiet_since = now
        return now - self._quiet_since >= self.grace_seconds

    def wrote(self, what: str, name: str) -> None:
        say(f"  {self.NAME} {what}: {name}")

    def run_inbound(self, waiting: list[str]) -> str:
        """Run the inbound DAG to its end, now; its state. A failed run stops the play."""
        say(f"  {self.inbound} integrates {', '.join(waiting)} ...")
        run_id = self.stack.trigger(self.inbound)
        state = self.stack.finish(self.inbound, run_id)
        self.inbound_runs.append((run_id, state))
        say(f"  {self.inbound}: {state}")
        if state != "success":
            raise StackError(f"{self.inbound} {run_id} {state}; see its task logs in the UI")
        return state

    def tested(self) -> bool:
        """The organiser has seen the test (or opening) tickets valid: the product is
        ``tested`` (or further) at the reseller in the box office."""
        from sqlalchemy.orm import Session

        from reseller_sync.boxoffice.models import OnboardingState
        from reseller_sync.pipelines.onboarding_state import ORDER, onboarding_state

        if self._engine is None:
            self._engine = self.stack.boxoffice_engine()
        with Session(self._engine) as session:
            state = onboarding_state(session, self.reseller, self.product)
        return ORDER.index(state) >= ORDER.index(OnboardingState.TESTED)

    def boxoffice_tickets(self) -> dict[str, int]:
        """The reseller's valid tickets in the box office (its integrated sales), by
        product code."""
        if self._engine is None:
            self._engine = self.stack.boxoffice_engine()
        return valid_tickets_by_product(self._engine, self.reseller)


def valid_tickets_by_product(engine: Engine, reseller: str) -> dict[str, int]:
    """The valid tickets ``reseller`` sold that the box office holds, by product code."""
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from reseller_sync.boxoffice.models import Performance, Product, Ticket, TicketState

    with Session(engine) as session:
        rows = session.execute(
            select(Product.code, func.count(Ticket.id))
            .join(Performance, Ticket.performance_id == Performance.id)
            .join(Product, Performance.product_id == Product.id)
            .where(Ticket.reseller_code == reseller, Ticket.state == TicketState.VALID)
            .group_by(Product.code)
        )
        return {code: count for code, count in rows}


class TicketnetAtWork(FileResellerAtWork):
    """Ticketnet's part, and the hourly DAG's, in an onboarding run of ``product`` at
    Ticketnet (:meth:`onboard`), played round by round while the run waits. Sped up, as
    the real partner and the schedule would play it:

    - Ticketnet answers the OFFER batches (CATALOG, ALLOCATION) with their ACKs;
    - it sells test tickets of each performance it holds places in;
    - once the organiser has seen them valid (the product ``tested`` in the box office),
      it refunds them (reason TEST);
    - when a SALES batch with records waits in ``/from_ticketnet/``, the hourly DAG runs
      to its end (triggered through the REST API); then Ticketnet writes its next hourly
      SALES batch, empty: the waiting step looks at the box office again at each new
      batch. Once the hourly DAG has run, an empty batch also goes every
      ``hour_seconds`` (the hour, sped up) when nothing else did.

    Ticketnet writes a SALES batch, and the hourly DAG runs, only once no task of the
    run has been scheduled, queued or running for ``grace_seconds``: a batch the waiting
    step finds at its trigger's first look can race the scheduler (seen here on Airflow
    3.3.2 under load: the deferring attempt's late executor event fails the resumed
    task, which then waits for its retry). Hence the stack's Ticketnet sandbox does not
    sell test tickets by itself (no ``--auto-test``). Its loop answers the OFFER batches
    every 2 s, and so does each round here: both work under the partner's file lock, and
    whichever comes second finds nothing to do.
    """

    NAME = "Ticketnet"

    def __init__(
        self,
        stack: Stack,
        product: str,
        *,
        hour_seconds: float = 30,
        grace_seconds: float = PARTNER_GRACE_SECONDS,
    ) -> None:
        self.partner = stack.ticketnet_partner()
        super().__init__(stack, "ticketnet", product, grace_seconds=grace_seconds)
        self.hour_seconds = hour_seconds
        self._last_batch = time.monotonic()
        self._hour_due = False

    def answer(self) -> None:
        self.partner.process_offers()

    def sandbox_error(self) -> type[Exception]:
        from devtools.sandboxes.ticketnet import SandboxError

        return SandboxError

    def move(self) -> bool:
        """Ticketnet's next move, or the hourly DAG's, if one is due; whether one was."""
        partner = self.partner
        if partner.untested():
            self.wrote("sells test tickets", partner.emit_tests())
        elif self.tests_to_refund() and self.tested():
            self.wrote("refunds its test tickets", partner.emit_test_refunds())
        elif waiting := self.waiting_sales():
            self.run_inbound(waiting)
            self._hour_due = True
        elif self._hour_due or (
            self.inbound_runs and time.monotonic() - self._last_batch >= self.hour_seconds
        ):
            self.wrote("sends its hourly SALES batch (empty)", partner.emit_sales(tickets=0))
            self._hour_due = False
        else:
            return False
        return True

    def wrote(self, what: str, name: str) -> None:
        super().wrote(what, name)
        self._last_batch = time.monotonic()

    def waiting_sales(self) -> list[str]:
        """The SALES batches with records that wait in ``/from_ticketnet/`` (not applied)."""
        from reseller_sync.ticketnet.names import BatchId

        present = {path.name for path in self.partner.outbox.iterdir()}
        waiting = []
        for sent in self.partner.snapshot().sent:
            batch = BatchId.parse(sent.batch_id)
            if sent.stream != "SALES" or not sent.records or batch is None:
                continue
            if batch.manifest_name in present:
                waiting.append(sent.batch_id)
        return waiting

    def tests_to_refund(self) -> bool:
        """Ticketnet has sold test tickets it has not refunded yet."""
        tickets = self.partner.snapshot().tickets.values()
        return any(ticket.test and not ticket.refunded_by for ticket in tickets)


class SecutixAtWork(FileResellerAtWork):
    """The SecuTix reseller's part, and the 15-minute DAG's, in an onboarding run of
    ``product`` at the reseller (:meth:`onboard`), played round by round while the run
    waits. Sped up, as the real reseller and the schedule would play it:

    - the reseller answers the OFFER and the CONTINGENT with their RESULTs (the sandbox's
      loop does every 2 s, and so does each round here, under the partner's file lock);
    - once the run waits for the opening tickets (``check_opening_tickets``), the reseller
      sells one real ticket per seat category × tariff (``secutix-reseller-v1`` section
      10.1), in a TICKETS file;
    - once the organiser has seen them valid (the product ``tested`` in the box office),
      it refunds every ticket of the product sold so far: the opening tickets, and any a
      customer of the sandbox's own ticks bought meanwhile (whichever the box office took
      as the first of its seat category × tariff);
    - when a TICKETS file with lines waits in ``/to_organiser/``, the 15-minute DAG runs
      to its end (triggered through the REST API); then the reseller writes its next
      TICKETS file, empty: the waiting step looks at the box office again at each new
      file.

    As with :class:`TicketnetAtWork`, the reseller writes a file, and the 15-minute DAG
    runs, only once no task of the run has been busy for ``grace_seconds``.
    """

    NAME = "SecuTix reseller"
    OPENING_TASK = "check_opening_tickets"
    """The onboarding step that waits for the opening tickets (declared in
    ``reseller_sync.secutix.onboarding``)."""

    def __init__(
        self, stack: Stack, product: str, *, grace_seconds: float = PARTNER_GRACE_SECONDS
    ) -> None:
        self.partner = stack.secutix_partner()
        super().__init__(stack, "secutix", product, grace_seconds=grace_seconds)
        self.opening: list[str] = []
        """The barcodes of the opening tickets sold."""
        self.refunded: list[str] = []
        self._file_due = False

    def answer(self) -> None:
        self.partner.pickup()

    def sandbox_error(self) -> type[Exception]:
        from devtools.sandboxes.secutix import SandboxError

        return SandboxError

    def move(self) -> bool:
        """The reseller's next move, or the 15-minute DAG's, if one is due; whether one
        was."""
        partner = self.partner
        if not self.opening and self.waits_for_opening_tickets():
            name, self.opening = partner.open_the_sale(self.product)
            self.wrote(f"sells {len(self.opening)} opening ticket(s)", name)
        elif self.opening and not self.refunded and self.tested():
            self.refunded = self.valid_tickets()
            name = partner.refund_tickets(self.refunded)
            self.wrote(f"refunds {len(self.refunded)} ticket(s), the opening ones", name)
        elif waiting := self.waiting_tickets():
            self.run_inbound(waiting)
            self._file_due = True
        elif self._file_due:
            self.wrote("writes its next TICKETS file (empty)", partner.write_tickets())
            self._file_due = False
        else:
            return False
        return True

    def waits_for_opening_tickets(self) -> bool:
        state = self.stack.task_state(self.dag_id, self.run_id, self.OPENING_TASK)
        return state == "deferred"

    def waiting_tickets(self) -> list[str]:
        """The TICKETS files with lines that wait in ``/to_organiser/`` (not applied)."""
        present = {path.name for path in self.partner.outbox.iterdir()}
        return [
            sent.name
            for sent in self.partner.snapshot().sent
            if sent.type == "TICKETS" and sent.lines and sent.name in present
        ]

    def valid_tickets(self) -> list[str]:
        """The barcodes of the product's tickets sold and not cancelled at the reseller."""
        tickets = self.partner.snapshot().tickets.values()
        return sorted(t.barcode for t in tickets if t.product == self.product and t.valid)


def realtime_settings(reseller: str) -> RealtimeInstanceSettings:
    """A real-time reseller's instance settings (its adapter's)."""
    from reseller_sync.core.resellers import adapter
    from reseller_sync.realtime.instance_settings import RealtimeInstanceSettings

    settings = adapter(reseller).load_settings()
    if not isinstance(settings, RealtimeInstanceSettings):
        raise StackError(f"{reseller} is not a real-time reseller")
    return settings


class RealtimeAtWork(PartnerAtWork):
    """A real-time reseller's part in an onboarding run of ``product`` (:meth:`onboard`),
    played while the run waits. The stack recorded the reseller's settings and issued its
    key before; its sandbox's customers may buy meanwhile (their references never start
    with the test prefix). Once the run waits for the test order (``check_test_order``
    deferred, its attempt waiting for ``grace_seconds`` already), the reseller places it
    through the service: a customer of its sandbox buys the product,
    the reference starting with its settings' ``test_order.reference_prefix``, in the
    sandbox's books (shared with the sandbox's process under their file lock). The run
    then checks it at access control and cancels it as the organiser.
    """

    TEST_ORDER_TASK = "check_test_order"
    """The onboarding step that waits for the test order (declared in
    ``reseller_sync.realtime.onboarding``)."""
    ATTEMPTS = 5
    """Customers tried for the test order (one may find its places taken meanwhile)."""

    def __init__(
        self,
        stack: Stack,
        reseller: str,
        product: str,
        *,
        grace_seconds: float = PARTNER_GRACE_SECONDS,
    ) -> None:
        super().__init__(stack, reseller, product, grace_seconds=grace_seconds)
        self.prefix = realtime_settings(reseller).test_order.reference_prefix
        self.test_order: str | None = None
        """The test order's reference, once placed."""
        self._waiting_since: float | None = None
        """When the test order's step was first seen deferred in its current attempt."""

    def play_round(self) -> None:
        """The test order, once the step that waits for it has waited ``grace_seconds``.

        That step looks at the box office every poke interval, each look a short run of
        the task between two deferrals: the run never stays still as long as the grace
        (unlike :class:`TicketnetAtWork`'s), so the grace counts from the attempt's first
        deferral, and the order goes while it is deferred. An order its first look found
        could race the scheduler as a Ticketnet batch can; a new attempt (a retry) waits
        afresh.
        """
        if self.test_order is not None:
            return
        state = self.stack.task_state(self.dag_id, self.run_id, self.TEST_ORDER_TASK)
        if state not in ("deferred", "running"):
            self._waiting_since = None
            return
        now = time.monotonic()
        if state == "deferred" and self._waiting_since is None:
            self._waiting_since = now
        elif (
            state == "deferred"
            and self._waiting_since is not None
            and now - self._waiting_since >= self.grace_seconds
        ):
            self.test_order = self.place_test_order()

    def place_test_order(self) -> str:
        """A customer of the sandbox buys the product under the test prefix; its reference."""
        from devtools.sandboxes.realtime.cli import Books
        from devtools.sandboxes.realtime.client import LossyTransport, RealtimeClient
        from devtools.sandboxes.realtime.customers import Customers, RealClock

        key = self.stack.api_key_file(self.reseller).read_text().strip()
        transport = LossyTransport()
        client = RealtimeClient(self.stack.realtime_url, key, transport=transport)
        outcomes = []
        try:
            with Books(self.stack.realtime_books(self.reseller), self.reseller).open() as ledger:
                customers = Customers(
                    client,
                    transport,
                    ledger,
                    clock=RealClock(),
                    seed=2026,
                    reference_prefix=self.prefix,
                    cancel_rate=0.0,
                    abandon_rate=0.0,
                )
                for _ in range(self.ATTEMPTS):
                    visit = customers.buy(only=self.product)
                    outcomes.append(visit.outcome)
                    if visit.outcome == "sold" and visit.reference:
                        say(f"  {self.reseller} places its test order {visit.reference}")
                        return visit.reference
        finally:
            client.close()
        raise StackError(
            f"{self.reseller} could not place a test order of {self.product}: "
            + "; ".join(outcomes)
        )

    def sales(self) -> tuple[int, int]:
        """What the sandbox's customers did so far, from its books: tickets sold (the
        test order aside) and tickets cancelled."""
        from devtools.sandboxes.realtime.cli import Books

        with Books(self.stack.realtime_books(self.reseller), self.reseller).open() as ledger:
            lines = [
                line
                for order in ledger.orders
                if order.order_id and not order.reseller_order_ref.startswith(self.prefix)
                for line in order.lines
            ]
        return len(lines), sum(1 for line in lines if line.cancelled)


# ---------------------------------------------------------------------- process tree


def _stat(pid: int | str) -> list[str] | None:
    """The fields of ``/proc/PID/stat`` after the command name (state, ppid, ...)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _start_time(pid: int) -> str | None:
    """When ``pid`` started (clock ticks since boot): tells a process from a reused pid."""
    fields = _stat(pid)
    return fields[19] if fields else None


def _descendants(pid: int) -> list[tuple[int, str]]:
    """``pid``'s children, grandchildren... as they are now, with their start times."""
    children: dict[int, list[tuple[int, str]]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(entry.name)):
            children.setdefault(int(fields[1]), []).append((int(entry.name), fields[19]))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child[0])
    return found


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signum)


def _signal_pid(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)
