"""API keys and settings of synchronous resellers (realtime-api-v1, sections 2, 4 and 9)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import RealtimeApiKey, RealtimeReseller
from reseller_sync.realtime.settings import (
    ApiKeyInfo,
    TooManyActiveKeys,
    authenticate,
    issue_key,
    list_keys,
    record_reseller,
    reseller_context,
    revoke_key,
    set_suspended,
)

KEY_FORMAT = re.compile(r"rsk_[a-z0-9]{8}_[A-Za-z0-9_-]{43}")


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """The SQL statements the engine runs inside the block."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, _parameters, _context, _many) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_an_issued_key_has_the_contract_format_and_only_its_hash_is_stored(
    conformance_world,
) -> None:
    world = conformance_world
    with world.session() as session, session.begin():
        key = issue_key(session, "conf-b", world.now)
    assert KEY_FORMAT.fullmatch(key)
    key_id = key[4:12]
    with world.session() as session:
        row = session.scalars(select(RealtimeApiKey).where(RealtimeApiKey.key_id == key_id)).one()
        assert row.reseller_code == "conf-b"
        assert row.key_sha256 == hashlib.sha256(key.encode()).hexdigest()
        assert row.revoked_at is None
        secret = key[13:]
        stored = [str(getattr(row, column.key)) for column in RealtimeApiKey.__table__.columns]
        assert not any(secret in value or key in value for value in stored)


def test_keys_are_random(conformance_world) -> None:
    world = conformance_world
    keys = set(world.keys.values())
    with world.session() as session, session.begin():
        keys.add(issue_key(session, "conf-a", world.now))
    assert len(keys) == 3
    assert len({key[4:12] for key in keys}) == 3
    assert len({key[13:] for key in keys}) == 3


def test_a_valid_key_authenticates_as_its_reseller_with_its_key_id(conformance_world) -> None:
    world = conformance_world
    with world.session() as session:
        context = authenticate(session, world.keys["conf-a"])
    assert context is not None
    assert context.key_id == world.keys["conf-a"][4:12]
    assert dataclasses.replace(context, key_id=None) == world.reseller("conf-a")
    assert context.reseller_code == "conf-a"
    assert context.product_kinds == ("event", "competition", "pass")


MALFORMED_KEYS = [
    "",
    "rsk_",
    "Bearer rsk_abcdefgh_" + "A" * 43,
    "rsk_abcdefgh_" + "A" * 42,
    "rsk_abcdefgh_" + "A" * 44,
    "rsk_ABCDEFGH_" + "A" * 43,
    "rsk_abcdefg_" + "A" * 44,
    "rsk_abcdefgh_" + "A" * 42 + "+",
    "rsk_abcdefgh_" + "A" * 42 + "=",
    "rsk_abcdefgh_" + "A" * 43 + "\n",
    " rsk_abcdefgh_" + "A" * 43,
    "rsk-abcdefgh-" + "A" * 43,
    "rsk_abcdéfgh_" + "A" * 43,
]


def test_a_malformed_key_is_refused_without_asking_the_database(realtime_engine: Engine) -> None:
    with Session(realtime_engine) as session:
        with statements(realtime_engine) as seen:
            refused = [key for key in MALFORMED_KEYS if authenticate(session, key) is None]
        assert refused == MALFORMED_KEYS
        assert seen == []
        with statements(realtime_engine) as seen:
            assert authenticate(session, "rsk_abcdefgh_" + "A" * 43) is None  # well formed
        assert seen  # ...so asked


def test_unknown_or_altered_keys_are_refused(conformance_world) -> None:
    world = conformance_world
    key = world.keys["conf-a"]
    altered_secret = key[:-1] + ("B" if key[-1] != "B" else "C")
    unknown_id = "rsk_" + ("00000000" if key[4:12] != "00000000" else "11111111") + key[12:]
    borrowed_id = key[:13] + world.keys["conf-b"][13:]
    with world.session() as session:
        for refused in (altered_secret, unknown_id, borrowed_id):
            assert KEY_FORMAT.fullmatch(refused)
            assert authenticate(session, refused) is None
        assert authenticate(session, key) is not None


