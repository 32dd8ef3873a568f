"""The whole interface, running, for a browser: sandbox, mail sink, Airflow and Chromium.

``fnac_stack`` (module scope: stopped as soon as the browser tests are done,
so that its scheduler, API server and triggerer do not slow the rest of the
suite) starts what ``make demo`` starts, with the same
launcher (``devtools.devstack``), but on free ports of 127.0.0.1 (never
8080: a demo may hold it) and with all state in a temporary folder: Airflow's
home, the box office (SQLite, seeded with the demo data), the sandbox's files,
the mails, the reports and the services' logs. FNAC plays its part during the
test (the sandbox answers every 2 s and sends each onboarded product's TEST
file) and the waiting tasks look every 3 s. Every process started, and every
process those started, is stopped at the end, whatever happened.

``browser`` is Debian's Chromium (``/usr/bin/chromium``, installed by
``scripts/test``) driven by Playwright: no browser download. Screenshots go to
``test-artifacts/browser/``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.devstack import Ports, Stack, StackError, free_ports, isolated_environment

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM_ARGS = [
    "--no-sandbox",  # we run as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",  # this machine's network is closed: no call home
    "--disable-component-update",
    "--disable-sync",
]
ONBOARDING_DAG = "fnac_onboarding__pass-mah-jour"
"""Parsed and unpaused when the stack is ready (the test onboards this pass)."""


@pytest.fixture(scope="module")
def fnac_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Sandbox, mail sink and ``airflow standalone`` on free ports, the FNAC DAGs parsed."""
    tmp = tmp_path_factory.mktemp("stack")
    *ports, worker_logs, trigger_logs = free_ports(6)
    stack = Stack(
        state_dir=tmp,
        airflow_home=tmp / "airflow",
        ports=Ports(*ports),
        host="127.0.0.1",
        poke_seconds=3,
        env=isolated_environment(
            tmp,
            boxoffice_url=f"sqlite:///{tmp / 'boxoffice.sqlite'}",
            trigger_log_port=trigger_logs,
            worker_log_port=worker_logs,
        ),
    )
    try:
        stack.fresh_state()
        stack.seed_boxoffice()
        stack.start_services()
        stack.wait_for(lambda: stack.dag_is_ready(ONBOARDING_DAG), "the FNAC DAGs", 180)
        yield stack
    except StackError as error:
        pytest.fail(f"{error}\n{stack.log_tails()}")
    finally:
        stack.stop(quiet=True)
        _keep_logs(stack)


def _keep_logs(stack: Stack) -> None:
    """The services' logs beside the screenshots, for a failure seen only in CI."""
    target = ARTIFACTS / "logs"
    shutil.rmtree(target, ignore_errors=True)
    if stack.logs.exists():
        shutil.copytree(stack.logs, target)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    return ARTIFACTS


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's Chromium, headless, with a fresh profile, driven by Playwright."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium); "
            "Playwright's own browser download is not used"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # Playwright gives Chromium a new empty profile (--user-data-dir) of its own.
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()
