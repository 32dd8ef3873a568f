"""A real-time reseller's dashboard (Digitick here): its orders, placed through the service's
store functions as its calls place them, are its sales of the day, beside the file
resellers' and apart from them."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.db import make_engine
from reseller_sync.core.resellers import reseller_type
from reseller_sync.dashboard import url_prefix
from reseller_sync.dashboard.app import create_app
from reseller_sync.dashboard.auth import AirflowUiUser
from reseller_sync.dashboard.queries import day_sales, organiser_today
from reseller_sync.digitick.settings import load_settings
from reseller_sync.fnac.settings import load_settings as load_fnac
from reseller_sync.realtime.onboarding import put_on_channel, record_settings
from reseller_sync.realtime.product_check import check_product
from reseller_sync.realtime.settings import reseller_context
from tests.dashboard.test_app import VIEWER_TOKEN, FakeAuthManager
from tests.realtime.realtime_sales import order_in_store

CONCERT = "EVT-LUMEN"
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def engine(
    sqlite_demo_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """The demo box office, the concert on Digitick's channel, two orders of Digitick's."""
    path = tmp_path_factory.mktemp("realtime-dashboard") / "boxoffice.sqlite"
    shutil.copy(sqlite_demo_template, path)
    engine = make_engine(f"sqlite:///{path}")
    settings = load_settings()
    with Session(engine) as session, session.begin():
        verdict = check_product(reseller_type("digitick"), session, settings, CONCERT)
        verdict.raise_for_problems()
        assert verdict.plan is not None
        record_settings(session, reseller_type("digitick"), settings)
        put_on_channel(session, verdict.plan, NOW)
    with Session(engine) as session, session.begin():
        digitick = reseller_context(session, "digitick")
        order_in_store(session, digitick, CONCERT, "DGT-000001", NOW, quantity=2)
        order_in_store(session, digitick, CONCERT, "DGT-000002", NOW, quantity=1)
    yield engine
    engine.dispose()


def test_the_orders_of_a_real_time_reseller_are_its_sales_of_the_day(engine: Engine) -> None:
    settings, fnac = load_settings(), load_fnac()
    with Session(engine) as session:
        sales = day_sales(session, "digitick", settings, organiser_today(settings, NOW))
        others = day_sales(session, "fnac", fnac, organiser_today(fnac, NOW))
    assert (sales.orders, sales.tickets) == (2, 3)
    assert [line.key for line in sales.by_product] == [CONCERT]
    assert sum(sales.amounts.values()) > 0
    assert others.tickets == 0, "FNAC's day holds none of Digitick's tickets"


def test_the_digitick_dashboard_shows_them(engine: Engine) -> None:
    @contextmanager
    def sessions() -> Iterator[Session]:
        with Session(engine) as session:
            yield session

    app = create_app(
        "digitick",
        sessions=sessions,
        settings=load_settings,
        now=lambda: NOW,
        user=AirflowUiUser(cast(Any, FakeAuthManager)),
    )
    root = FastAPI()
    root.mount(url_prefix("digitick"), app)
    with TestClient(root, follow_redirects=False) as client:
        client.cookies.set("_token", VIEWER_TOKEN)
        sold: dict[str, Any] = client.get("/digitick/api/sales").json()
        overview = client.get("/digitick/")
    assert (sold["orders"], sold["tickets"]) == (2, 3)
    assert overview.status_code == 200
    assert CONCERT in overview.text