def test_a_revoked_key_no_longer_authenticates_and_the_other_still_does(
    conformance_world,
) -> None:
    world = conformance_world
    first = world.keys["conf-a"]
    with world.session() as session, session.begin():
        second = issue_key(session, "conf-a", world.now)
    with world.session() as session:
        both = [authenticate(session, key) for key in (first, second)]
    assert [context.reseller_code if context else None for context in both] == ["conf-a"] * 2
    assert both[0]
    assert both[1]
    assert both[0].channel_id == both[1].channel_id
    revoked_at = world.now + dt.timedelta(minutes=5)
    with world.session() as session, session.begin():
        revoke_key(session, first[4:12], revoked_at)
    with world.session() as session:
        assert authenticate(session, first) is None
        still = authenticate(session, second)
        assert still is not None
        assert still.key_id == second[4:12]
    with world.session() as session, session.begin():
        revoke_key(session, first[4:12], revoked_at + dt.timedelta(hours=1))  # kept as it was
    with world.session() as session:
        info = {key.key_id: key for key in list_keys(session, "conf-a")}
    assert info[first[4:12]].revoked_at == revoked_at
    assert not info[first[4:12]].active
    assert info[second[4:12]].active


def test_a_third_active_key_is_refused_until_one_is_revoked(conformance_world) -> None:
    world = conformance_world
    with world.session() as session, session.begin():
        issue_key(session, "conf-b", world.now)
    with world.session() as session, session.begin(), pytest.raises(TooManyActiveKeys):
        issue_key(session, "conf-b", world.now)
    assert issubclass(TooManyActiveKeys, ValueError)
    with world.session() as session:
        assert len(list_keys(session, "conf-b")) == 2
    with world.session() as session, session.begin():
        revoke_key(session, world.keys["conf-b"][4:12], world.now)
        third = issue_key(session, "conf-b", world.now)
    with world.session() as session:
        assert authenticate(session, third) is not None
        keys = list_keys(session, "conf-b")
    assert [key.active for key in keys] == [False, True, True]
    # The other reseller's two slots are its own.
    with world.session() as session, session.begin():
        issue_key(session, "conf-a", world.now)


def test_list_keys_shows_ids_and_dates_never_the_key(conformance_world) -> None:
    world = conformance_world
    with world.session() as session:
        every = list_keys(session)
        only_b = list_keys(session, "conf-b")
        assert list_keys(session, "nobody") == []
    assert [(key.reseller_code, key.key_id) for key in every] == [
        ("conf-a", world.keys["conf-a"][4:12]),
        ("conf-b", world.keys["conf-b"][4:12]),
    ]
    assert only_b == [every[1]]
    assert every[0] == ApiKeyInfo(
        key_id=world.keys["conf-a"][4:12],
        reseller_code="conf-a",
        created_at=world.now,
        revoked_at=None,
    )
    assert {field.name for field in dataclasses.fields(ApiKeyInfo)} == {
        "key_id",
        "reseller_code",
        "created_at",
        "revoked_at",
    }


def test_unknown_reseller_or_key_raise_key_error(conformance_world) -> None:
    world = conformance_world
    with world.session() as session:
        with pytest.raises(KeyError):
            issue_key(session, "nobody", world.now)
        with pytest.raises(KeyError):
            revoke_key(session, "zzzzzzzz", world.now)
        with pytest.raises(KeyError):
            reseller_context(session, "nobody")
        with pytest.raises(KeyError):
            set_suspended(session, "nobody", True)


