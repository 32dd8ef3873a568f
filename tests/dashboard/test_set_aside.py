"""Setting a failed file aside from its dashboard page: who may, the cross-site guard, what
is recorded, shown and e-mailed (a real SMTP sink), and that a refusal changes nothing.

Each test has its own copy of the demo box office with the day's activity (VENTES 2
failed for a mapping), the app writing to it as it does in production.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from devtools.mailsink import MailSink, message_text
from reseller_sync.boxoffice.db import make_engine, session_scope
from reseller_sync.boxoffice.models import Alert, ExchangeFile, FileState
from reseller_sync.dashboard.app import create_app
from reseller_sync.dashboard.auth import AirflowUiUser
from reseller_sync.fnac.settings import FnacSettings
from tests.alerts.conftest import mail_sink  # noqa: F401 (fixture)
from tests.dashboard.activity import NOW, add_activity
from tests.dashboard.test_app import OUTSIDER_TOKEN, VIEWER_TOKEN, FakeAuthManager, _mounted

FAILED = "VENTES_M0427_000002_20261128140500.csv"
INTEGRATED = "VENTES_M0427_000001_20261128130500.csv"
OPERATOR_TOKEN = "operator-token"
SAME_ORIGIN = {"origin": "http://testserver"}
REASON = "FNAC could not correct it: its lines came again in VENTES 000003"


@dataclass(frozen=True)
class AirflowUser:
    """What an auth manager's user offers: a name."""

    name: str

    def get_name(self) -> str:
        return self.name


class OperatorAuthManager(FakeAuthManager):
    """The viewer and the outsider, and an operator who may clear the hourly DAG's tasks."""

    async def get_user_from_token(self, token: str) -> Any:
        if token == OPERATOR_TOKEN:
            return AirflowUser("Alice Martin")
        return await super().get_user_from_token(token)

    def is_authorized_view(self, *, access_view: Any, user: Any) -> bool:
        return isinstance(user, AirflowUser) or super().is_authorized_view(
            access_view=access_view, user=user
        )

    def is_authorized_dag(
        self, *, method: str, user: Any, access_entity: Any = None, details: Any = None
    ) -> bool:
        if isinstance(user, AirflowUser):
            return (method, access_entity.value, details.id) == (
                "PUT",
                "TASK_INSTANCE",
                "fnac_inbound",
            ) or method == "GET"
        return super().is_authorized_dag(method=method, user=user)


@pytest.fixture
def engine(
    sqlite_demo_template: Path, tmp_path: Path, fnac_settings: FnacSettings
) -> Iterator[Engine]:
    path = tmp_path / "boxoffice.sqlite"
    shutil.copy(sqlite_demo_template, path)
    engine = make_engine(f"sqlite:///{path}")
    with sessionmaker(engine)() as session, session.begin():
        add_activity(session, fnac_settings)
    yield engine
    engine.dispose()


@pytest.fixture
def app_client(engine: Engine, fnac_settings: FnacSettings) -> Iterator[TestClient]:
    def sessions() -> AbstractContextManager[Session]:
        return session_scope(engine)  # a unit of work, committed: as in production

    app = create_app(
        "fnac",
        sessions=sessions,
        settings=lambda: fnac_settings,
        now=lambda: NOW,
        user=AirflowUiUser(OperatorAuthManager),
    )
    with TestClient(_mounted(app), follow_redirects=False) as client:
        yield client


def as_user(client: TestClient, token: str) -> TestClient:
    logged_in = TestClient(client.app, follow_redirects=False)
    logged_in.cookies.set("_token", token)
    return logged_in


@pytest.fixture
def operator(app_client: TestClient) -> TestClient:
    return as_user(app_client, OPERATOR_TOKEN)


@pytest.fixture
def viewer(app_client: TestClient) -> TestClient:
    return as_user(app_client, VIEWER_TOKEN)


def file_id(engine: Engine, name: str) -> int:
    with Session(engine) as session:
        return session.scalars(select(ExchangeFile.id).where(ExchangeFile.name == name)).one()


def journal_state(engine: Engine) -> dict[str, tuple[Any, ...]]:
    with Session(engine) as session:
        rows = session.execute(
            select(
                ExchangeFile.name,
                ExchangeFile.state,
                ExchangeFile.set_aside_by,
                ExchangeFile.set_aside_reason,
            )
        ).all()
        alerts = session.scalar(select(func.count(Alert.id)))
    return {row.name: tuple(row[1:]) for row in rows} | {"alerts": (alerts,)}


def test_a_failed_files_page_offers_the_form_to_who_may_clear_the_hourly_tasks(
    engine: Engine, operator: TestClient, viewer: TestClient
) -> None:
    page = f"/fnac/journal/{file_id(engine, FAILED)}"
    html = operator.get(page).text
    assert f'<form method="post" action="{page}/set-aside"' in html
    assert 'name="reason" required' in html

    html = viewer.get(page).text
    assert '<form method="post"' not in html
    assert "needs the right to clear the tasks of fnac_inbound" in html

    html = operator.get(f"/fnac/journal/{file_id(engine, INTEGRATED)}").text
    assert "Set this file aside" not in html, "only a failed file can be set aside"
    assert '/set-aside"' not in html


