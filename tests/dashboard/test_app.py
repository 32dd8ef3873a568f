"""The dashboard app through FastAPI's TestClient, mounted under /fnac as Airflow mounts it."""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from jwt import InvalidTokenError

from reseller_sync.config.paths import PROJECT_ROOT
from reseller_sync.dashboard import url_prefix
from reseller_sync.dashboard.app import create_app
from reseller_sync.dashboard.auth import AirflowUiUser
from reseller_sync.fnac.settings import FnacSettings
from tests.dashboard.activity import NOW, RAW_MARKER, SCRIPT

ESCAPED_SCRIPT = "&lt;script&gt;"
VIEWER_TOKEN = "viewer-token"
OUTSIDER_TOKEN = "outsider-token"


class FakeAuthManager:
    """Airflow's auth manager API as the dashboard uses it: two known tokens."""

    def __init__(self) -> None:
        self.users = {VIEWER_TOKEN: "viewer", OUTSIDER_TOKEN: "outsider"}

    async def get_user_from_token(self, token: str) -> str:
        if token not in self.users:
            raise InvalidTokenError("unknown token")
        return self.users[token]

    def is_authorized_view(self, *, access_view: Any, user: str) -> bool:
        return access_view.value == "WEBSITE" and user == "viewer"

    def is_authorized_dag(
        self, *, method: str, user: str, access_entity: Any = None, details: Any = None
    ) -> bool:
        """The viewer reads DAGs; it may not change them (clear their tasks)."""
        return method == "GET" and user == "viewer"

    def get_url_login(self, **kwargs: Any) -> str:
        return "/auth/login?" + urlencode({"next": kwargs["next_url"]})


def _mounted(app: FastAPI, reseller: str = "fnac") -> FastAPI:
    root = FastAPI()
    root.mount(url_prefix(reseller), app)
    return root


@pytest.fixture(scope="module")
def anonymous(sessions: Any, fnac_settings: FnacSettings) -> Iterator[TestClient]:
    app = create_app(
        "fnac",
        sessions=sessions,
        settings=lambda: fnac_settings,
        now=lambda: NOW,
        user=AirflowUiUser(FakeAuthManager),
    )
    with TestClient(_mounted(app), follow_redirects=False) as client:
        yield client


@pytest.fixture(scope="module")
def client(anonymous: TestClient) -> TestClient:
    """A person logged into the Airflow UI: the UI's ``_token`` cookie."""
    logged_in = TestClient(anonymous.app, follow_redirects=False)
    logged_in.cookies.set("_token", VIEWER_TOKEN)
    return logged_in


def _row(html: str, attribute: str) -> str:
    match = re.search(rf"<tr [^>]*{re.escape(attribute)}[^>]*>", html)
    assert match, attribute
    return match.group(0)


# --------------------------------------------------------------------------- login


def test_a_browser_without_login_is_sent_to_airflows_login(anonymous: TestClient) -> None:
    response = anonymous.get("/fnac/journal?state=failed", headers={"accept": "text/html"})
    assert response.status_code == 303
    assert response.headers["location"] == "/auth/login?" + urlencode(
        {"next": "http://testserver/fnac/journal?state=failed"}
    )


@pytest.mark.parametrize("path", ["/fnac/", "/fnac/journal", "/fnac/journal/1", "/fnac/api/sales"])
def test_no_page_is_open_without_a_valid_token(anonymous: TestClient, path: str) -> None:
    assert anonymous.get(path).status_code == 401
    assert anonymous.get(path, headers={"cookie": "_token=forged"}).status_code == 401
    assert anonymous.get(path, headers={"authorization": "Bearer forged"}).status_code == 401


def test_a_user_the_auth_manager_refuses_is_forbidden(anonymous: TestClient) -> None:
    assert (
        anonymous.get("/fnac/", headers={"cookie": f"_token={OUTSIDER_TOKEN}"}).status_code == 403
    )


def test_a_bearer_token_is_accepted_as_the_api_accepts_it(anonymous: TestClient) -> None:
    response = anonymous.get("/fnac/api/sales", headers={"authorization": f"Bearer {VIEWER_TOKEN}"})
    assert response.status_code == 200


