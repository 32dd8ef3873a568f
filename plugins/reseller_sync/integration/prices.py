"""A reseller's latest sale prices against the box office's, whatever the reseller: the
nightly price verification's comparison."""

from __future__ import annotations

import pandas as pd
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.catalogue import performance_prices

PRICE_KEY = ["performance_id", "category_id", "tariff_id"]
"""What a price is the price of: a performance, a seat category and a tariff."""


def prices_that_differ(session: Session, sales: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """``sales`` (one row per :data:`PRICE_KEY`, with the reseller's ``price`` and
    ``currency``) beside the box office's ``box_office_price`` and ``box_office_currency``;
    the rows whose price has no box-office price or another amount or currency, and how
    many rows were compared."""
    prices = performance_prices(session, sales["performance_id"].unique()).rename(
        columns={"amount": "box_office_price", "currency": "box_office_currency"}
    )
    compared = sales.merge(prices, on=PRICE_KEY, how="left")
    differs = (
        compared["box_office_price"].isna()
        | (compared["box_office_price"] != compared["price"])
        | (compared["box_office_currency"] != compared["currency"])
    )
    return compared[differs], len(compared)
