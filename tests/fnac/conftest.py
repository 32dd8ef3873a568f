"""Fixtures of FNAC's pipelines: settings, mappings, sessions and FNAC's sandbox."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from devtools.sandboxes.fnac import DEMO_USERNAME, SandboxServer
from reseller_sync.config.paths import PROJECT_ROOT
from reseller_sync.exchange.transport import SftpTransport
from reseller_sync.fnac.outbound import transport_for
from reseller_sync.fnac.settings import FnacSettings, load_settings

SALES_OPEN = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)
"""When sales open at FNAC in the tests: 10:00 in Paris on the demo's reference day."""


@pytest.fixture(scope="session")
def fnac_settings() -> FnacSettings:
    """The project's FNAC settings (include/config/resellers/fnac.yaml)."""
    return load_settings()


@pytest.fixture
def mapping_dir(tmp_path: Path) -> Path:
    """A copy of the project's mapping files, to break at will."""
    return Path(
        shutil.copytree(PROJECT_ROOT / "include" / "mappings" / "fnac", tmp_path / "mappings")
    )


@pytest.fixture
def sessions(demo_engine: Engine) -> sessionmaker[Session]:
    """Sessions on the demo box office for steps that commit (sending, ACKs)."""
    return sessionmaker(demo_engine, expire_on_commit=False)


@pytest.fixture
def sandbox_settings(fnac_settings: FnacSettings, sandbox_conn_id: str) -> FnacSettings:
    """The FNAC settings pointing at the sandbox's connection."""
    sftp = fnac_settings.sftp.model_copy(update={"connection_id": sandbox_conn_id})
    return fnac_settings.model_copy(update={"sftp": sftp})


@pytest.fixture
def transport(sandbox_settings: FnacSettings) -> SftpTransport:
    return transport_for(sandbox_settings, connect_timeout=5, transfer_timeout=5.0)


@pytest.fixture
def fnac_home(sandbox: SandboxServer) -> Path:
    """The organiser's home on the sandbox, on disk: depot/, depot/traites/ and retour/."""
    return sandbox.home(DEMO_USERNAME)
