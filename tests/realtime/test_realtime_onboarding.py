"""A synchronous reseller's onboarding of a product (realtime-api-v1 sections 1, 2, 7 and 9),
each step's function on the demo box office; the test order placed over HTTP against the
service (``create_app`` served by uvicorn), as the reseller's client does."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowSkipException
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from reseller_sync.airflow.steps import DRY_RUN, NOT_YET, RESEND_SALE_SHEET
from reseller_sync.boxoffice import db
from reseller_sync.boxoffice.db import make_engine
from reseller_sync.boxoffice.models import (
    AccessControlEntry,
    OnboardingState,
    Performance,
    Product,
    ProductChannel,
    Quota,
    RealtimeChannelTariff,
    RealtimeReseller,
    RealtimeSaleWindow,
    ResellerProduct,
    SalesChannel,
    SeatCategory,
    Ticket,
    TicketState,
)
from reseller_sync.classictic.settings import load_settings as load_classictic
from reseller_sync.core.resellers import reseller_type
from reseller_sync.digitick.settings import load_settings as load_digitick
from reseller_sync.domain.errors import ExternalError, MappingError, TechnicalError
from reseller_sync.realtime import onboarding as module
from reseller_sync.realtime.instance_settings import RealtimeInstanceSettings
from reseller_sync.realtime.onboarding import RealtimeOnboarding
from reseller_sync.realtime.settings import issue_key
from tests.realtime.realtime_sales import get_order_over_http, order_over_http, serving

CONCERT = "EVT-LUMEN"
OPEN_PASS = "PASS-MAH-LIBRE"


@dataclass
class World:
    engine: Engine
    form: dict[str, Any]

    def onboarding(self, code: str) -> RealtimeOnboarding:
        loaders: dict[str, Callable[[], RealtimeInstanceSettings]] = {
            "digitick": load_digitick,
            "classictic": load_classictic,
        }
        return RealtimeOnboarding(reseller_type(code), loaders[code])

    def key(self, code: str) -> str:
        with Session(self.engine) as session, session.begin():
            return issue_key(session, code, dt.datetime.now(dt.UTC))

    def state(self, code: str, product: str) -> OnboardingState | None:
        with Session(self.engine) as session:
            return session.scalar(
                select(ResellerProduct.state)
                .join(Product, ResellerProduct.product_id == Product.id)
                .where(ResellerProduct.reseller_code == code, Product.code == product)
            )

    def allowed(self, barcodes: list[str]) -> list[bool]:
        with Session(self.engine) as session:
            return [
                bool(allowed)
                for allowed in session.scalars(
                    select(AccessControlEntry.allowed)
                    .where(AccessControlEntry.barcode.in_(barcodes))
                    .order_by(AccessControlEntry.barcode)
                )
            ]


@pytest.fixture
def world(
    sqlite_demo_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[World]:
    """A copy of the demo box office as the default database; the run's form outside a task."""
    box_office = tmp_path / "boxoffice.sqlite"
    shutil.copy(sqlite_demo_template, box_office)
    monkeypatch.setenv(db.URL_VARIABLE, f"sqlite:///{box_office}")
    db.default_engine.cache_clear()
    form: dict[str, Any] = {DRY_RUN: False, RESEND_SALE_SHEET: False}
    monkeypatch.setattr(module, "form_values", lambda: form)
    engine = make_engine(f"sqlite:///{box_office}")
    yield World(engine, form)
    engine.dispose()
    db.default_engine.cache_clear()


def test_the_steps_are_declared_in_the_issue_s_order(world: World) -> None:
    onboarding = world.onboarding("digitick")
    assert [step.task_id for step in onboarding.steps()] == [
        "check_product",
        "put_on_channel",
        "confirm_at_reseller",
        "check_mappings",
        "check_test_order",
        "open_sales",
    ]
    doc = onboarding.doc(CONCERT)
    assert doc.lstrip().startswith("### ")
    for said in (CONCERT, "Digitick", "DGT-TEST-", "Q-DIGITICK", "Required Actions"):
        assert said in doc


