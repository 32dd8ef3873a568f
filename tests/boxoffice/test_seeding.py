"""A reseller's channel, point of sale, technical contact and pending accounts, as the box
offices made in code add them (on SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import (
    ChannelType,
    Contact,
    Currency,
    PaymentMode,
    PendingAccount,
    PointOfSale,
    SalesChannel,
)
from reseller_sync.boxoffice.seeding import add_reseller_channel


@pytest.fixture
def session(boxoffice_engine: Engine) -> Iterator[Session]:
    with Session(boxoffice_engine) as session:
        yield session
        session.rollback()


def test_a_reseller_gets_its_channel_point_of_sale_and_paying_contact(session: Session) -> None:
    channel = add_reseller_channel(
        session,
        reseller_code="acme",
        channel=("ACME", "Acme (real-time web service)"),
        point_of_sale=("ACME-WEB", "Acme web shop"),
        contact=("ACME-TECH", "Acme, technical account"),
        currencies=(Currency.EUR,),
    )
    session.flush()

    stored = session.scalars(select(SalesChannel).where(SalesChannel.code == "ACME")).one()
    assert stored is channel
    assert (stored.name, stored.type, stored.reseller_code) == (
        "Acme (real-time web service)",
        ChannelType.RESELLER_AUTOMATIC,
        "acme",
    )
    point = session.scalars(select(PointOfSale).where(PointOfSale.channel_id == channel.id)).one()
    assert (point.code, point.name, point.payment_mode) == (
        "ACME-WEB",
        "Acme web shop",
        PaymentMode.PENDING_ACCOUNT,
    )
    contact = session.scalars(select(Contact).where(Contact.code == "ACME-TECH")).one()
    assert (contact.name, contact.email, contact.technical) == (
        "Acme, technical account",
        None,
        True,
    )
    accounts = session.scalars(
        select(PendingAccount.currency).where(PendingAccount.contact_id == contact.id)
    ).all()
    assert accounts == [Currency.EUR]


def test_the_paying_contact_has_an_account_in_every_currency_unless_told(
    session: Session,
) -> None:
    add_reseller_channel(
        session,
        reseller_code="acme",
        channel=("ACME", "Acme"),
        point_of_sale=("ACME-WEB", "Acme web shop"),
        contact=("ACME-TECH", "Acme, technical account"),
    )
    session.flush()

    currencies = session.scalars(
        select(PendingAccount.currency)
        .join(Contact, PendingAccount.contact_id == Contact.id)
        .where(Contact.code == "ACME-TECH")
    ).all()
    assert sorted(currencies) == sorted(Currency)