def test_the_nav_icon_is_public(anonymous: TestClient) -> None:
    response = anonymous.get("/fnac/icon.svg")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")


# --------------------------------------------------------------------------- pages


def test_the_overview_shows_streams_sales_products_and_alerts(client: TestClient) -> None:
    response = client.get("/fnac/")
    assert response.status_code == 200
    html = response.text
    assert "late" in _row(html, 'data-stream="inbound-VENTES"')
    assert "late" not in _row(html, 'data-stream="inbound-ANNUL"')
    assert "late" in _row(html, 'data-stream="outbound-PLACES"')
    assert "1 sent file(s) without ACK" in html
    assert "blocked by" in html
    assert "<svg" in html
    assert "FNAC Paris Ternes (FR0751)" in html
    assert "205.50 EUR" in html
    assert "24.00 CHF" in html
    assert 'href="/dags/fnac_onboarding__evt-lumen" target="_top"' in html
    assert "places_sent" in html
    assert "not delivered: SMTP server unreachable" in html
    assert 'href="/fnac/journal"' in html


def test_partner_values_stay_text(client: TestClient) -> None:
    """A shop or an error value called <script> is escaped, in tables and in charts."""
    pages = [client.get("/fnac/").text, client.get("/fnac/sales?day=2026-11-28").text]
    failed = client.get("/fnac/journal?state=failed").text
    file_id = re.search(r'href="/fnac/journal/(\d+)"', failed)
    assert file_id
    pages.append(client.get(f"/fnac/journal/{file_id.group(1)}").text)
    for html in pages:
        assert SCRIPT not in html
        assert "<script" not in html
        assert ESCAPED_SCRIPT in html


def test_the_journal_filters_and_searches(client: TestClient) -> None:
    def names(query: str) -> list[str]:
        response = client.get(f"/fnac/journal?{query}")
        assert response.status_code == 200
        return re.findall(r'href="/fnac/journal/\d+">([^<]+)</a>', response.text)

    assert len(names("")) == 6
    assert sorted(names("direction=outbound")) == [
        "FICHE_M0427_000001_20261128090000.csv",
        "PLACES_M0427_000001_20261128120000.csv",
    ]
    assert names("type=VENTES&state=failed") == ["VENTES_M0427_000002_20261128140500.csv"]
    assert names("q=no+mapping+for") == ["VENTES_M0427_000002_20261128140500.csv"]
    assert names("q=ack_fiche") == ["ACK_FICHE_M0427_000001_20261128090000.csv"]
    assert names("direction=&type=&state=&q=") == names("")
    assert client.get("/fnac/journal?direction=sideways").status_code == 422


def test_the_journal_pages_keep_the_filters(client: TestClient) -> None:
    html = client.get("/fnac/journal?direction=inbound&q=M0427").text
    assert "page 1 of 1" in html
    assert 'value="M0427"' in html


def test_a_files_page_shows_its_line_errors(client: TestClient) -> None:
    failed = client.get("/fnac/journal?state=failed").text
    match = re.search(r'href="/fnac/journal/(\d+)"', failed)
    assert match
    html = client.get(f"/fnac/journal/{match.group(1)}").text
    assert "code_manifestation" in html
    assert "no mapping for this manifestation code" in html
    assert "Line-level errors (1)" in html
    assert client.get("/fnac/journal/999999").status_code == 404


def test_the_raw_content_of_a_file_is_never_served(client: TestClient) -> None:
    listing = client.get("/fnac/journal").text
    responses = [listing]
    for file_id in re.findall(r'href="/fnac/journal/(\d+)"', listing):
        responses.append(client.get(f"/fnac/journal/{file_id}").text)
    responses += [client.get(path).text for path in ("/fnac/", "/fnac/sales", "/fnac/api/sales")]
    assert len(responses) == 10
    for text in responses:
        assert RAW_MARKER not in text
    assert "No file matches" in client.get(f"/fnac/journal?q={RAW_MARKER}").text, (
        "the search looks in names and errors, never in the bytes"
    )


