"""The RFC 8785 canonical form (the idempotency fingerprint, the catalogue's ETag), against
the RFC's own examples, and the signed cursor of ``GET /orders``."""

from __future__ import annotations

import datetime as dt
import json
import struct

import pytest

from reseller_sync.realtime import http_cursor
from reseller_sync.realtime.http_json import canonical, fingerprint, parse_object
from reseller_sync.realtime.problems import Problem

# RFC 8785, appendix B: IEEE 754 doubles and their ECMAScript form.
NUMBERS = {
    "0000000000000000": "0",
    "8000000000000000": "0",
    "0000000000000001": "5e-324",
    "8000000000000001": "-5e-324",
    "7fefffffffffffff": "1.7976931348623157e+308",
    "ffefffffffffffff": "-1.7976931348623157e+308",
    "4340000000000000": "9007199254740992",
    "c340000000000000": "-9007199254740992",
    "4430000000000000": "295147905179352830000",
    "44b52d02c7e14af5": "9.999999999999997e+22",
    "44b52d02c7e14af6": "1e+23",
    "44b52d02c7e14af7": "1.0000000000000001e+23",
    "444b1ae4d6e2ef4e": "999999999999999700000",
    "444b1ae4d6e2ef4f": "999999999999999900000",
    "444b1ae4d6e2ef50": "1e+21",
    "3eb0c6f7a0b5ed8c": "9.999999999999997e-7",
    "3eb0c6f7a0b5ed8d": "0.000001",
    "41b3de4355555553": "333333333.3333332",
    "41b3de4355555554": "333333333.33333325",
    "41b3de4355555555": "333333333.3333333",
    "41b3de4355555556": "333333333.3333334",
    "41b3de4355555557": "333333333.33333343",
    "becbf647612f3696": "-0.0000033333333333333333",
    "43143ff3c1cb0959": "1424953923781206.2",
}


@pytest.mark.parametrize(("bits", "expected"), NUMBERS.items())
def test_numbers_as_rfc_8785_appendix_b(bits: str, expected: str) -> None:
    (value,) = struct.unpack(">d", bytes.fromhex(bits))
    assert canonical(value) == expected


@pytest.mark.parametrize("bits", ["7fffffffffffffff", "7ff0000000000000"])
def test_nan_and_infinity_have_no_canonical_form(bits: str) -> None:
    (value,) = struct.unpack(">d", bytes.fromhex(bits))
    with pytest.raises(ValueError, match="NaN"):
        canonical(value)


def test_the_rfc_8785_example_of_section_3_2_2() -> None:
    source = r"""{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }"""
    assert canonical(json.loads(source)) == (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    )


def test_members_sort_by_utf16_code_units_as_section_3_2_3() -> None:
    source = (
        r'{"\u20ac": "Euro Sign", "\r": "Carriage Return", "\ufb33": "Hebrew Letter Dalet",'
        r' "1": "One", "\ud83d\ude00": "Emoji", "\u0080": "Control", "\u00f6": "o umlaut"}'
    )
    names = list(json.loads(canonical(json.loads(source))))
    assert names == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]


def test_a_body_written_otherwise_has_the_same_fingerprint() -> None:
    one = parse_object(b'{"b": [1, {"y": 2, "x": "\\u00e9"}], "a": null}')
    other = parse_object('{"a":null,"b":[1,{"x":"é","y":2}]}'.encode())
    assert fingerprint(one) == fingerprint(other)
    assert fingerprint(one) != fingerprint({**one, "a": 0})


def test_parse_object_refuses_what_is_not_one_json_object() -> None:
    for raw in (b"[]", b"1", b"{", b'{"a": NaN}', b'{"a": 1, "a": 1}', b"\xff\xfe"):
        with pytest.raises(Problem) as refused:
            parse_object(raw)
        assert refused.value.type.name == "malformed-request"


NOW = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC)


def test_a_cursor_carries_its_position_and_filters_for_24_hours() -> None:
    secret = b"s" * 32
    position = (dt.datetime(2026, 12, 2, 11, 0, 0, 123456, tzinfo=dt.UTC), "O-7")
    filters = {"changed_since": "2026-12-01T00:00:00Z", "limit": 2}
    cursor = http_cursor.issue(position, filters, "conf-a", NOW, secret)
    assert "O-7" not in cursor  # opaque: base64url
    assert http_cursor.read(cursor, "conf-a", NOW + dt.timedelta(hours=23), secret) == (
        position,
        filters,
    )
    refusals = [
        (cursor, "conf-b", NOW, secret),  # another reseller's
        (cursor, "conf-a", NOW, b"t" * 32),  # another secret
        (cursor, "conf-a", NOW + dt.timedelta(hours=24), secret),  # expired
        (cursor.replace(".", ".x"), "conf-a", NOW, secret),
        ("garbage", "conf-a", NOW, secret),
    ]
    for arguments in refusals:
        with pytest.raises(Problem) as refused:
            http_cursor.read(*arguments)
        assert refused.value.errors[0]["parameter"] == "cursor"
