"""What a client sends, parsed within API.md's limits (core.inputs): size, depth, numbers, strict types, dates.

A tiny model stands for a route's body: its fields have no bounds of their own, so whatever is refused here is
refused by the limits every body shares, before any route's schema sees it.
"""

import json
from typing import Any

import pytest

from chalicelib.core.errors import InvalidInput, PayloadTooLarge
from chalicelib.core.inputs import MAX_BODY_BYTES, parse_body
from chalicelib.core.schemas import Input, Moment


class Order(Input):
    quantity: int = 1
    price_krw: int = 0
    note: str = ""
    extra: Any = None


class Window(Input):
    seats: int
    opens_at: Moment | None = None


class Booking(Input):
    """A body with a nested part, like a program's `params`."""

    params: Window


def body(**fields) -> bytes:
    return json.dumps(fields).encode()


def nested(levels: int) -> bytes:
    """A body `levels` deep, counting the body itself: the innermost value sits `levels` keys below it."""
    value: Any = 1
    for _ in range(levels - 1):
        value = [value]
    return body(extra=value)


def refused(raw: bytes, model: type[Input] = Order) -> InvalidInput:
    with pytest.raises(InvalidInput) as error:
        parse_body(model, raw)
    return error.value


# --- size -------------------------------------------------------------------------------------------------

def test_a_body_over_one_mib_is_413_payload_too_large():
    with pytest.raises(PayloadTooLarge) as error:
        parse_body(Order, body(note="x" * MAX_BODY_BYTES))
    assert (error.value.status, error.value.code) == (413, "payload_too_large")
    assert set(error.value.body()["error"]) == {"code", "message"}


def test_a_body_of_exactly_one_mib_is_parsed():
    padding = MAX_BODY_BYTES - len(body(note=""))
    assert len(body(note="x" * padding)) == MAX_BODY_BYTES
    assert parse_body(Order, body(note="x" * padding)).note == "x" * padding


# --- depth ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw", [
    pytest.param(body(extra=None).replace(b"null", b"[" * 10_000 + b"]" * 10_000), id="arrays"),
    pytest.param(body(extra=None).replace(b"null", b'{"a": ' * 10_000 + b"1" + b"}" * 10_000), id="objects"),
    pytest.param(b"[" * 100_000 + b"]" * 100_000, id="a-bare-array-100000-deep"),
])
def test_json_nested_ten_thousand_deep_is_a_400_on_the_body_not_a_crash(raw):
    assert list(refused(raw).fields) == ["body"]


def test_json_nested_33_deep_is_a_400_naming_where_it_goes_too_deep():
    error = refused(nested(33))
    (field,) = error.fields
    assert field.startswith("extra.0.0")
    assert "32" in error.fields[field]


def test_json_nested_32_deep_passes_the_depth_check():
    assert parse_body(Order, nested(32)).extra is not None


def test_objects_count_as_levels_too():
    value: Any = 1
    for _ in range(32):
        value = {"a": value}
    error = refused(body(extra=value))
    assert list(error.fields) == ["extra" + ".a" * 32]


# --- numbers ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "field"), [
    pytest.param(body(quantity=10**15 + 1), "quantity", id="over-10^15"),
    pytest.param(body(quantity=-(10**15) - 1), "quantity", id="under-minus-10^15"),
    pytest.param(body(quantity=10**400), "quantity", id="400-digits"),
    pytest.param(body(price_krw=-1), "price_krw", id="negative-krw"),
    pytest.param(body(price_krw=10**15 + 1), "price_krw", id="krw-over-10^15"),
    pytest.param(body(extra={"tiers": [{"payout_krw": -1}]}), "extra.tiers.0.payout_krw", id="nested-negative-krw"),
    pytest.param(body(extra={"tiers": [{"max_loss_krw": 10**15}, {"max_loss_krw": 10**16}]}),
                 "extra.tiers.1.max_loss_krw", id="nested-krw-over-10^15"),
    pytest.param(body(extra=[10**20]), "extra.0", id="in-a-list"),
])
def test_an_integer_no_field_can_hold_is_a_400_naming_its_path(raw, field):
    assert list(refused(raw).fields) == [field]


def test_integers_up_to_ten_to_the_fifteen_and_zero_krw_pass():
    parsed = parse_body(Order, body(quantity=-(10**15), price_krw=10**15, extra={"refund_krw": 0, "n": 10**15}))
    assert (parsed.quantity, parsed.price_krw) == (-(10**15), 10**15)


@pytest.mark.parametrize("number", [b"NaN", b"Infinity", b"-Infinity", b"1e400", b"-1e400"])
@pytest.mark.parametrize("where", ["quantity", "extra"])
def test_nan_and_infinite_numbers_are_a_400(number, where):
    raw = b'{"%s": %s}' % (where.encode(), number)
    assert refused(raw).status == 400


# --- strict types, nested parts included --------------------------------------------------------------------

@pytest.mark.parametrize("seats", [True, "100000", 12.0])
def test_a_nested_part_is_as_strict_as_a_body(seats):
    assert list(refused(body(params={"seats": seats}), Booking).fields) == ["params.seats"]


def test_a_number_is_not_a_date_in_a_nested_part():
    assert list(refused(body(params={"seats": 1, "opens_at": 1_666_000_000}), Booking).fields) == ["params.opens_at"]


def test_a_well_typed_nested_part_passes():
    part = parse_body(Booking, body(params={"seats": 3, "opens_at": "2022-10-15T06:33:00Z"})).params
    assert (part.seats, part.opens_at.isoformat()) == (3, "2022-10-15T06:33:00+00:00")


# --- dates ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("moment", ["2000-01-01T00:00:00Z", "2022-10-15T15:33:00+09:00", "2099-12-31T23:59:59Z"])
def test_a_date_of_this_century_passes(moment):
    assert parse_body(Window, body(seats=1, opens_at=moment)).opens_at is not None


@pytest.mark.parametrize("moment", [
    "1999-12-31T23:59:59Z", "2000-01-01T00:30:00+01:00", "2100-01-01T00:00:00Z", "2099-12-31T23:59:59-01:00",
    "0001-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "9999-12-31T23:59:59-01:00",
    1_666_000_000, "1666000000", "2022-10-15T06:33:00", "yesterday",
])
def test_a_date_outside_2000_to_2099_or_not_iso_text_is_a_400_naming_the_field(moment):
    assert list(refused(body(seats=1, opens_at=moment), Window).fields) == ["opens_at"]