def test_digitick_puts_the_concert_on_sale_and_checks_its_test_order(world: World) -> None:
    onboarding = world.onboarding("digitick")
    checked = onboarding.check_product(CONCERT)
    assert checked["performances"] == ["S1", "S2", "S3"]
    assert checked["places"] > 0
    assert checked["tariffs_opened"] > 0

    put = onboarding.put_on_channel(CONCERT)
    assert put == checked
    assert world.state("digitick", CONCERT) is OnboardingState.PLACES_SENT
    with Session(world.engine) as session:
        channel = session.scalar(select(SalesChannel.id).where(SalesChannel.code == "DIGITICK"))
        assert session.scalar(select(RealtimeReseller.channel_id)) == channel
        windows = session.scalars(
            select(RealtimeSaleWindow).where(RealtimeSaleWindow.channel_id == channel)
        ).all()
        assert len(windows) == 3
        tariffs = session.scalars(
            select(RealtimeChannelTariff).where(RealtimeChannelTariff.channel_id == channel)
        ).all()
        assert len(tariffs) == checked["tariffs_opened"]
    assert onboarding.put_on_channel(CONCERT) == checked, "done again, the same"
    assert onboarding.check_mappings(CONCERT)
    assert world.state("digitick", CONCERT) is OnboardingState.PLACES_SENT, "never back"
    key = world.key("digitick")

    assert onboarding.check_test_order(CONCERT) is NOT_YET
    with serving(world.engine) as service:
        order_over_http(service.base_url, key, CONCERT, "DGT-000001")
        assert onboarding.check_test_order(CONCERT) is NOT_YET, "not a test reference"
        placed = order_over_http(service.base_url, key, CONCERT, "DGT-TEST-0001")
        barcodes = sorted(ticket["barcode"] for ticket in placed["tickets"])
        assert world.allowed(barcodes) == [True, True]

        done = onboarding.check_test_order(CONCERT)

        assert isinstance(done, dict)
        assert done["order"] == placed["id"]
        assert done["reseller_order_ref"] == "DGT-TEST-0001"
        assert (done["tickets"], sorted(done["barcodes"])) == (2, barcodes)
        assert done["accepted_checked_while_valid"] is True
        assert done["flagged_as_test"] is True
        seen = get_order_over_http(service.base_url, key, placed["id"])
    assert seen["status"] == "cancelled"
    [cancellation] = seen["cancellations"]
    assert cancellation["id"] == done["cancellation"]
    assert cancellation["initiated_by"] == "organiser"
    assert cancellation["reseller_cancellation_ref"] is None
    assert world.allowed(barcodes) == [False, False]
    assert world.state("digitick", CONCERT) is OnboardingState.TESTED

    again = onboarding.check_test_order(CONCERT)
    assert isinstance(again, dict)
    assert (again["order"], again["cancellation"]) == (placed["id"], None)
    assert again["accepted_checked_while_valid"] is False
    assert again["flagged_as_test"] is False, "flagged once"
    assert onboarding.open_sales(CONCERT) == "live"
    assert world.state("digitick", CONCERT) is OnboardingState.LIVE


def test_a_barcode_access_control_refuses_fails_the_step_and_cancels_nothing(
    world: World,
) -> None:
    from reseller_sync.realtime.settings import reseller_context
    from tests.realtime.realtime_sales import order_in_store

    onboarding = world.onboarding("digitick")
    onboarding.put_on_channel(CONCERT)
    with Session(world.engine) as session, session.begin():
        context = reseller_context(session, "digitick")
        placed = order_in_store(session, context, CONCERT, "DGT-TEST-0002", dt.datetime.now(dt.UTC))
        barcode = placed["tickets"][0]["barcode"]
        session.execute(
            update(AccessControlEntry)
            .where(AccessControlEntry.barcode == barcode)
            .values(allowed=False)
        )

    with pytest.raises(TechnicalError, match="test order") as failed:
        onboarding.check_test_order(CONCERT)

    assert [problem.value for problem in failed.value.problems] == [barcode]
    with Session(world.engine) as session:
        states = session.scalars(select(Ticket.state).where(Ticket.order_id.is_not(None))).all()
        assert TicketState.VALID in {TicketState(state) for state in states}
    assert "DGT-TEST-" in str(onboarding.test_order_late(CONCERT).action)
    assert isinstance(onboarding.test_order_late(CONCERT), ExternalError)