def test_keys_never_reach_the_logs(conformance_world, caplog: pytest.LogCaptureFixture) -> None:
    world = conformance_world
    caplog.set_level(logging.DEBUG)
    with world.session() as session, session.begin():
        key = issue_key(session, "conf-a", world.now)
        authenticate(session, key)
        authenticate(session, key[:-1] + "!")
        revoke_key(session, key[4:12], world.now)
    assert key[4:12] in caplog.text  # the id is what logs name
    assert key[13:] not in caplog.text
    assert hashlib.sha256(key.encode()).hexdigest() not in caplog.text


def test_suspension_is_a_setting_the_key_still_carries(conformance_world) -> None:
    world = conformance_world
    with world.session() as session, session.begin():
        set_suspended(session, "conf-b", True)
    assert world.reseller("conf-b").suspended
    assert not world.reseller("conf-a").suspended
    with world.session() as session:
        context = authenticate(session, world.keys["conf-b"])
    assert context is not None
    assert context.suspended
    with world.session() as session, session.begin():
        set_suspended(session, "conf-b", False)
    assert not world.reseller("conf-b").suspended


def test_record_reseller_updates_the_settings(conformance_world) -> None:
    world = conformance_world
    with world.session() as session, session.begin():
        record_reseller(
            session,
            reseller_code="conf-b",
            channel_code="CONF-B",
            point_of_sale_code="CONF-B-WEB",
            contact_code="CONF-B-TECH",
            product_kinds=["event", "competition"],
            price_compare="price",
            price_policy="strict",
            max_places_per_hold=4,
            rate_per_second=5,
            burst=8,
        )
    context = world.reseller("conf-b")
    assert (context.product_kinds, context.price_compare, context.price_policy) == (
        ("event", "competition"),
        "price",
        "strict",
    )
    assert (context.max_places_per_hold, context.rate_per_second, context.burst) == (4, 5, 8)
    with world.session() as session:
        assert len(session.scalars(select(RealtimeReseller)).all()) == 2


REFUSED_SETTINGS: list[tuple[dict[str, object], type[Exception]]] = [
    ({"product_kinds": ["event", "subscription"]}, ValueError),
    ({"product_kinds": []}, ValueError),
    ({"price_compare": "commission"}, ValueError),
    ({"price_policy": "accept"}, ValueError),
    ({"burst": 10}, ValueError),
    ({"channel_code": "NOWHERE"}, KeyError),
    ({"point_of_sale_code": "NOWHERE"}, KeyError),
    ({"point_of_sale_code": "CONF-A-WEB"}, ValueError),
    ({"contact_code": "NOBODY"}, KeyError),
    ({}, ValueError),  # conf-b's channel is conf-b's
]


def test_record_reseller_refuses_settings_out_of_the_contract(conformance_world) -> None:
    world = conformance_world
    settings: dict[str, object] = {
        "reseller_code": "conf-c",
        "channel_code": "CONF-B",
        "point_of_sale_code": "CONF-B-WEB",
        "contact_code": "CONF-B-TECH",
        "product_kinds": ["event"],
        "price_compare": "price",
        "price_policy": "warn",
        "rate_per_second": 20,
        "burst": 40,
    }
    for change, error in REFUSED_SETTINGS:
        with world.session() as session:
            with pytest.raises(error):
                record_reseller(session, **{**settings, **change})  # type: ignore[arg-type]
            assert session.get(RealtimeReseller, "conf-c") is None


def test_settings_are_read_afresh_in_a_long_lived_session(conformance_world) -> None:
    """A worker's session that already read a reseller sees a later suspension."""
    world = conformance_world
    with world.session() as worker:
        assert not reseller_context(worker, "conf-a").suspended
        worker.commit()  # the worker's objects outlive its transactions
        with world.session() as organiser, organiser.begin():
            set_suspended(organiser, "conf-a", True)
        assert reseller_context(worker, "conf-a").suspended
        context = authenticate(worker, world.keys["conf-a"])
        assert context is not None
        assert context.suspended
