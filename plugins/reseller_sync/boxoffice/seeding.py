"""Building blocks of the box offices made in code (the demo's, the real-time conformance
data set, the benchmarks'): what a person would set up at the box office for a reseller."""

from __future__ import annotations

from collections.abc import Iterable

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


def add_reseller_channel(
    session: Session,
    *,
    reseller_code: str,
    channel: tuple[str, str],
    point_of_sale: tuple[str, str],
    contact: tuple[str, str],
    currencies: Iterable[Currency] = tuple(Currency),
) -> SalesChannel:
    """A reseller's automatic sales channel, its point of sale paid through a pending
    account, its technical contact and the contact's pending account in each of
    ``currencies``, each given as (code, name); added to the session in that order (their
    ids follow it), not flushed. Returns the channel."""
    added = SalesChannel(
        code=channel[0],
        name=channel[1],
        type=ChannelType.RESELLER_AUTOMATIC,
        reseller_code=reseller_code,
    )
    technical = Contact(code=contact[0], name=contact[1], email=None, technical=True)
    session.add_all(
        [
            added,
            PointOfSale(
                code=point_of_sale[0],
                name=point_of_sale[1],
                channel=added,
                payment_mode=PaymentMode.PENDING_ACCOUNT,
            ),
            technical,
            *(PendingAccount(contact=technical, currency=currency) for currency in currencies),
        ]
    )
    return added
