import pytest

from chalicelib.core.errors import InvalidInput
from chalicelib.core.pagination import decode_cursor, encode_cursor, page


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
