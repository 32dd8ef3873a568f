"""A reseller's dashboard as a FastAPI app, mounted by the Airflow plugin under ``/<code>``.

Pages (HTML, server-rendered, no script), all of the one reseller's:

- ``/``: products and their onboarding, freshness of each stream of files,
  today's sales with charts, the latest alerts;
- ``/journal``: the exchange journal, newest first, filtered and searched;
- ``/journal/{id}``: one file with its line-level errors (never its bytes); a
  failed file from the reseller has a form to set it aside (``POST
  /journal/{id}/set-aside``, for who may clear the hourly DAG's tasks);
- ``/sales?day=YYYY-MM-DD``: the sales of a day;
- ``/api/sales?day=YYYY-MM-DD``: the same as JSON.

Every route but the nav icon requires an Airflow UI login (see
:mod:`reseller_sync.dashboard.auth`): a browser without one is sent to the
login page, any other client gets 401.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from contextlib import AbstractContextManager
from enum import StrEnum
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, FastAPI, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.db import session_scope
from reseller_sync.boxoffice.models import Direction, FileState
from reseller_sync.config.settings import InstanceSettings
from reseller_sync.core.resellers import adapter, reseller_type
from reseller_sync.dashboard import queries, url_prefix
from reseller_sync.dashboard.auth import AirflowUiUser, NotLoggedInError, user_name
from reseller_sync.dashboard.views import render, sales_charts
from reseller_sync.domain.errors import ConfigurationError

_Choice = TypeVar("_Choice", bound=StrEnum)
ALERTS_SHOWN = 20
ICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" fill="none" stroke="#3b6ea5"'
    ' stroke-width="2"><rect x="3" y="12" width="4" height="9"/><rect x="10" y="7" width="4"'
    ' height="14"/><rect x="17" y="3" width="4" height="18"/></svg>'
)

SessionFactory = Callable[[], AbstractContextManager[Session]]
SettingsReader = Callable[[], InstanceSettings]


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def set_aside_dag(reseller: str, entry: queries.JournalEntry) -> str:
    """Setting a file aside releases the cascade guard of the DAG that integrates its stream
    (the hourly ``<code>_inbound`` for most): a person who may clear that DAG's tasks may
    do it. A stream integrated at onboarding names the file's product, when it is known."""
    kind = reseller_type(reseller)
    dag_id = kind.processing_dag(entry.file_type)
    if "<product>" not in dag_id:
        return dag_id
    if entry.product_code:
        return kind.dag_id("onboarding", entry.product_code)
    return kind.dag_id("inbound")


def dashboard_name(reseller: str, settings: SettingsReader | None = None) -> str:
    """How the UI names the reseller's dashboard: its instance's display name, else its
    type's name (settings that cannot be read do not hide the dashboard)."""
    try:
        return (settings or adapter(reseller).load_settings)().display_name
    except ConfigurationError:
        return reseller_type(reseller).name


