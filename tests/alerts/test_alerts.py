"""Alerts by category, notices with their own action, and the one notifier, through a real
SMTP server on loopback."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from devtools.mailsink import MailSink
from reseller_sync.airflow.failures import RETRY_POLICY, FailureAlertNotifier, smtp_sender
from reseller_sync.airflow.notices import notify
from reseller_sync.airflow.notifier import Attachment, html_to_text, send_html_mail, send_mail
from reseller_sync.alerts.compose import (
    NOTICE_ACTIONS,
    TaskSite,
    compose_alert,
    task_failure_alert,
)
from reseller_sync.alerts.deliver import deliver_alert
from reseller_sync.boxoffice.models import Alert
from reseller_sync.config.paths import INCLUDE_DIR_VARIABLE, include_dir
from reseller_sync.config.settings import Language, ResellerSettings
from reseller_sync.domain.errors import (
    CATEGORY_ACTIONS,
    ErrorCategory,
    ExternalError,
    MappingError,
    Problem,
    TechnicalError,
    TemporaryExternalError,
)
from reseller_sync.domain.texts import Localized
from reseller_sync.fnac.inbound import NEW_CATEGORY_ACTION
from reseller_sync.fnac.settings import FnacSettings, load_settings
from reseller_sync.ticketnet.inbound import NEW_PRICE_TYPE_ACTION

SITE = TaskSite(
    dag_id="fnac_inbound",
    task_id="integrate_sales",
    run_id="scheduled__2026-11-28T13:00:00+00:00",
    try_number=1,
    log_url="http://localhost:8080/dags/fnac_inbound/runs/x/tasks/integrate_sales",
)
FILE = "VENTES_M0427_000042_20261128130503.csv"
RESELLER = "FNAC"

ERRORS = {
    ErrorCategory.MAPPING: MappingError(
        "2 sales use values that have no mapping",
        file=FILE,
        problems=[
            Problem("catégorie de client 31 maps to no tariff", FILE, 7, "categorie_client", "31")
        ],
        action="Map catégorie 31 to a tariff in include/mappings/fnac/_shared.yaml.",
    ),
    ErrorCategory.EXTERNAL: ExternalError("the trailer's COUNT does not match", file=FILE),
    ErrorCategory.TECHNICAL: KeyError("prix_ttc"),
}


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("category", list(ErrorCategory))
def test_each_category_says_what_happened_and_what_to_do(
    category: ErrorCategory, language: str
) -> None:
    message = task_failure_alert(ERRORS[category], SITE, language, RESELLER)
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
        ("external", "fr"): "contactez FNAC en citant le fichier",
        ("external", "en"): "contact FNAC and quote the file name",
        ("technical", "fr"): "Contactez le support",
        ("technical", "en"): "Contact support",
    }[(category.value, language)]
    assert expected_action in message.text


def test_the_specific_fix_and_the_located_problems_are_in_the_mail() -> None:
    message = task_failure_alert(ERRORS[ErrorCategory.MAPPING], SITE, "fr", RESELLER)
    assert "Map catégorie 31 to a tariff in include/mappings/fnac/_shared.yaml." in message.text
    assert f"{FILE}:7:categorie_client: catégorie de client 31 maps to no tariff" in message.text


def test_an_unexpected_exception_is_technical() -> None:
    message = task_failure_alert(ZeroDivisionError("division by zero"), SITE, "en", RESELLER)
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
        reseller=RESELLER,
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
        reseller=RESELLER,
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
    message = task_failure_alert(ERRORS[ErrorCategory.MAPPING], SITE, "fr", RESELLER)
    alert = deliver_alert(message, ["ops@example.org"], smtp_sender(), boxoffice_engine)
    assert alert.delivered
    [mail] = mail_sink.messages()
    assert mail["To"] == "ops@example.org"
    assert mail["From"] == "airflow@reseller-sync.test"
    assert mail["Subject"] == message.subject
    assert mail.get_content_type() == "multipart/alternative"
    text, html = alternatives(mail)
    assert text.rstrip("\n") == message.text.rstrip("\n")
    assert html.rstrip("\n") == message.html.rstrip("\n")
    assert "Map catégorie 31" in text
    assert "Map catégorie 31" in html
    assert "<" not in text
    with Session(boxoffice_engine) as session:
        stored = session.scalars(select(Alert)).one()
        assert (stored.category, stored.delivered, stored.file_name) == ("mapping", True, FILE)


def test_smtp_down_still_records_and_logs_the_alert(
    mail_sink: MailSink, boxoffice_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    mail_sink.stop()
    message = task_failure_alert(ERRORS[ErrorCategory.EXTERNAL], SITE, "en", RESELLER)
    alert = deliver_alert(message, ["ops@example.org"], smtp_sender(), boxoffice_engine)
    assert not alert.delivered
    with Session(boxoffice_engine) as session:
        stored = session.scalars(select(Alert)).one()
        assert not stored.delivered
        assert stored.delivery_error
        assert stored.subject == message.subject
    assert "not e-mailed" in caplog.text


@pytest.mark.parametrize("display_name", [None, "Fnac Spectacles"])
def test_the_failure_callback_mails_the_configured_addresses(
    display_name: str | None,
    mail_sink: MailSink,
    boxoffice_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    if display_name is not None:
        settings_naming(display_name, tmp_path, monkeypatch)
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
    FailureAlertNotifier("fnac").notify(
        {
            "ti": ti,
            "exception": ERRORS[ErrorCategory.EXTERNAL],
            "logical_date": dt.datetime(2026, 11, 28, tzinfo=dt.UTC),
        }
    )
    db.default_engine.cache_clear()
    [mail] = mail_sink.messages()
    prefix = f"[{display_name or 'FNAC'}] Erreur externe — fnac_inbound.integrate_sales"
    assert mail["Subject"].startswith(prefix)
    assert "billetterie-exploitation@example.org" in mail["To"]
    text, html = alternatives(mail)
    assert f"contactez {display_name or 'FNAC'} en citant le fichier" in text
    assert f"contactez {display_name or 'FNAC'} en citant le fichier" in html
    assert make_url(boxoffice_url).get_backend_name() in ("sqlite", "postgresql")


# --------------------------------------------------------------------------- helpers


def alternatives(mail: EmailMessage) -> tuple[str, str]:
    """The text/plain and text/html parts of a mail's multipart/alternative body, in order,
    with the line ends of the SMTP wire (CRLF) read back as newlines."""
    body = next(part for part in mail.walk() if part.get_content_type() == "multipart/alternative")
    plain, html = body.iter_parts()
    assert (plain.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
    text, page = (part.get_content().replace("\r\n", "\n") for part in (plain, html))
    return text, page


def settings_naming(display_name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The project's settings file, naming the reseller ``display_name``, in another include/."""
    source = load_settings().source
    assert source is not None
    include = tmp_path / "include"
    copy = include / source.relative_to(include_dir())
    copy.parent.mkdir(parents=True)
    shutil.copy(source, copy)
    with copy.open("a", encoding="utf-8") as file:
        file.write(f"\nreseller:\n  display_name: {display_name}\n")
    monkeypatch.setenv(INCLUDE_DIR_VARIABLE, str(include))
    assert load_settings().reseller.display_name == display_name


