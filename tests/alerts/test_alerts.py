"""Alerts by category, through a real SMTP server on loopback."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from devtools.mailsink import MailSink, message_text
from reseller_sync.airflow.failures import RETRY_POLICY, FailureAlertNotifier, smtp_sender
from reseller_sync.alerts.compose import TaskSite, compose_alert, task_failure_alert
from reseller_sync.alerts.deliver import deliver_alert
from reseller_sync.boxoffice.models import Alert
from reseller_sync.domain.errors import (
    ErrorCategory,
    ExternalError,
    MappingError,
    Problem,
    TechnicalError,
    TemporaryExternalError,
)

SITE = TaskSite(
    dag_id="fnac_inbound",
    task_id="integrate_sales",
    run_id="scheduled__2026-11-28T13:00:00+00:00",
    try_number=1,
    log_url="http://localhost:8080/dags/fnac_inbound/runs/x/tasks/integrate_sales",
)
FILE = "VENTES_M0427_000042_20261128130503.csv"

ERRORS = {
    ErrorCategory.MAPPING: MappingError(
        "2 sales use values that have no mapping",
        file=FILE,
        problems=[
            Problem("catégorie de client 31 maps to no tariff", FILE, 7, "categorie_client", "31")
        ],
        action="Map catégorie 31 to a tariff in include/mappings/_shared.yaml.",
    ),
    ErrorCategory.EXTERNAL: ExternalError("the trailer's COUNT does not match", file=FILE),
    ErrorCategory.TECHNICAL: KeyError("prix_ttc"),
}


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("category", list(ErrorCategory))
def test_each_category_says_what_happened_and_what_to_do(
    category: ErrorCategory, language: str
) -> None:
    message = task_failure_alert(ERRORS[category], SITE, language)
    assert message.category is category
    label = {
        "fr": {
            "mapping": "Erreur de mapping",
            "external": "Erreur externe",
            "technical": "Erreur technique",
        },
        "en": {
            "mapping": "Mapping error",
            "external": "External error",
            "technical": "Technical error",
        },
    }[language][category.value]
    assert message.subject.startswith(f"[FNAC] {label} — fnac_inbound.integrate_sales")
    todo = {"fr": "Que faire", "en": "What to do"}[language]
    assert todo in message.text
    assert SITE.log_url in message.text
    assert SITE.log_url in message.html
    if category is not ErrorCategory.TECHNICAL:
        assert message.subject.endswith(FILE)
    expected_action = {
        ("mapping", "fr"): "Corrigez le mapping",
        ("mapping", "en"): "Fix the mapping",
        ("external", "fr"): "contactez la FNAC",
        ("external", "en"): "contact FNAC",
        ("technical", "fr"): "Contactez le support",
        ("technical", "en"): "Contact support",
    }[(category.value, language)]
    assert expected_action in message.text


def test_the_specific_fix_and_the_located_problems_are_in_the_mail() -> None:
    message = task_failure_alert(ERRORS[ErrorCategory.MAPPING], SITE, "fr")
    assert "Map catégorie 31 to a tariff in include/mappings/_shared.yaml." in message.text
    assert f"{FILE}:7:categorie_client: catégorie de client 31 maps to no tariff" in message.text


def test_an_unexpected_exception_is_technical() -> None:
    message = task_failure_alert(ZeroDivisionError("division by zero"), SITE, "en")
    assert message.category is ErrorCategory.TECHNICAL
    assert "ZeroDivisionError: division by zero" in message.text


def test_partner_values_are_escaped_in_html() -> None:
    hostile = "<script>alert('x')</script>"
    message = compose_alert(
        category=ErrorCategory.EXTERNAL,
        kind="task_failure",
        title="fnac_inbound.integrate_sales",
        message=f"beneficiary {hostile}",
        language="en",
        problems=[Problem(f"name {hostile}", FILE, 1, "nom_beneficiaire")],
        file_name=FILE,
    )
    assert "<script>" not in message.html
    assert "&lt;script&gt;" in message.html


def test_long_problem_lists_are_cut_with_a_count() -> None:
    problems = [Problem(f"problem {n}", FILE, n) for n in range(1, 131)]
    message = compose_alert(
        category=ErrorCategory.EXTERNAL,
        kind="task_failure",
        title="t",
        message="m",
        language="en",
        problems=problems,
    )
    assert "problem 50" in message.text
    assert "problem 51" not in message.text
    assert "and 80 more" in message.text


@pytest.mark.parametrize(
    ("error", "action"),
    [
        (TemporaryExternalError("SFTP server unreachable"), "retry"),
        (OperationalError("SELECT 1", {}, Exception("server closed the connection")), "retry"),
        (ExternalError("host key mismatch"), "fail"),
        (MappingError("no mapping"), "fail"),
        (TechnicalError("bug"), "fail"),
        (KeyError("x"), "fail"),
    ],
)
def test_retry_policy_retries_only_what_may_pass(error: BaseException, action: str) -> None:
    assert RETRY_POLICY.evaluate(error, try_number=1, max_tries=5).action.value == action


def test_the_retry_policy_survives_dag_serialisation() -> None:
    from airflow.sdk.definitions.retry_policy import ExceptionRetryPolicy

    again = ExceptionRetryPolicy.deserialize(RETRY_POLICY.serialize())
    assert again.evaluate(TemporaryExternalError("x"), 1, 5).action.value == "retry"
    assert again.evaluate(MappingError("x"), 1, 5).action.value == "fail"


def test_an_alert_is_recorded_and_e_mailed(mail_sink: MailSink, boxoffice_engine: Engine) -> None:
    message = task_failure_alert(ERRORS[ErrorCategory.MAPPING], SITE, "fr")
    alert = deliver_alert(message, ["ops@example.org"], smtp_sender(), boxoffice_engine)
    assert alert.delivered
    [mail] = mail_sink.messages()
    assert mail["To"] == "ops@example.org"
    assert mail["Subject"] == message.subject
    assert "Map catégorie 31" in message_text(mail)
    with Session(boxoffice_engine) as session:
        stored = session.scalars(select(Alert)).one()
        assert (stored.category, stored.delivered, stored.file_name) == ("mapping", True, FILE)


def test_smtp_down_still_records_and_logs_the_alert(
    mail_sink: MailSink, boxoffice_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    mail_sink.stop()
    message = task_failure_alert(ERRORS[ErrorCategory.EXTERNAL], SITE, "en")
    alert = deliver_alert(message, ["ops@example.org"], smtp_sender(), boxoffice_engine)
    assert not alert.delivered
    with Session(boxoffice_engine) as session:
        stored = session.scalars(select(Alert)).one()
        assert not stored.delivered
        assert stored.delivery_error
        assert stored.subject == message.subject
    assert "not e-mailed" in caplog.text


def test_the_failure_callback_mails_the_configured_addresses(
    mail_sink: MailSink, boxoffice_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOXOFFICE_DB_URL", boxoffice_url)
    from reseller_sync.boxoffice import db

    db.default_engine.cache_clear()
    ti = SimpleNamespace(
        dag_id=SITE.dag_id,
        task_id=SITE.task_id,
        run_id=SITE.run_id,
        try_number=3,
        log_url=SITE.log_url,
    )
    FailureAlertNotifier().notify(
        {
            "ti": ti,
            "exception": ERRORS[ErrorCategory.EXTERNAL],
            "logical_date": dt.datetime(2026, 11, 28, tzinfo=dt.UTC),
        }
    )
    db.default_engine.cache_clear()
    [mail] = mail_sink.messages()
    assert mail["Subject"].startswith("[FNAC] Erreur externe — fnac_inbound.integrate_sales")
    assert "billetterie-exploitation@example.org" in mail["To"]
    assert make_url(boxoffice_url).get_backend_name() in ("sqlite", "postgresql")