def test_the_sales_json_matches_the_page(client: TestClient) -> None:
    data = client.get("/fnac/api/sales?day=2026-11-28").json()
    assert (data["orders"], data["tickets"], data["amounts"]) == (3, 4, {"CHF": 2400, "EUR": 20550})
    assert [line["key"] for line in data["by_point_of_sale"]] == ["FR0751", "FR0999", "CH1201"]
    assert client.get("/fnac/api/sales").json()["day"] == "2026-11-28"
    html = client.get("/fnac/sales?day=2026-11-27").text
    assert "FNAC sales of 2026-11-27" in html
    assert "68.50 EUR" in html


# --------------------------------------------------------------------------- the plugin


@pytest.fixture(scope="module")
def plugin_module() -> Any:
    path = PROJECT_ROOT / "plugins" / "reseller_sync_plugin.py"
    spec = importlib.util.spec_from_file_location("reseller_sync_plugin", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.pop("reseller_sync_plugin", None)
    spec.loader.exec_module(module)
    return module


def test_the_plugin_declares_the_app_and_the_nav_link(plugin_module: Any) -> None:
    from airflow.api_fastapi.app import RESERVED_URL_PREFIXES
    from airflow.api_fastapi.core_api.datamodels.plugins import ExternalViewResponse
    from airflow.plugins_manager import AirflowPlugin

    plugins = [
        value
        for value in vars(plugin_module).values()
        if isinstance(value, type)
        and issubclass(value, AirflowPlugin)
        and value is not AirflowPlugin
    ]
    assert len(plugins) == 1
    plugin = plugins[0]
    assert plugin.name == "reseller_sync"
    apps = plugin.fastapi_apps
    assert [app["url_prefix"] for app in apps] == [
        "/classictic",
        "/digitick",
        "/fnac",
        "/secutix",
        "/ticketnet",
    ]
    for app in apps:
        assert isinstance(app["app"], FastAPI)
        assert not any(app["url_prefix"].startswith(prefix) for prefix in RESERVED_URL_PREFIXES)
    views = plugin.external_views
    for view in views:
        ExternalViewResponse.model_validate(view)
    assert [(view["destination"], view["url_route"], view["href"]) for view in views] == [
        ("nav", "classictic", "classictic/"),
        ("nav", "digitick", "digitick/"),
        ("nav", "fnac", "fnac/"),
        ("nav", "secutix", "secutix/"),
        ("nav", "ticketnet", "ticketnet/"),
    ]


def test_the_plugins_own_apps_refuse_anonymous_requests(plugin_module: Any) -> None:
    for app in plugin_module.ResellerSyncPlugin.fastapi_apps:
        reseller = app["url_prefix"].strip("/")
        with TestClient(_mounted(app["app"], reseller)) as anonymous:
            assert anonymous.get(f"/{reseller}/journal").status_code == 401
            assert anonymous.get(f"/{reseller}/api/sales").status_code == 401


def test_the_plugin_module_is_the_only_one_the_plugins_manager_imports() -> None:
    plugins = PROJECT_ROOT / "plugins"
    assert [p.name for p in plugins.glob("*.py")] == ["reseller_sync_plugin.py"]
    assert "reseller_sync/" in (plugins / ".airflowignore").read_text().splitlines()
    assert Path(plugins / "reseller_sync" / "dashboard" / "__init__.py").exists()


def test_the_pages_name_the_reseller_by_its_display_name(
    sessions: Any, fnac_settings: FnacSettings
) -> None:
    from reseller_sync.config.settings import ResellerSettings

    renamed = fnac_settings.model_copy(
        update={"reseller": ResellerSettings(display_name="Fnac Spectacles")}
    )
    app = create_app(
        "fnac",
        sessions=sessions,
        settings=lambda: renamed,
        now=lambda: NOW,
        user=AirflowUiUser(FakeAuthManager),
    )
    assert app.title == "Fnac Spectacles dashboard"
    with TestClient(_mounted(app), follow_redirects=False) as client:
        client.cookies.set("_token", VIEWER_TOKEN)
        html = client.get("/fnac/").text
        assert "<h1>Fnac Spectacles interface</h1>" in html
        assert "By Fnac Spectacles point of sale" in html
        assert "Fnac Spectacles sales of 2026-11-28" in client.get("/fnac/sales").text