def test_setting_aside_records_the_user_shows_who_when_why_and_mails_it(
    engine: Engine,
    operator: TestClient,
    mail_sink: MailSink,  # noqa: F811
) -> None:
    page = f"/fnac/journal/{file_id(engine, FAILED)}"

    response = operator.post(f"{page}/set-aside", data={"reason": REASON}, headers=SAME_ORIGIN)

    assert response.status_code == 303
    assert response.headers["location"] == page
    state, by, reason = journal_state(engine)[FAILED]
    assert (state, by, reason) == (FileState.SET_ASIDE, "Alice Martin", REASON)
    html = operator.get(page).text
    assert 'class="state state-set_aside">set_aside<' in html
    assert re.search(r"<tr data-set-aside><th>Set aside by</th><td>Alice Martin</td>", html)
    assert "<th>Set aside on</th><td>2" in html
    assert REASON in html
    assert '/set-aside"' not in html, "no form any more"

    [mail] = mail_sink.messages()
    assert mail["Subject"] == f"[FNAC] Erreur externe — mis de côté par Alice Martin — {FAILED}"
    assert REASON in message_text(mail)
    with Session(engine) as session:
        alert = session.scalars(select(Alert).where(Alert.kind == "file_set_aside")).one()
        assert (alert.delivered, alert.file_name) == (True, FAILED)

    listing = operator.get("/fnac/journal?state=set_aside").text
    assert re.findall(r'href="/fnac/journal/\d+">([^<]+)</a>', listing) == [FAILED]
    assert '<option value="sequence_reused"' in listing


@pytest.mark.usefixtures("mail_sink")
def test_a_referer_of_this_site_stands_for_a_missing_origin(
    engine: Engine, operator: TestClient
) -> None:
    page = f"/fnac/journal/{file_id(engine, FAILED)}"
    response = operator.post(
        f"{page}/set-aside",
        data={"reason": REASON},
        headers={"referer": f"http://testserver{page}"},
    )
    assert response.status_code == 303
    assert journal_state(engine)[FAILED][0] is FileState.SET_ASIDE


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"origin": "http://evil.example"},
        {"origin": "null"},
        {"referer": "http://testserver.evil.example/fnac/"},
        {"origin": "http://evil.example", "referer": "http://testserver/fnac/"},
    ],
    ids=["no-origin", "other-origin", "opaque-origin", "other-referer", "origin-wins"],
)
def test_a_post_from_another_site_is_refused_and_changes_nothing(
    engine: Engine,
    operator: TestClient,
    mail_sink: MailSink,  # noqa: F811
    headers: dict[str, str],
) -> None:
    before = journal_state(engine)
    page = f"/fnac/journal/{file_id(engine, FAILED)}"

    response = operator.post(f"{page}/set-aside", data={"reason": REASON}, headers=headers)

    assert response.status_code == 403
    assert "not sent from this site" in response.text
    assert journal_state(engine) == before
    assert mail_sink.messages() == []


def test_only_who_may_clear_the_hourly_tasks_may_set_aside(
    engine: Engine,
    app_client: TestClient,
    viewer: TestClient,
    mail_sink: MailSink,  # noqa: F811
) -> None:
    before = journal_state(engine)
    target = f"/fnac/journal/{file_id(engine, FAILED)}/set-aside"
    form = {"reason": REASON}

    assert viewer.post(target, data=form, headers=SAME_ORIGIN).status_code == 403
    outsider = as_user(app_client, OUTSIDER_TOKEN)
    assert outsider.post(target, data=form, headers=SAME_ORIGIN).status_code == 403
    assert app_client.post(target, data=form, headers=SAME_ORIGIN).status_code == 401
    browser = app_client.post(target, data=form, headers={**SAME_ORIGIN, "accept": "text/html"})
    assert browser.status_code == 303
    assert browser.headers["location"].startswith("/auth/login?")
    assert journal_state(engine) == before
    assert mail_sink.messages() == []


@pytest.mark.parametrize(
    ("name", "reason", "status", "message"),
    [
        (FAILED, "   ", 422, "Say why the file is set aside: a reason is required."),
        (INTEGRATED, REASON, 409, "is integrated, not failed: only a failed file can be set"),
        (FAILED, "x" * 2001, 409, "the reason is 2001 characters long; at most 2000"),
    ],
)
def test_a_refused_set_aside_shows_why_and_changes_nothing(
    engine: Engine,
    operator: TestClient,
    mail_sink: MailSink,  # noqa: F811
    name: str,
    reason: str,
    status: int,
    message: str,
) -> None:
    before = journal_state(engine)
    page = f"/fnac/journal/{file_id(engine, name)}"

    response = operator.post(f"{page}/set-aside", data={"reason": reason}, headers=SAME_ORIGIN)

    assert response.status_code == status
    assert '<p class="late problem" role="alert">' in response.text
    assert message in response.text
    assert journal_state(engine) == before
    assert mail_sink.messages() == []


def test_setting_aside_an_unknown_file_is_not_found(operator: TestClient) -> None:
    response = operator.post(
        "/fnac/journal/999999/set-aside", data={"reason": REASON}, headers=SAME_ORIGIN
    )
    assert response.status_code == 404
