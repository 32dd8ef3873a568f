"""Ticketnet's PRICETYPES list kept in the box office, and its active price types mapped to
no tariff named at once (``ticketnet-exchange-v1`` section 7.2; SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import ResellerCustomerCategory
from reseller_sync.domain.errors import MappingError
from reseller_sync.ticketnet.mappings import load_mappings
from reseller_sync.ticketnet.names import FileType
from reseller_sync.ticketnet.price_types import integrate_price_types
from reseller_sync.ticketnet.reader import read_data_file
from tests.ticketnet.ticketnet_samples import gz

MAPPINGS = Path(__file__).with_name("mappings")
FILE = "PRICETYPES_PR04127_00000003.PRICETYPES.1.csv.gz"
HEADER = "price_type,label,active,modified_at\n"

pytestmark = pytest.mark.usefixtures("ticketnet_registered")


def price_types(*records: str, name: str = FILE) -> pa.Table:
    return read_data_file(name, FileType.PRICETYPES, gz(HEADER + "".join(records))).table


def kept(session: Session) -> dict[str, tuple[bool, int | None]]:
    rows = session.execute(
        select(
            ResellerCustomerCategory.code,
            ResellerCustomerCategory.active,
            ResellerCustomerCategory.first_seen_file_id,
        ).where(ResellerCustomerCategory.reseller_code == "ticketnet")
    )
    return {code: (active, first) for code, active, first in rows}


def test_a_new_active_price_type_mapped_to_no_tariff_is_named_with_its_fix(
    demo_session: Session,
) -> None:
    table = price_types(
        "ADULT,Plein tarif,true,2026-11-01T09:00:00+01:00\n",
        "CSE,Comité social,true,2026-11-01T09:00:00+01:00\n",
        "ETUDIANT,Étudiant,true,2026-11-28T09:00:00+01:00\n",
        "VIEUX,Ancien tarif,false,2026-01-01T09:00:00+01:00\n",
    )

    outcome = integrate_price_types(demo_session, load_mappings(MAPPINGS), FILE, table)

    assert (outcome.categories, outcome.active, outcome.added) == (4, 3, ())
    (fault,) = outcome.unmapped.faults
    assert fault.reason == (
        "Ticketnet's active price type ETUDIANT (Étudiant) is mapped to no tariff: its sales "
        "cannot be integrated"
    )
    assert fault.fix.endswith('under tariffs, e.g. REDUIT: "CE|CSE|REDUCED|ETUDIANT"')
    with pytest.raises(MappingError, match="Ticketnet has 1 new customer category to map"):
        outcome.unmapped.raise_for_faults()
    assert kept(demo_session) == {
        "ADULT": (True, None),
        "CSE": (True, None),
        "ETUDIANT": (True, None),
        "VIEUX": (False, None),
    }


def test_the_next_list_replaces_the_kept_one_and_says_what_was_added(
    demo_session: Session,
) -> None:
    repository = load_mappings(MAPPINGS)
    integrate_price_types(
        demo_session,
        repository,
        FILE,
        price_types("ADULT,Plein,true,2026-11-01T09:00:00+01:00\n"),
    )

    later = "PRICETYPES_PR04127_00000004.PRICETYPES.1.csv.gz"
    outcome = integrate_price_types(
        demo_session,
        repository,
        later,
        price_types(
            "ADULT,Plein,false,2026-11-29T09:00:00+01:00\n",
            "REDUCED,Réduit,true,2026-11-29T09:00:00+01:00\n",
            name=later,
        ),
    )

    assert outcome.added == ("REDUCED",)
    assert outcome.unmapped.ok
    assert kept(demo_session) == {"ADULT": (False, None), "REDUCED": (True, None)}
