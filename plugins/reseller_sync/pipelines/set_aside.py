"""Setting a failed inbound file aside, from the command line or the dashboard.

Each partner contract says how the lines of a file set aside come back (a
file reseller resends them under its next sequence).

One path for both: the journal records the decision (who, when, why) in its
own transaction (``journal.set_aside``), then a notice goes out the way every
alert does (``compose_alert``, then ``deliver_alert``: kept in the box office,
then e-mailed through the SMTP connection), so nothing is set aside without
telling someone. A notice that cannot be e-mailed is still recorded and shown
in the dashboard; the file stays set aside.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from reseller_sync.alerts.compose import AlertMessage, compose_alert
from reseller_sync.alerts.deliver import SendMail, deliver_alert
from reseller_sync.boxoffice.db import session_scope
from reseller_sync.boxoffice.models import Alert
from reseller_sync.config.settings import InstanceSettings
from reseller_sync.core.resellers import reseller_type
from reseller_sync.domain.errors import ErrorCategory, Problem
from reseller_sync.domain.texts import Localized
from reseller_sync.exchange import journal

KIND = "file_set_aside"

SessionFactory = Callable[[], AbstractContextManager[Session]]


def set_aside_file(
    sessions: SessionFactory | None,
    settings: InstanceSettings,
    name: str,
    *,
    reason: str,
    by: str,
    send: SendMail,
) -> tuple[journal.SetAside, Alert]:
    """Set ``name`` aside, then tell the alert addresses (``notifications.error_emails``).

    ``sessions`` opens a unit of work committed when it ends (default: the box
    office's ``session_scope``); the notice is recorded in the same box office.
    Raises ``journal.SetAsideRefusedError`` when the file cannot be set aside:
    nothing changed, nobody told.
    """
    with (sessions or _default_sessions)() as session:
        outcome = journal.set_aside(session, settings.reseller_code, name, reason=reason, by=by)
        bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    message = set_aside_notice(outcome, settings)
    alert = deliver_alert(message, settings.notifications.error_emails, send, engine)
    return outcome, alert


def _default_sessions() -> AbstractContextManager[Session]:
    return session_scope()


def set_aside_notice(outcome: journal.SetAside, settings: InstanceSettings) -> AlertMessage:
    """Who set which file aside, when and why, and what to do now."""
    language, reseller = settings.notifications.language.value, settings.display_name
    moment = outcome.at.strftime("%Y-%m-%d %H:%M UTC")
    following = f"{outcome.sequence + 1:06d}"
    return compose_alert(
        category=ErrorCategory.EXTERNAL,
        kind=KIND,
        title=Localized(fr=f"mis de côté par {outcome.by}", en=f"set aside by {outcome.by}").render(
            language, reseller
        ),
        message=Localized(
            fr=f"{outcome.by} a mis de côté le fichier {outcome.name} ({outcome.file_type}, "
            f"séquence {outcome.sequence:06d}) le {moment}, pour cette raison : "
            f"{outcome.reason}\nSes lignes ne sont pas intégrées ; les fichiers "
            f"{outcome.file_type} reprennent à la séquence {following}.",
            en=f"{outcome.by} set {outcome.name} ({outcome.file_type} sequence "
            f"{outcome.sequence:06d}) aside on {moment}, because: {outcome.reason}\n"
            f"Its lines are not integrated; {outcome.file_type} files go on from sequence "
            f"{following}.",
        ),
        language=language,
        reseller=reseller,
        problems=[Problem(line) for line in _details(outcome)],
        file_name=outcome.name,
        action=next_steps(outcome, settings.reseller_code),
    )


def _details(outcome: journal.SetAside) -> Iterator[str]:
    if outcome.failure:
        yield f"it had failed: {outcome.failure}"
    if outcome.ready:
        yield f"now ready, in order: {', '.join(outcome.ready)}"
    if outcome.waiting_for:
        waited = ", ".join(f"{seq:06d}" for seq in outcome.waiting_for)
        yield f"{outcome.file_type} now waits for sequence(s) {waited}"


def next_steps(outcome: journal.SetAside, reseller_code: str) -> Localized:
    """What a person does next, said the same way by the command, the page and the e-mail."""
    dag = reseller_type(reseller_code).processing_dag(outcome.file_type)
    following = f"{outcome.sequence + 1:06d}"
    fr = [
        f"Relancez (Clear) la tâche en échec dans Airflow ({dag}) : les exécutions suivantes "
        "l'attendent."
    ]
    en = [f"Clear the failed task in Airflow ({dag}): the runs after it wait for it."]
    if outcome.ready:
        fr.append(f"Les fichiers {outcome.file_type} en attente passent alors, dans l'ordre.")
        en.append(f"The waiting {outcome.file_type} files then go through, in order.")
    else:
        fr.append(
            f"Aucun fichier {outcome.file_type} n'attend encore derrière lui : le renvoi de "
            f"{{reseller}} (séquence {following}) sera intégré dès son arrivée."
        )
        en.append(
            f"No {outcome.file_type} file waits behind it yet: {{reseller}}'s resend "
            f"(sequence {following}) is integrated once it lands."
        )
    fr.append(
        f"Vérifiez que {{reseller}} a renvoyé les lignes de {outcome.name} sous une séquence "
        "suivante : les lignes déjà intégrées sont reconnues par leurs identifiants "
        "de billet et d'annulation, les autres entrent avec ce fichier."
    )
    en.append(
        f"Check that {{reseller}} sent the lines of {outcome.name} again under a later sequence "
        ": lines integrated already are recognised by their ticket and cancellation "
        "ids, the others come in with that file."
    )
    return Localized(fr=" ".join(fr), en=" ".join(en))