def create_app(
    reseller: str,
    *,
    sessions: SessionFactory = session_scope,
    settings: SettingsReader | None = None,
    now: Callable[[], dt.datetime] = _utcnow,
    user: AirflowUiUser | None = None,
) -> FastAPI:
    """The dashboard app of ``reseller`` (a configured reseller's code). ``sessions`` opens
    the box office, ``settings`` reads the instance's settings (default: its adapter's
    ``load_settings``, on each request, so an edit shows at once), ``user`` guards every
    page."""
    read_settings: SettingsReader = settings or adapter(reseller).load_settings
    prefix = url_prefix(reseller)
    name = dashboard_name(reseller, read_settings)
    guard = user or AirflowUiUser()
    app = FastAPI(
        title=f"{name} dashboard",
        description=f"The {name} interface of the box office, inside the Airflow UI.",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    pages = APIRouter(dependencies=[Depends(guard)])
    # The user of the request, for the routes that need them: the same guard, run once per
    # request (FastAPI caches a dependency). A default, not an annotation: this module's
    # annotations are text, and ``guard`` is not a module name FastAPI could resolve.
    current_user = Depends(guard)

    @app.exception_handler(NotLoggedInError)
    async def _to_login(request: Request, _error: NotLoggedInError) -> Response:
        if "text/html" in request.headers.get("accept", ""):
            return RedirectResponse(guard.login_url(str(request.url)), status_code=303)
        return JSONResponse({"detail": "Not authenticated"}, status_code=401)

    def page(
        request: Request, template: str, current: InstanceSettings, **values: Any
    ) -> HTMLResponse:
        base = request.scope.get("root_path", "")
        airflow_base = base.removesuffix(prefix)
        return HTMLResponse(
            render(
                f"dashboard/{template}",
                base=base,
                airflow_base=airflow_base,
                reseller=current.display_name,
                **values,
            ),
            headers={"Cache-Control": "no-store"},
        )

    @pages.get("/", response_class=HTMLResponse, name="overview")
    def overview(request: Request) -> HTMLResponse:
        current = read_settings()
        moment = now()
        today = queries.organiser_today(current, moment)
        with sessions() as session:
            onboarding = queries.onboarding_overview(session, reseller, current)
            streams = queries.stream_freshness(session, reseller, current, moment)
            sales = queries.day_sales(session, reseller, current, today)
            alerts = queries.latest_alerts(session, ALERTS_SHOWN)
        return page(
            request,
            "overview.html.j2",
            current,
            zone=current.boxoffice.venue_timezone,
            now=moment,
            onboarding=onboarding,
            streams=streams,
            sales=sales,
            pos_charts=sales_charts(sales, by="point_of_sale"),
            performance_charts=sales_charts(sales, by="performance"),
            alerts=alerts,
        )

    @pages.get("/journal", response_class=HTMLResponse, name="journal")
    def journal(
        request: Request,
        direction: Annotated[str | None, Query(max_length=16)] = None,
        file_type: Annotated[str | None, Query(alias="type", max_length=32)] = None,
        state: Annotated[str | None, Query(max_length=16)] = None,
        q: Annotated[str | None, Query(max_length=200)] = None,
        page_number: Annotated[int, Query(alias="page", ge=1)] = 1,
    ) -> HTMLResponse:
        criteria = queries.JournalFilter(
            reseller=reseller,
            direction=_choice(Direction, direction),
            file_type=file_type or None,
            state=_choice(FileState, state),
            search=q or None,
            page=page_number,
        )
        current = read_settings()
        with sessions() as session:
            result = queries.journal_page(session, criteria)
            file_types = queries.journal_file_types(session, reseller)
        return page(
            request,
            "journal.html.j2",
            current,
            zone=current.boxoffice.venue_timezone,
            result=result,
            file_types=file_types,
            directions=list(Direction),
            states=list(FileState),
            query=_query_string(criteria),
        )

    def file_detail(file_id: int) -> queries.FileDetail:
        with sessions() as session:
            detail = queries.file_detail(session, reseller, file_id)
        if detail is None:
            raise HTTPException(404, f"No such file in the {read_settings().display_name} journal")
        return detail

    def file_page(
        request: Request,
        detail: queries.FileDetail,
        user: Any,
        *,
        problem: str | None = None,
        reason: str = "",
        status_code: int = 200,
    ) -> HTMLResponse:
        current = read_settings()
        set_aside_dag_id = set_aside_dag(reseller, detail.entry)
        response = page(
            request,
            "file.html.j2",
            current,
            zone=current.boxoffice.venue_timezone,
            detail=detail,
            may_set_aside=detail.can_be_set_aside and guard.may_clear_tasks(user, set_aside_dag_id),
            set_aside_dag=set_aside_dag_id,
            problem=problem,
            reason=reason,
        )
        response.status_code = status_code
        return response

    @pages.get("/journal/{file_id}", response_class=HTMLResponse, name="journal_file")
    def journal_file(request: Request, file_id: int, user: Any = current_user) -> HTMLResponse:
        return file_page(request, file_detail(file_id), user)

    @pages.post("/journal/{file_id}/set-aside", name="set_aside")
    def set_aside(
        request: Request,
        file_id: int,
        reason: Annotated[str, Form()] = "",
        user: Any = current_user,
    ) -> Response:
        """Set a failed file aside, as the logged-in user, then back to its page.

        Login and permission: the page's login (every route's), and the right to clear
        the tasks of the DAG that integrates the file's stream (:func:`set_aside_dag`),
        asked of Airflow's auth manager as Airflow asks it. Cross-site requests: see
        :func:`_same_origin`. A refusal (no reason, a file no longer failed) shows the page
        again with the reason and changes nothing.
        """
        if not _same_origin(request):
            raise HTTPException(403, "Refused: the form was not sent from this site")
        detail = file_detail(file_id)
        set_aside_dag_id = set_aside_dag(reseller, detail.entry)
        if not guard.may_clear_tasks(user, set_aside_dag_id):
            raise HTTPException(
                403, f"Setting a file aside needs the right to clear tasks of {set_aside_dag_id}"
            )
        if not reason.strip():
            return file_page(
                request,
                detail,
                user,
                problem="Say why the file is set aside: a reason is required.",
                status_code=422,
            )
        from reseller_sync.airflow.notifier import smtp_sender
        from reseller_sync.exchange.journal import SetAsideRefusedError
        from reseller_sync.pipelines.set_aside import set_aside_file

        try:
            set_aside_file(
                sessions,
                read_settings(),
                detail.entry.name,
                reason=reason,
                by=user_name(user),
                send=smtp_sender(),
            )
        except SetAsideRefusedError as error:
            return file_page(
                request,
                file_detail(file_id),
                user,
                problem=f"Not set aside: {error}.",
                reason=reason,
                status_code=409,
            )
        base = request.scope.get("root_path", "")
        return RedirectResponse(f"{base}/journal/{file_id}", status_code=303)

    @pages.get("/sales", response_class=HTMLResponse, name="sales")
    def sales_page(request: Request, day: dt.date | None = None) -> HTMLResponse:
        current = read_settings()
        shown_day = day or queries.organiser_today(current, now())
        with sessions() as session:
            sales = queries.day_sales(session, reseller, current, shown_day)
        return page(
            request,
            "sales.html.j2",
            current,
            sales=sales,
            previous_day=shown_day - dt.timedelta(days=1),
            next_day=shown_day + dt.timedelta(days=1),
            charts={
                by: sales_charts(sales, by=by)
                for by in ("point_of_sale", "performance", "product", "tariff")
            },
        )

    @pages.get("/api/sales", name="sales_json")
    def sales_json(day: dt.date | None = None) -> dict[str, Any]:
        current = read_settings()
        shown_day = day or queries.organiser_today(current, now())
        with sessions() as session:
            sales = queries.day_sales(session, reseller, current, shown_day)
        return dataclasses.asdict(sales)

    app.include_router(pages)

    @app.get("/icon.svg", name="icon")
    def icon() -> Response:
        """The nav icon: the one route open without a login (a drawing, no data)."""
        return Response(ICON, media_type="image/svg+xml")

    return app


def _same_origin(request: Request) -> bool:
    """Whether a form was sent from a page of this site: the cross-site request guard.

    The dashboard's login is the Airflow UI's ``_token`` cookie, which the
    browser adds to any request to this site, a form posted from another site
    included: without a guard, a page elsewhere could make a logged-in person
    set a file aside. Airflow sets that cookie ``SameSite=Lax``, so browsers
    already leave it out of a POST from another *site*; but a sibling host of
    the same site (another application under the same domain) would still get
    it sent. So the form must also come from this very *origin*: browsers send
    ``Origin`` with every POST (``Referer`` when a privacy setting drops it),
    and a page cannot forge either. Its host must be the one the request was
    sent to (``Host``, or ``X-Forwarded-Host`` behind a proxy: a form cannot
    set that header either). The scheme is not compared, since a proxy that
    ends TLS changes it. Neither header: refused. This needs no token in the
    page, no state on the server, and works in the UI's frame (same origin).
    """
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source or source == "null":
        return False
    sent_from = urlsplit(source).netloc.lower()
    hosts = {
        value.split(",")[0].strip().lower()
        for value in (request.headers.get("host"), request.headers.get("x-forwarded-host"))
        if value
    }
    return bool(sent_from) and sent_from in hosts


def _choice(choices: type[_Choice], value: str | None) -> _Choice | None:
    """A filter's value: empty is "all" (what the form's first option sends)."""
    if not value:
        return None
    try:
        return choices(value)
    except ValueError:
        allowed = ", ".join(choice.value for choice in choices)
        raise HTTPException(422, f"unknown value {value!r}; expected one of {allowed}") from None


def _query_string(criteria: queries.JournalFilter) -> dict[str, str]:
    """The journal's filters as query parameters, for the paging links."""
    values = {
        "direction": criteria.direction.value if criteria.direction else None,
        "type": criteria.file_type,
        "state": criteria.state.value if criteria.state else None,
        "q": criteria.search,
    }
    return {key: value for key, value in values.items() if value}
