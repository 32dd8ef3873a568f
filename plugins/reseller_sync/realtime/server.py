"""Running the real-time service: ``realtime serve`` (uvicorn, one or more workers) and
``realtime conformance`` (a fresh box office holding the conformance data set of
realtime-api-v1, section 16, served on loopback for a conformance client)."""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging
import logging.config
import os
import secrets
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session

from reseller_sync.boxoffice import migrate
from reseller_sync.boxoffice.db import URL_VARIABLE, database_url, make_engine
from reseller_sync.realtime.app import AVAILABILITY_LAG_SECONDS, create_app
from reseller_sync.realtime.http_cursor import SECRET_VARIABLE
from reseller_sync.realtime.http_ratelimit import token_buckets
from reseller_sync.realtime.http_service import PREFIX

REDIS_URL_VARIABLE = "REALTIME_REDIS_URL"
"""Where the rate limit's buckets live when several workers serve (unset: in memory)."""

log = logging.getLogger(__name__)


WORKER_HEALTHCHECK_SECONDS = 60
"""How long uvicorn's supervisor waits for a worker to answer its health check: its default
(5 s) killed workers still importing the application on a loaded machine."""
POOL_SIZE = 20
POOL_OVERFLOW = 10
"""Connections of one worker's engine: as many as the requests it serves at once (the
threadpool runs every request's database work), so that a read never queues for a
connection behind writes; idle ones cost the database little."""


def service_engine(url: str) -> Engine:
    """The engine of one worker: :func:`make_engine`'s, with a pool sized for the service on
    PostgreSQL (SQLite keeps its own). No ping before each checkout (a round trip per
    request): a connection the server dropped fails its first statement, the pool then
    replaces every connection older than that, and the request's transaction runs again
    (:class:`~reseller_sync.realtime.http_service.Service`)."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if not url.startswith("postgresql"):
        return make_engine(url)
    return create_engine(
        url,
        pool_size=POOL_SIZE,
        max_overflow=POOL_OVERFLOW,
        pool_timeout=10,
        pool_recycle=1800,
    )


def app_from_environment() -> FastAPI:
    """The application of one worker: the box office of ``BOXOFFICE_DB_URL`` (or the usual
    default), the buckets in the Redis of ``REALTIME_REDIS_URL`` when set."""
    engine = service_engine(database_url())
    return create_app(
        engine,
        rate_limiter=token_buckets(os.environ.get(REDIS_URL_VARIABLE)),
        availability_lag=AVAILABILITY_LAG_SECONDS,
    )


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(correlation_id)s] %(message)s"
"""The service's log lines on stderr, each with the correlation id of its request."""


def _configure_logging() -> None:
    logging.config.dictConfig(log_config())


def log_config() -> dict[str, Any]:
    """uvicorn's logging, plus the service's own loggers (the access log among them) on
    stderr: each worker process configures itself from it."""
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config["formatters"]["service"] = {"format": LOG_FORMAT}
    config.setdefault("filters", {})["correlation"] = {
        "()": "reseller_sync.realtime.http_service.CorrelationFilter"
    }
    config["handlers"]["service"] = {
        "class": "logging.StreamHandler",
        "formatter": "service",
        "filters": ["correlation"],
        "stream": "ext://sys.stderr",
    }
    config["loggers"]["reseller_sync"] = {
        "handlers": ["service"],
        "level": "INFO",
        "propagate": False,
    }
    return config


def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    workers: int = 1,
    database: str | None = None,
    redis_url: str | None = None,
) -> None:
    """Serve until stopped (SIGTERM, Ctrl-C). The workers share the settings through the
    environment; without ``REALTIME_CURSOR_SECRET`` one secret is generated here for all of
    them, so a cursor is valid on every worker until the service restarts."""
    if database:
        os.environ[URL_VARIABLE] = database
    if redis_url:
        os.environ[REDIS_URL_VARIABLE] = redis_url
    if workers > 1 and not os.environ.get(REDIS_URL_VARIABLE):
        log.warning("%d workers without Redis: each keeps its own rate-limit buckets", workers)
    os.environ.setdefault(SECRET_VARIABLE, secrets.token_urlsafe(32))
    _configure_logging()
    _stop_quietly()
    uvicorn.run(
        "reseller_sync.realtime.server:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        log_config=log_config(),
        access_log=False,  # the service writes its own access log, without query strings
        proxy_headers=False,
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
    )


def _stop_quietly() -> None:
    """uvicorn shuts down gracefully on SIGTERM or SIGINT, then raises the signal again for
    the handler it found: this handler lets the command end normally (exit 0, its temporary
    files removed) instead of being killed by that signal."""

    def stopped(signum: int, _frame: Any) -> None:
        log.info("stopped by signal %s", signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, stopped)
    signal.signal(signal.SIGINT, stopped)


class _AnnouncingServer(uvicorn.Server):
    """Prints where it serves, once serving (the conformance client waits for that line)."""

    def __init__(self, config: uvicorn.Config, announcement: dict[str, Any]) -> None:
        super().__init__(config)
        self.announcement = announcement

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets)
        if not self.started:
            return
        host, port = self.config.host, self.config.port
        for server in self.servers:
            for socket in server.sockets:
                host, port = socket.getsockname()[:2]
                break
        line = {"base_url": f"http://{host}:{port}{PREFIX}", **self.announcement}
        sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()


def conformance(*, port: int, database: str | None = None, host: str = "127.0.0.1") -> None:
    """A fresh box office (a temporary SQLite unless ``database`` names an empty one),
    migrated, loaded with the conformance data set, served until SIGTERM or Ctrl-C; prints
    ``{"base_url": ..., "keys": {"conf-a": ..., "conf-b": ...}}`` on stdout once serving."""
    _configure_logging()
    _stop_quietly()
    folder: Path | None = None
    if database:
        url = database
    else:
        folder = Path(tempfile.mkdtemp(prefix="realtime-conformance-"))
        url = f"sqlite:///{folder / 'boxoffice.sqlite'}"
    try:
        migrate.upgrade(url)
        engine = make_engine(url)
        from reseller_sync.realtime.conformance import load_conformance_data

        with Session(engine) as session, session.begin():
            keys = load_conformance_data(session, dt.datetime.now(dt.UTC))
        app = create_app(engine)
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            log_config=log_config(),
            access_log=False,
            lifespan="off",
        )
        _AnnouncingServer(config, {"keys": keys}).run()
        engine.dispose()
    finally:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
