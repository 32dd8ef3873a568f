"""What an alert says: subject and body by error category, in French or English.

Pure functions: no Airflow, no SMTP. Names and values that come from partner
files are escaped in the HTML body (the template environment autoescapes).
The frame of the message (headings, the category), what happened and what to
do follow the configured language when our code wrote them as
:class:`~reseller_sync.domain.texts.Localized` texts; the problem lines
(reasons found by the codec, the mapping check, the pipelines) are shown in
their own words. The subject starts with the reseller's display name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from reseller_sync.domain.errors import CATEGORY_ACTIONS, ErrorCategory, Problem, SyncError
from reseller_sync.domain.texts import Localized, Text, render_text
from reseller_sync.templates import template_environment

MAX_PROBLEMS_SHOWN = 50

CATEGORY_LABELS = {
    "fr": {
        ErrorCategory.MAPPING: "Erreur de mapping",
        ErrorCategory.EXTERNAL: "Erreur externe",
        ErrorCategory.TECHNICAL: "Erreur technique",
    },
    "en": {
        ErrorCategory.MAPPING: "Mapping error",
        ErrorCategory.EXTERNAL: "External error",
        ErrorCategory.TECHNICAL: "Technical error",
    },
}

NOTICE_ACTIONS: dict[str, Localized] = {
    "price_difference": Localized(
        fr="Les billets ont été intégrés au prix de {reseller} (politique de prix warn). "
        "Comparez chaque prix ci-dessous avec la fiche de mise en vente : corrigez le prix "
        "de la billetterie, ou demandez à {reseller} de corriger le sien.",
        en="The tickets were integrated at {reseller}'s price (price policy warn). Compare "
        "each price below with the sale sheet: correct the box-office price, or ask "
        "{reseller} to correct theirs.",
    ),
    "price_check": Localized(
        fr="Vérifiez ces prix avec {reseller} (fiche de mise en vente), ou corrigez le prix "
        "de la billetterie. Rien à relancer : l'alerte cesse dès que la dernière vente de "
        "{reseller} est au bon prix.",
        en="Check these prices with {reseller} (sale sheet), or correct the box-office "
        "price. Nothing to clear: the alert stops once {reseller}'s latest sale is at the "
        "right price.",
    ),
    "seat_lists_differ": Localized(
        fr="Ouvrez le rapport indiqué ci-dessus et vérifiez chaque place avec {reseller} : "
        "corrigez la billetterie, ou demandez à {reseller} de corriger son état. Une vente "
        "non intégrée attend en général un fichier VENTES bloqué (voir le DAG horaire).",
        en="Open the report named above and check each place with {reseller}: correct the "
        "box office, or ask {reseller} to correct its state. A sale not integrated usually "
        "waits behind a stuck VENTES file (see the hourly DAG).",
    ),
    "places_sold_not_withdrawn": Localized(
        fr="Rien à faire : ces places ont été vendues par {reseller} avant le retrait et "
        "restent à {reseller}. Seulement si ces ventes manquent dans la billetterie, voir le "
        "rapprochement des places de la nuit.",
        en="Nothing to do: these places were sold by {reseller} before the withdrawal and "
        "stay {reseller}'s. Only if these sales are missing from the box office, see the "
        "night's seat reconciliation.",
    ),
}
"""What to do about each kind of notice (an alert of a task that succeeded), by kind: it
replaces the category's action, which is about failed tasks."""

WORDS = {
    "fr": {
        "what": "Ce qui s'est passé",
        "todo": "Que faire",
        "details": "Détail",
        "more": "et {count} autre(s)",
        "where": "Où",
        "file": "Fichier",
        "log": "Journal de la tâche",
        "try": "tentative",
    },
    "en": {
        "what": "What happened",
        "todo": "What to do",
        "details": "Details",
        "more": "and {count} more",
        "where": "Where",
        "file": "File",
        "log": "Task log",
        "try": "try",
    },
}


@dataclass(frozen=True)
class Notice:
    """An alert a step raises without failing (a new partner category, prices that
    differ...): what the task that ran the step records and e-mails."""

    category: ErrorCategory
    kind: str
    """Its kind; its action is the kind's own (``NOTICE_ACTIONS``) unless ``action`` is set."""
    message: Text
    problems: Sequence[Problem] = ()
    file_name: str | None = None
    hint: Text | None = None
    action: Text | None = None
    """What to do, when the kind is an adapter's own (its partner's vocabulary and files)."""


@dataclass(frozen=True)
class TaskSite:
    """Where a failure happened in Airflow."""

    dag_id: str
    task_id: str
    run_id: str
    try_number: int | None = None
    log_url: str | None = None


@dataclass(frozen=True)
class AlertMessage:
    category: ErrorCategory
    kind: str
    subject: str
    text: str
    html: str
    file_name: str | None = None
    site: TaskSite | None = None
    problems: Sequence[Problem] = field(default_factory=tuple)


def categorise(error: BaseException) -> tuple[ErrorCategory, str | None, Sequence[Problem], str]:
    """Category, file, problems and message of any exception; an unexpected one is technical."""
    if isinstance(error, SyncError):
        return error.category, error.file, error.problems, error.message
    return ErrorCategory.TECHNICAL, None, (), f"{type(error).__name__}: {error}"


def compose_alert(
    *,
    category: ErrorCategory,
    kind: str,
    title: str,
    message: Text,
    language: str,
    reseller: str,
    problems: Sequence[Problem] = (),
    file_name: str | None = None,
    site: TaskSite | None = None,
    action: Text | None = None,
    hint: Text | None = None,
) -> AlertMessage:
    """An alert for a person: the subject names the reseller, the category, the DAG and the file.

    ``action`` is what to do; by default the category's general action (a
    failure). A notice (an alert of a task that succeeded) gives its own, which
    replaces the general one. ``hint`` is the specific fix, shown after the
    action. ``reseller`` is the reseller's display name: the subject's prefix,
    and the name that ``{reseller}`` stands for in localized texts.
    """
    label = CATEGORY_LABELS[language][category]
    parts = [f"[{reseller}] {label}", title]
    if file_name:
        parts.append(file_name)
    subject = " — ".join(parts)
    shown = list(problems[:MAX_PROBLEMS_SHOWN])
    values = {
        "words": WORDS[language],
        "label": label,
        "category": category.value,
        "title": title,
        "message": render_text(message, language, reseller),
        "action": render_text(action or CATEGORY_ACTIONS[category], language, reseller),
        "hint": render_text(hint, language, reseller) if hint is not None else None,
        "problems": [str(problem) for problem in shown],
        "more": len(problems) - len(shown),
        "file_name": file_name,
        "site": site,
    }
    environment = template_environment()
    return AlertMessage(
        category=category,
        kind=kind,
        subject=subject,
        text=environment.get_template("email/alert.txt.j2").render(values),
        html=environment.get_template("email/alert.html.j2").render(values),
        file_name=file_name,
        site=site,
        problems=tuple(problems),
    )


def task_failure_alert(
    error: BaseException, site: TaskSite, language: str, reseller: str
) -> AlertMessage:
    """The e-mail of a failed task, sorted by the error's category: the category's action,
    then the error's own action when it has one."""
    category, file_name, problems, message = categorise(error)
    return compose_alert(
        category=category,
        kind="task_failure",
        title=f"{site.dag_id}.{site.task_id}",
        message=message,
        language=language,
        reseller=reseller,
        problems=problems,
        file_name=file_name,
        site=site,
        hint=error.action if isinstance(error, SyncError) else None,
    )
