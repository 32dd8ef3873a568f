"""The Airflow plugin of reseller-sync: one dashboard per configured reseller in the Airflow UI.

The one module the plugins manager imports from ``plugins/`` (the library is
listed in ``plugins/.airflowignore``). It only declares, for each reseller
configured (``include/config/resellers/<code>.yaml``): its dashboard's FastAPI
app, mounted by the api-server under ``/<code>``, and a top-level nav entry
named after the reseller that shows it inside the UI at ``/plugin/<code>``. The
apps check the Airflow login themselves (see ``reseller_sync.dashboard.auth``).
Building them reads each reseller's settings and opens no database: the box
office is opened per request.
"""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin

from reseller_sync.config.paths import configured_resellers
from reseller_sync.dashboard import nav_route, url_prefix
from reseller_sync.dashboard.app import create_app, dashboard_name


def _dashboards() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The dashboards' apps and their nav entries, one of each per configured reseller."""
    apps: list[dict[str, Any]] = []
    views: list[dict[str, Any]] = []
    for code in configured_resellers():
        name = dashboard_name(code)
        prefix = url_prefix(code)
        path = prefix.lstrip("/")
        apps.append({"name": f"{name} dashboard", "app": create_app(code), "url_prefix": prefix})
        views.append(
            {
                "name": name,
                # Relative to the UI's <base href>, so a [api] base_url sub-path works too.
                "href": f"{path}/",
                "icon": f"{path}/icon.svg",
                "url_route": nav_route(code),
                "destination": "nav",
                "nav_top_level": True,
            }
        )
    return apps, views


_APPS, _VIEWS = _dashboards()


class ResellerSyncPlugin(AirflowPlugin):
    name = "reseller_sync"
    # Airflow declares these as list attributes of AirflowPlugin and reads them off the class.
    fastapi_apps: list[Any] = _APPS
    external_views: list[Any] = _VIEWS
