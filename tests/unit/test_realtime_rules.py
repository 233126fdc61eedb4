"""The real-time channel's pure rules: the token a client sends, how long a connection lives, who a notice reaches."""

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.core.errors import Forbidden, Unauthenticated
from chalicelib.realtime import rules

NOW = datetime(2022, 10, 15, 6, 33, tzinfo=UTC)


def test_the_query_token_comes_first_then_the_authorization_header_in_any_case():
    assert rules.token_of({"token": "abc"}, {"Authorization": "Bearer xyz"}) == "abc"
    assert rules.token_of(None, {"authorization": "Bearer xyz"}) == "xyz"
    assert rules.token_of({"token": " "}, {"AUTHORIZATION": "bearer xyz"}) == "xyz"


@pytest.mark.parametrize(("query", "headers"), [(None, None), ({}, {"Authorization": "Basic dTpw"}),
                                            ({"token": ""}, {"Authorization": "Bearer "})])
def test_no_token_is_unauthenticated(query, headers):
    with pytest.raises(Unauthenticated):
        rules.token_of(query, headers)


def test_only_riders_and_drivers_listen():
    rules.check_listener("rider")
    rules.check_listener("driver")
    for role in ("admin", "business", "service", "auditor", ""):
        with pytest.raises(Forbidden):
            rules.check_listener(role)


def test_a_connection_lives_until_its_token_expires_or_api_gateway_s_two_hours_pass():
    soon = int((NOW + timedelta(minutes=5)).timestamp())
    assert rules.connection_expiry(soon, NOW) == NOW + timedelta(minutes=5)
    assert rules.connection_expiry(int((NOW + timedelta(days=1)).timestamp()), NOW) == NOW + timedelta(hours=2)
    assert rules.connection_expiry(0, NOW) == NOW + timedelta(hours=2)
    assert rules.live(NOW + timedelta(seconds=1), NOW)
    assert not rules.live(NOW, NOW)


def test_identity_is_role_and_sub():
    assert rules.owner_key("rider", "u-1") != rules.owner_key("driver", "u-1")


def test_the_management_endpoint_is_the_stage_of_the_domain_connected_to():
    assert rules.management_endpoint("abc.execute-api.ap-northeast-2.amazonaws.com", "api", secure=True) == \
        "https://abc.execute-api.ap-northeast-2.amazonaws.com/api"
    assert rules.management_endpoint("127.0.0.1:8001", "api", secure=False) == "http://127.0.0.1:8001/api"


@pytest.mark.parametrize(("services", "region", "driver_services", "driver_region", "reached"), [
    (None, None, {"taxi"}, None, True),
    (["designated"], None, {"taxi"}, "seoul", False),
    (["designated", "taxi"], None, {"taxi"}, "seoul", True),
    (None, "busan", {"taxi"}, "seoul", False),
    (["taxi"], "seoul", {"taxi"}, "seoul", True),
    (["taxi"], None, None, None, False),  # a driver who had no profile when they connected
])
def test_a_notice_reaches_drivers_of_any_of_its_services_in_its_region(services, region, driver_services,
                                                                         driver_region, reached):
    assert rules.in_audience(services, region, driver_services, driver_region) is reached
