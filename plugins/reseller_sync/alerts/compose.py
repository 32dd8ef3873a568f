"""What an alert says: subject and body by error category, in French or English.

Pure functions: no Airflow, no SMTP. Names and values that come from partner
files are escaped in the HTML body (the template environment autoescapes).
The frame of the message (headings, the category and what to do) follows the
configured language; the details are the error's own words.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from reseller_sync.domain.errors import DEFAULT_ACTIONS, ErrorCategory, Problem, SyncError
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

CATEGORY_ACTIONS = {
    "fr": {
        ErrorCategory.MAPPING: (
            "Corrigez le mapping dans include/mappings/ (le détail ci-dessous dit quoi), "
            "puis relancez la tâche en échec (Clear) dans Airflow."
        ),
        ErrorCategory.EXTERNAL: (
            "Relancez la tâche ; si l'erreur persiste, contactez la FNAC en citant le fichier."
        ),
        ErrorCategory.TECHNICAL: "Contactez le support en joignant le journal de la tâche.",
    },
    "en": {
        ErrorCategory.MAPPING: (
            "Fix the mapping in include/mappings/ (the details below say what), "
            "then clear the failed task in Airflow."
        ),
        ErrorCategory.EXTERNAL: (
            "Retry the task; if the error persists, contact FNAC and quote the file name."
        ),
        ErrorCategory.TECHNICAL: "Contact support and attach the task's log.",
    },
}

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
    message: str,
    language: str,
    problems: Sequence[Problem] = (),
    file_name: str | None = None,
    site: TaskSite | None = None,
    hint: str | None = None,
) -> AlertMessage:
    """An alert for a person: the subject names the category, the DAG and the file.

    ``hint`` is the specific fix, shown after the category's general action.
    """
    label = CATEGORY_LABELS[language][category]
    parts = [f"[FNAC] {label}", title]
    if file_name:
        parts.append(file_name)
    subject = " — ".join(parts)
    shown = list(problems[:MAX_PROBLEMS_SHOWN])
    values = {
        "words": WORDS[language],
        "label": label,
        "category": category.value,
        "title": title,
        "message": message,
        "action": CATEGORY_ACTIONS[language][category],
        "hint": hint,
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


def task_failure_alert(error: BaseException, site: TaskSite, language: str) -> AlertMessage:
    """The e-mail of a failed task, sorted by the error's category."""
    category, file_name, problems, message = categorise(error)
    hint = None
    if isinstance(error, SyncError) and error.action != DEFAULT_ACTIONS[category]:
        hint = error.action
    return compose_alert(
        category=category,
        kind="task_failure",
        title=f"{site.dag_id}.{site.task_id}",
        message=message,
        language=language,
        problems=problems,
        file_name=file_name,
        site=site,
        hint=hint,
    )