def in_language(settings: FnacSettings, language: str) -> FnacSettings:
    notifications = settings.notifications.model_copy(update={"language": Language(language)})
    return settings.model_copy(update={"notifications": notifications})


@pytest.fixture
def default_boxoffice(boxoffice_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """The box office that code without an engine of its own (notify) records alerts in."""
    from reseller_sync.boxoffice import db

    monkeypatch.setenv(db.URL_VARIABLE, boxoffice_url)
    db.default_engine.cache_clear()
    yield db.default_engine()
    db.default_engine.cache_clear()


# --------------------------------------------------------------------------- notices

SOLD = [
    Problem("E07: sold by FNAC", "DECONT_M0427_000003_20261201030512.csv", 1, value="P2 1 3"),
]


@pytest.mark.parametrize(
    ("language", "nothing_to_do"),
    [
        ("fr", "Rien à faire : ces places ont été vendues par FNAC avant le retrait"),
        ("en", "Nothing to do: these places were sold by FNAC before the withdrawal"),
    ],
)
def test_the_e07_notice_says_there_is_nothing_to_do(
    language: str, nothing_to_do: str, mail_sink: MailSink, default_boxoffice: Engine
) -> None:
    settings = in_language(load_settings(), language)
    alert = notify(
        settings,
        category=ErrorCategory.EXTERNAL,
        kind="places_sold_not_withdrawn",
        message="FNAC had sold 1 of the places asked back (E07)",
        problems=SOLD,
        site=SITE,
        file_name=SOLD[0].file,
    )
    assert alert.delivered
    [mail] = mail_sink.messages()
    text, html = alternatives(mail)
    generic = CATEGORY_ACTIONS[ErrorCategory.EXTERNAL].render(language, "FNAC")
    for body in (text, html.replace("&#39;", "'"), alert.body):
        assert nothing_to_do in body
        assert generic not in body, "a task that succeeded has nothing to retry"
    label = "Erreur externe" if language == "fr" else "External error"
    assert mail["Subject"] == f"[FNAC] {label} — {SITE.dag_id}.{SITE.task_id} — {SOLD[0].file}"


def test_a_notice_kind_without_an_action_is_refused() -> None:
    with pytest.raises(ValueError, match="no action"):
        notify(
            load_settings(),
            category=ErrorCategory.EXTERNAL,
            kind="something_new",
            message="m",
            problems=[],
            site=SITE,
        )


def test_every_notice_raised_has_its_own_action_in_both_languages() -> None:
    plugins = Path(__file__).resolve().parents[2] / "plugins" / "reseller_sync"
    calls = (
        r"notify\(\s*\w+,.*?kind=\"(\w+)\"",
        r"Notice\(\s*ErrorCategory\.\w+,\s*\"(\w+)\"(?:(?!Notice\().)*?\baction=(\w+)?",
        r"Notice\(\s*ErrorCategory\.\w+,\s*\"(\w+)\"",
        r"_notices\(\s*\w+,\s*\w+,\s*kind=\"(\w+)\",(?:(?!_notices\().)*?\baction=(\w+)",
        r"_notices\(\s*\w+,\s*\w+,\s*kind=\"(\w+)\"",
    )
    raised: dict[str, set[str | None]] = {}
    for path in plugins.rglob("*.py"):
        text = path.read_text()
        with_action = {
            m.group(1): m.group(2)
            for pattern in (calls[1], calls[3])
            for m in re.finditer(pattern, text, re.S)
        }
        for call in (calls[0], calls[2], calls[4]):
            for match in re.finditer(call, text, re.S):
                raised.setdefault(match.group(1), set()).add(with_action.get(match.group(1)))
    assert {
        "places_sold_not_withdrawn",
        "seat_lists_differ",
        "price_check",
        "new_customer_category",
        "new_price_type",
        "price_difference",
    } <= set(raised)
    without_own = {kind for kind, actions in raised.items() if None in actions}
    assert without_own <= set(NOTICE_ACTIONS), "a notice kind without an action of its own"
    assert raised["new_customer_category"] == {"NEW_CATEGORY_ACTION"}
    assert raised["new_price_type"] == {"NEW_PRICE_TYPE_ACTION"}
    actions = {
        **NOTICE_ACTIONS,
        "new_customer_category": NEW_CATEGORY_ACTION,
        "new_price_type": NEW_PRICE_TYPE_ACTION,
    }
    for kind, action in actions.items():
        french, english = action.render("fr", "Acme"), action.render("en", "Acme")
        assert french != english, kind
        for text in (french, english):
            assert "Acme" in text, f"{kind} does not name the reseller"
            assert not re.search(r"\bFNAC\b(?!_ADHERENT)", text), f"{kind} hard-codes FNAC"
            assert "Ticketnet" not in text, f"{kind} hard-codes Ticketnet"


def test_the_subject_and_the_actions_name_the_reseller_of_the_settings() -> None:
    settings = load_settings().model_copy(
        update={"reseller": ResellerSettings(display_name="Fnac Spectacles")}
    )
    message = compose_alert(
        category=ErrorCategory.EXTERNAL,
        kind="task_failure",
        title="fnac_inbound.integrate_sales",
        message="m",
        language="en",
        reseller=settings.reseller.display_name,
        file_name=FILE,
    )
    assert message.subject == (
        f"[Fnac Spectacles] External error — fnac_inbound.integrate_sales — {FILE}"
    )
    assert "contact Fnac Spectacles and quote the file name" in message.text
    assert not re.search(r"\bFNAC\b", message.text)


def test_localized_hints_and_messages_follow_the_language() -> None:
    for language, expected in (("fr", "Bonjour Acme"), ("en", "Hello Acme")):
        message = compose_alert(
            category=ErrorCategory.MAPPING,
            kind="task_failure",
            title="t",
            message=Localized(fr="Bonjour {reseller}", en="Hello {reseller}"),
            language=language,
            reseller="Acme",
            hint=Localized(fr="Indice {reseller}", en="Hint {reseller}"),
            action=Localized(fr="Action {reseller}", en="Action for {reseller}"),
        )
        assert expected in message.text
        assert ("Indice Acme" if language == "fr" else "Hint Acme") in message.text
        assert ("Action Acme" if language == "fr" else "Action for Acme") in message.html
        generic = CATEGORY_ACTIONS[ErrorCategory.MAPPING].render(language, "Acme")
        assert generic not in message.text, "an explicit action replaces the category's"
    with pytest.raises(ValueError, match="unknown language"):
        Localized(fr="a", en="b").render("de", "Acme")


# --------------------------------------------------------------------------- the notifier


def test_a_report_is_attached_with_its_real_type(mail_sink: MailSink, tmp_path: Path) -> None:
    report = tmp_path / "fnac-sales-2026-11-30.html"
    report.write_text("<!DOCTYPE html><title>Ventes du 30/11</title><p>été</p>", encoding="utf-8")
    export = tmp_path / "EVT-LUMEN_S1.csv"
    export.write_text("barcode,status\n123,allowed\n", encoding="utf-8")
    opaque = tmp_path / "dump.bin"
    opaque.write_bytes(bytes(range(256)))

    send_mail(
        ["ops@example.org"],
        "[FNAC] Ventes du 30/11/2026",
        text="Le rapport est joint.",
        html="<p>Le rapport est joint.</p>",
        attachments=[Attachment.from_path(path) for path in (report, export, opaque)],
    )

    [mail] = mail_sink.messages()
    assert mail.get_content_type() == "multipart/mixed"
    assert alternatives(mail) == ("Le rapport est joint.\n", "<p>Le rapport est joint.</p>\n")
    html, csv, binary = mail.iter_attachments()
    assert (html.get_content_type(), html.get_content_charset()) == ("text/html", "utf-8")
    assert html.get_filename() == report.name
    assert html.get_content() == report.read_text(encoding="utf-8")
    assert (csv.get_content_type(), csv.get_filename()) == ("text/csv", export.name)
    assert binary.get_content_type() == "application/octet-stream"
    assert binary.get_content() == opaque.read_bytes()


def test_an_html_only_mail_gets_its_text_part(mail_sink: MailSink) -> None:
    page = (
        "<!doctype html><html><head><title>Fiche</title><style>p{color:red}</style></head>"
        "<body><h1>Fiche de mise en vente</h1><p>Séance du <b>12/03</b> &amp; tarifs</p>"
        "<ul><li>FNAC_PUBLIC</li><li>FNAC_CE</li></ul></body></html>"
    )
    send_html_mail(["contact@fnac.example"], "Fiche de mise en vente EVT-LUMEN", page)
    [mail] = mail_sink.messages()
    text, html = alternatives(mail)
    assert text == html_to_text(page)
    assert (
        text == "Fiche de mise en vente\n\nSéance du 12/03 & tarifs\n\n- FNAC_PUBLIC\n- FNAC_CE\n"
    )
    assert html.rstrip("\n") == page
