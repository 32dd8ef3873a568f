"""The Airflow plugin of reseller-sync: the FNAC dashboard in the Airflow UI.

The one module the plugins manager imports from ``plugins/`` (the library is
listed in ``plugins/.airflowignore``). It only declares: the dashboard's
FastAPI app, mounted by the api-server under ``/fnac``, and a top-level nav
entry "FNAC" that shows it inside the UI at ``/plugin/fnac``. The app checks
the Airflow login itself (see ``reseller_sync.dashboard.auth``). Building the
app opens no database: the box office is opened per request.
"""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin

from reseller_sync.dashboard import NAV_ROUTE
from reseller_sync.dashboard.app import URL_PREFIX, create_app


class ResellerSyncPlugin(AirflowPlugin):
    name = "reseller_sync"
    # Airflow declares these as list attributes of AirflowPlugin and reads them off the class.
    fastapi_apps: list[Any] = [  # noqa: RUF012
        {"name": "FNAC dashboard", "app": create_app(), "url_prefix": URL_PREFIX},
    ]
    external_views: list[Any] = [  # noqa: RUF012
        {
            "name": "FNAC",
            # Relative to the UI's <base href>, so a [api] base_url sub-path works too.
            "href": URL_PREFIX.lstrip("/") + "/",
            "icon": URL_PREFIX.lstrip("/") + "/icon.svg",
            "url_route": NAV_ROUTE,
            "destination": "nav",
            "nav_top_level": True,
        },
    ]
