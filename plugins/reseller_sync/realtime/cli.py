"""``python -m reseller_sync realtime ...``: the real-time reseller service.

- ``serve [--host --port --workers --database-url --redis-url]``: serve realtime-api-v1;
- ``conformance --port PORT [--database-url URL]``: a fresh box office with the
  conformance data set (section 16), for a conformance client;
- ``keys issue RESELLER | list [RESELLER] | revoke KEY_ID``: API keys (a key is shown once).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from reseller_sync.boxoffice.db import make_engine, session_scope


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("realtime", help="the real-time reseller web service")
    commands = parser.add_subparsers(dest="realtime_command", required=True)

    serve = commands.add_parser("serve", help="serve realtime-api-v1 (uvicorn)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--database-url", help="default: the box office's usual URL")
    serve.add_argument("--redis-url", help="share the rate limit between workers")
    serve.set_defaults(handler=_serve)

    conformance = commands.add_parser(
        "conformance", help="serve a fresh box office holding the conformance data set"
    )
    conformance.add_argument("--port", type=int, required=True)
    conformance.add_argument("--database-url", help="an empty database (default: temporary)")
    conformance.set_defaults(handler=_conformance)

    keys = commands.add_parser("keys", help="a reseller's API keys")
    keys.add_argument("--database-url", help="default: the box office's usual URL")
    key_commands = keys.add_subparsers(dest="keys_command", required=True)
    issue = key_commands.add_parser("issue", help="issue a key (shown once)")
    issue.add_argument("reseller")
    issue.set_defaults(handler=_issue)
    listing = key_commands.add_parser("list", help="the keys, never their value")
    listing.add_argument("reseller", nargs="?")
    listing.set_defaults(handler=_list)
    revoke = key_commands.add_parser("revoke", help="revoke a key (stops within 60 s)")
    revoke.add_argument("key_id")
    revoke.set_defaults(handler=_revoke)


def _serve(args: argparse.Namespace) -> int:
    from reseller_sync.realtime.server import serve

    serve(
        host=args.host,
        port=args.port,
        workers=args.workers,
        database=args.database_url,
        redis_url=args.redis_url,
    )
    return 0


def _conformance(args: argparse.Namespace) -> int:
    from reseller_sync.realtime.server import conformance

    conformance(port=args.port, database=args.database_url)
    return 0


def _issue(args: argparse.Namespace) -> int:
    from reseller_sync.realtime.settings import TooManyActiveKeys, issue_key

    try:
        with session_scope(make_engine(args.database_url)) as session:
            key = issue_key(session, args.reseller, dt.datetime.now(dt.UTC))
    except (KeyError, TooManyActiveKeys) as error:
        print(f"error: {error.args[0] if error.args else error}", file=sys.stderr)
        return 1
    print(key)
    print("shown once: the box office keeps only its id and hash", file=sys.stderr)
    return 0


def _list(args: argparse.Namespace) -> int:
    from reseller_sync.realtime.settings import list_keys

    with session_scope(make_engine(args.database_url)) as session:
        keys = list_keys(session, args.reseller)
    print(f"{'key id':<10} {'reseller':<16} {'created':<26} revoked")
    for key in keys:
        revoked = key.revoked_at.isoformat() if key.revoked_at else "-"
        print(
            f"{key.key_id:<10} {key.reseller_code:<16} {key.created_at.isoformat():<26} {revoked}"
        )
    return 0


def _revoke(args: argparse.Namespace) -> int:
    from reseller_sync.realtime.settings import revoke_key

    try:
        with session_scope(make_engine(args.database_url)) as session:
            revoke_key(session, args.key_id, dt.datetime.now(dt.UTC))
    except KeyError as error:
        print(f"error: {error.args[0] if error.args else error}", file=sys.stderr)
        return 1
    print(f"revoked {args.key_id}: it stops working within 60 seconds")
    return 0
