"""The FNAC dashboard inside the Airflow UI, and the charts shared with the reports.

``queries`` reads the box office (plain functions of a Session), ``charts``
draws inline SVG bar charts, ``views`` renders the Jinja2 templates
(autoescaped), ``app`` is the FastAPI app the Airflow plugin mounts and
``auth`` checks the Airflow UI's login on every page. Only ``app`` and
``auth`` import FastAPI and Airflow.
"""

NAV_ROUTE = "fnac"
"""The dashboard's route in the Airflow UI (``/plugin/<route>``), kept from its first
version so that bookmarks and links in past e-mails still work."""
DASHBOARD_ROUTE = f"/plugin/{NAV_ROUTE}"
