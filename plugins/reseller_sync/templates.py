"""The Jinja2 templates of ``include/templates``: e-mails, reports, the sale sheet, the dashboard.

One environment for all of them: HTML templates autoescape (names and values
from partner files stay text), plain-text ones do not; an undefined value is
an error rather than an empty string.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import jinja2

from reseller_sync.config.paths import include_dir


@cache
def template_environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(include_dir() / "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "html.j2")),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(template: str, **values: Any) -> str:
    return template_environment().get_template(template).render(**values)
