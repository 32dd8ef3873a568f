"""Lookups of many values at once (``bulk.matching``), whatever the values hold."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.bulk import BigintArray, TextArray, array_literal, matching
from reseller_sync.boxoffice.models import Contact

AWKWARD = ['a"b', "c\\d", "e,f", "{g}", " h ", "NULL", "", 'i","j', "k'l", "é"]
"""Codes that the array's text form must quote and escape."""


def test_the_text_form_of_an_array() -> None:
    assert array_literal([1, 22, 333]) == "{1,22,333}"
    assert isinstance(array_literal([1]), BigintArray)
    assert array_literal(["a", "b"]) == '{"a","b"}'
    assert isinstance(array_literal(["a"]), TextArray)
    assert array_literal(['a"b', "c\\d"]) == '{"a\\"b","c\\\\d"}'
    assert array_literal([1, "a"]) is None
    assert array_literal([True]) is None


@pytest.mark.parametrize("size", [3, 25_000])
def test_matching_finds_exactly_the_values_asked_for(demo_session: Session, size: int) -> None:
    demo_session.add_all(Contact(code=code, name=f"contact {code!r}") for code in AWKWARD)
    demo_session.flush()
    asked = [*AWKWARD, "i", "j", "a", *(f"X{n}" for n in range(size))]
    found: list[str] = []
    for condition in matching(demo_session, Contact.code, asked):
        found.extend(demo_session.scalars(select(Contact.code).where(condition)))
    assert sorted(found) == sorted(AWKWARD)

    ids = {c.code: c.id for c in demo_session.scalars(select(Contact))}
    wanted = [ids[code] for code in AWKWARD[:3]]
    by_id: list[int] = []
    for condition in matching(demo_session, Contact.id, [*wanted, -1, 2**40]):
        by_id.extend(demo_session.scalars(select(Contact.id).where(condition)))
    assert sorted(by_id) == sorted(wanted)


def test_a_big_lookup_is_one_array_constant(demo_session: Session) -> None:
    """100,000 values against 100,000 rows: the server reads the array once, not per row."""
    demo_session.execute(
        insert(Contact), [{"code": f"B{n}", "name": "bulk"} for n in range(100_000)]
    )
    asked = [f"B{n}" for n in range(0, 200_000, 2)]
    started = time.perf_counter()
    found = 0
    for condition in matching(demo_session, Contact.code, asked):
        found += len(demo_session.scalars(select(Contact.id).where(condition)).all())
    assert found == 50_000
    assert time.perf_counter() - started < 20