def test_classictic_sells_events_alone(world: World) -> None:
    onboarding = world.onboarding("classictic")
    for product in ("CMP-LYON-NANTES", "PASS-MAH-JOUR", OPEN_PASS, "ABO-ARENA-SAISON"):
        with pytest.raises(MappingError) as refused:
            onboarding.check_product(product)
        assert "ClassicTic (realtime-api-v1 section 2)" in str(refused.value.problems[0])
    onboarding.put_on_channel(CONCERT)
    key = world.key("classictic")
    with serving(world.engine) as service:
        import httpx

        shown = httpx.get(
            f"{service.base_url}/products", headers={"Authorization": f"Bearer {key}"}
        ).json()
    assert [product["id"] for product in shown["products"]] == [CONCERT]
    assert shown["product_kinds"] == ["event"]
    assert shown["price_check"] == {"compare": "price", "policy": "warn"}
    assert shown["limits"]["max_places_per_hold"] == 8
    tariffs = {
        tariff["id"]
        for performance in shown["products"][0]["performances"]
        for category in performance["categories"]
        for tariff in category["tariffs"]
    }
    assert tariffs == {"PLEIN", "REDUIT"}, "the tariffs offered, not ENFANT"


def test_a_product_without_places_in_the_quota_is_refused_with_each_problem(
    world: World,
) -> None:
    """The match has no Digitick quota in the demo."""
    onboarding = world.onboarding("digitick")
    with pytest.raises(MappingError) as refused:
        onboarding.check_product("CMP-LYON-NANTES")
    assert ["no place in quota Q-DIGITICK" in str(p) for p in refused.value.problems] == [True]
    with Session(world.engine) as session:
        channel = session.scalar(select(SalesChannel.id).where(SalesChannel.code == "DIGITICK"))
        assert (
            session.scalars(
                select(ProductChannel).where(ProductChannel.channel_id == channel)
            ).all()
            == []
        )


def test_a_pass_quota_gets_its_category_and_a_dry_run_changes_nothing(world: World) -> None:
    onboarding = world.onboarding("digitick")
    with Session(world.engine) as session, session.begin():
        session.execute(update(Quota).where(Quota.code == "Q-DIGITICK").values(category_id=None))
    world.form[DRY_RUN] = True
    shown = onboarding.check_product(OPEN_PASS)
    assert shown["dry_run"] is True
    with pytest.raises(AirflowSkipException):
        onboarding.put_on_channel(OPEN_PASS)
    with pytest.raises(AirflowSkipException):
        onboarding.check_test_order(OPEN_PASS)
    with Session(world.engine) as session:
        assert session.scalars(select(RealtimeReseller)).all() == []

    world.form[DRY_RUN] = False
    onboarding.put_on_channel(OPEN_PASS)
    with Session(world.engine) as session:
        categories = dict(
            session.execute(
                select(Product.code, SeatCategory.code)
                .select_from(Quota)
                .join(Performance, Performance.id == Quota.performance_id)
                .join(Product, Product.id == Performance.product_id)
                .outerjoin(SeatCategory, SeatCategory.id == Quota.category_id)
                .where(Quota.code == "Q-DIGITICK", Quota.places.is_not(None))
            ).all()
        )
    assert categories == {OPEN_PASS: "ENTREE", "PASS-MAH-JOUR": None}, "the pass onboarded only"


def test_the_record_command_records_the_settings_before_any_product(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    from reseller_sync.cli import main

    url = world.engine.url.render_as_string(hide_password=False)
    assert main(["classictic", "record", "--database-url", url]) == 0
    said = capsys.readouterr().out
    assert "ClassicTic recorded" in said
    assert "kinds event, price check price warn, 8 places per hold" in said
    with Session(world.engine) as session:
        recorded = session.get_one(RealtimeReseller, "classictic")
        assert (recorded.product_kinds, recorded.price_policy) == ("event", "warn")
    assert world.key("classictic").startswith("rsk_"), "its key can be issued now"
