"""One dashboard per configured reseller inside the Airflow UI, and the charts shared with
the reports.

``queries`` reads the box office (plain functions of a Session), ``charts``
draws inline SVG bar charts, ``views`` renders the Jinja2 templates
(autoescaped), ``app`` is the FastAPI app the Airflow plugin mounts once per
reseller and ``auth`` checks the Airflow UI's login on every page. Only ``app``
and ``auth`` import FastAPI and Airflow.

A reseller's dashboard lives at ``/<code>`` (the app) and ``/plugin/<code>`` (the
page of the UI that shows it): the first reseller's URLs, bookmarks and links in
past e-mails are those of its first version.
"""


def url_prefix(reseller: str) -> str:
    """Where the api-server mounts the reseller's dashboard app: ``/<code>``."""
    return f"/{reseller}"


def nav_route(reseller: str) -> str:
    """The dashboard's route in the Airflow UI (``/plugin/<route>``): the reseller's code."""
    return reseller


def dashboard_route(reseller: str) -> str:
    """The dashboard's page in the Airflow UI, ``/plugin/<code>``, below its base URL."""
    return f"/plugin/{nav_route(reseller)}"
