import pytest

from chalicelib.core.errors import InvalidInput
from chalicelib.core.pagination import decode_cursor, encode_cursor, page, seal, unseal


def test_a_cursor_resumes_where_the_page_stopped():
    key = {"day": "2022-10-15", "audit_id": "audit_01GF"}
    assert decode_cursor(encode_cursor(key)) == key


def test_the_last_page_has_no_next_cursor():
    assert page([1, 2], None) == {"items": [1, 2], "next": None}


@pytest.mark.parametrize("tampered", ["not-base64!", "WzEsMl0", "e30x"])
def test_a_tampered_cursor_is_a_400_on_the_cursor_field(tampered):
    with pytest.raises(InvalidInput) as error:
        decode_cursor(tampered)
    assert "cursor" in error.value.fields


# --- sealed cursors: what a list route hands out and takes back ---------------------------------------------

KEY = b"the server's cursor key"
MINE = '["driver:taxi-1", "/inquiries", {}, {"status": "open"}]'  # the list a cursor was issued for
INNER = encode_cursor({"source": 0, "key": {"inquiry_id": {"S": "inq_01GF"}}})
SEALED = seal(INNER, MINE, KEY)
BARE, _, SIGNATURE = SEALED.rpartition(".")
OTHER_SIGNATURE = SIGNATURE[:-1] + ("A" if SIGNATURE[-1] != "A" else "B")
MADE_UP = encode_cursor({"source": 0, "key": {"inquiry_id": {"S": "inq_made_up"}}})


def test_a_sealed_cursor_unseals_to_the_cursor_it_was_made_from():
    assert SEALED != INNER
    assert unseal(SEALED, MINE, KEY) == INNER
    assert decode_cursor(unseal(SEALED, MINE, KEY)) == {"source": 0, "key": {"inquiry_id": {"S": "inq_01GF"}}}


@pytest.mark.parametrize("scope", [
    pytest.param('["driver:taxi-2", "/inquiries", {}, {"status": "open"}]', id="another-driver"),
    pytest.param('["admin:taxi-1", "/inquiries", {}, {"status": "open"}]', id="same-sub-another-role"),
    pytest.param('["driver:taxi-1", "/inquiries", {}, {"status": "answered"}]', id="another-filter"),
    pytest.param('["driver:taxi-1", "/notices", {}, {"status": "open"}]', id="another-route"),
])
def test_a_cursor_sealed_for_one_list_is_refused_for_any_other(scope):
    with pytest.raises(InvalidInput) as error:
        unseal(SEALED, scope, KEY)
    assert "cursor" in error.value.fields


def test_a_cursor_sealed_with_another_key_is_refused():
    with pytest.raises(InvalidInput) as error:
        unseal(seal(INNER, MINE, b"someone else's key"), MINE, KEY)
    assert "cursor" in error.value.fields


@pytest.mark.parametrize("forged", [
    pytest.param(BARE, id="seal-stripped"),
    pytest.param(f"{BARE}.{OTHER_SIGNATURE}", id="seal-altered"),
    pytest.param(f"{BARE}.", id="seal-empty"),
    pytest.param(f"{MADE_UP}.{SIGNATURE}", id="made-up-key-under-a-real-seal"),
    pytest.param(MADE_UP, id="made-up-key"),
    pytest.param("not-a-cursor!", id="garbage"),
    pytest.param(f".{SIGNATURE}", id="seal-alone"),
    pytest.param(f"{BARE}{'x' * 3000}.{SIGNATURE}", id="far-too-long"),
])
def test_a_cursor_the_server_did_not_seal_is_a_400_on_the_cursor_field(forged):
    with pytest.raises(InvalidInput) as error:
        unseal(forged, MINE, KEY)
    assert "cursor" in error.value.fields
