"""The dashboard's door: only a person logged into the Airflow UI gets in.

Airflow 3.3 mounts a plugin's FastAPI app on the api-server as it is: its
routes are NOT behind Airflow's authentication (``init_plugins`` in
``airflow/api_fastapi/app.py`` only mounts them). So every page depends on
:class:`AirflowUiUser`, which does what Airflow's own API does
(``core_api/security.py``): take the JWT from ``Authorization: Bearer`` or the
UI's ``_token`` cookie, have the configured auth manager validate it
(``get_user_from_token``), and ask the same auth manager whether that user may
see the UI (``is_authorized_view(access_view=WEBSITE)``, the viewer level).
"""

# No ``from __future__ import annotations``: FastAPI reads the signature of
# ``AirflowUiUser.__call__`` (an instance has no ``__globals__`` to resolve text in).
from collections.abc import Callable
from typing import TYPE_CHECKING

from fastapi import HTTPException, Request, status
from jwt import InvalidTokenError

if TYPE_CHECKING:
    from airflow.api_fastapi.auth.managers.base_auth_manager import BaseAuthManager
    from airflow.api_fastapi.auth.managers.models.base_user import BaseUser

TOKEN_COOKIE = "_token"
"""``airflow.api_fastapi.auth.managers.base_auth_manager.COOKIE_NAME_JWT_TOKEN``."""


class NotLoggedInError(Exception):
    """No valid Airflow token with the request: send a browser to the login page."""


def airflow_auth_manager() -> "BaseAuthManager":
    """The auth manager the api-server initialised at start-up."""
    from airflow.api_fastapi.app import get_auth_manager

    return get_auth_manager()


class AirflowUiUser:
    """FastAPI dependency: the Airflow user of the request, who may see the UI."""

    def __init__(
        self, auth_manager: Callable[[], "BaseAuthManager"] = airflow_auth_manager
    ) -> None:
        self._auth_manager = auth_manager

    async def __call__(self, request: Request) -> "BaseUser":
        token = _bearer_token(request) or request.cookies.get(TOKEN_COOKIE)
        if not token:
            raise NotLoggedInError
        from airflow.api_fastapi.auth.managers.models.resource_details import AccessView

        manager = self._auth_manager()
        try:
            user = await manager.get_user_from_token(token)
        except InvalidTokenError as error:  # expired, revoked, forged
            raise NotLoggedInError from error
        if not manager.is_authorized_view(access_view=AccessView.WEBSITE, user=user):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "Forbidden")
        return user

    def login_url(self, next_url: str) -> str:
        """Where the auth manager logs a person in, coming back to ``next_url``."""
        return self._auth_manager().get_url_login(next_url=next_url)

    def may_clear_tasks(self, user: "BaseUser", dag_id: str) -> bool:
        """Whether ``user`` may clear the task instances of ``dag_id``: what Airflow's own
        ``clearTaskInstances`` asks (``PUT`` on the DAG's ``TASK_INSTANCE``)."""
        from airflow.api_fastapi.auth.managers.models.resource_details import (
            DagAccessEntity,
            DagDetails,
        )

        return self._auth_manager().is_authorized_dag(
            method="PUT",
            access_entity=DagAccessEntity.TASK_INSTANCE,
            details=DagDetails(id=dag_id),
            user=user,
        )


def user_name(user: "BaseUser") -> str:
    """How a user is named in the journal and in alerts: the auth manager's name for them."""
    get_name = getattr(user, "get_name", None)
    return str(get_name() if callable(get_name) else user)


def _bearer_token(request: Request) -> str | None:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    return credentials.strip() or None if scheme.lower() == "bearer" else None
