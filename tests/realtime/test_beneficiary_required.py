"""A product whose tickets name their holder on a channel (``beneficiary_required``,
realtime-api-v1 section 7.2 and 7.5): said by the catalogue, required of every order line."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update

from reseller_sync.boxoffice.models import Product, ProductChannel, RealtimeReseller, Ticket
from reseller_sync.realtime.catalogue import product
from reseller_sync.realtime.holds import create_hold
from reseller_sync.realtime.orders import create_order
from reseller_sync.realtime.problems import Problem


def _require_names(world: Any, product_code: str, reseller: str) -> None:
    with world.session() as session, session.begin():
        channel_id = session.scalar(
            select(RealtimeReseller.channel_id).where(RealtimeReseller.reseller_code == reseller)
        )
        product_id = session.scalar(select(Product.id).where(Product.code == product_code))
        session.execute(
            update(ProductChannel)
            .where(ProductChannel.channel_id == channel_id, ProductChannel.product_id == product_id)
            .values(beneficiary_required=True)
        )


def _order_body(hold: dict[str, Any], ref: str, beneficiaries: list[Any]) -> dict[str, Any]:
    return {
        "hold_id": hold["id"],
        "reseller_order_ref": ref,
        "sold_at": "2026-12-02T13:04:40+01:00",
        "currency": "EUR",
        "lines": [
            {
                "hold_place_id": place["id"],
                "tariff_id": "FULL",
                "price": 2000,
                "commission": 0,
                "beneficiary": beneficiary,
            }
            for place, beneficiary in zip(hold["places"], beneficiaries, strict=True)
        ],
    }


def test_the_catalogue_says_which_products_name_their_holder(conformance_world) -> None:
    world = conformance_world
    with world.session() as session:
        assert (
            product(session, world.reseller("conf-a"), "CONF-PASS", world.now)[
                "beneficiary_required"
            ]
            is False
        )
    _require_names(world, "CONF-PASS", "conf-a")
    with world.session() as session:
        assert (
            product(session, world.reseller("conf-a"), "CONF-PASS", world.now)[
                "beneficiary_required"
            ]
            is True
        )
        assert (
            product(session, world.reseller("conf-a"), "CONF-EVT", world.now)[
                "beneficiary_required"
            ]
            is False
        )


def test_an_order_line_without_its_holder_is_refused_whole(conformance_world) -> None:
    world, now = conformance_world, conformance_world.now
    _require_names(world, "CONF-PASS", "conf-a")
    with world.session() as session, session.begin():
        hold = create_hold(
            session,
            world.reseller("conf-a"),
            {"lines": [{"performance_id": "CONF-PASS-1", "category_id": "PASS", "quantity": 2}]},
            now,
        )
    named = {"first_name": "Zoé", "last_name": "Dupré"}
    with pytest.raises(Problem) as refused, world.session() as session, session.begin():
        create_order(
            session, world.reseller("conf-a"), _order_body(hold, "REF-1", [named, None]), now
        )
    assert refused.value.type.name == "validation-failed"
    assert [(e["pointer"], e["reason"]) for e in refused.value.errors] == [
        ("#/lines/1/beneficiary", "beneficiary_required")
    ]
    with world.session() as session:
        assert session.scalars(select(Ticket.id)).all() == []

    with world.session() as session, session.begin():
        order = create_order(
            session, world.reseller("conf-a"), _order_body(hold, "REF-1", [named, named]), now
        )
    assert [t["beneficiary"] for t in order["tickets"]] == [named, named]
