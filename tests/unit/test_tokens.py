"""Token verification: the rules of API.md's Auth section, without HTTP."""

import time

import jwt
import pytest

from chalicelib.core.auth import Caller, bearer_token, role_of
from chalicelib.core.config import Settings
from chalicelib.core.errors import Unauthenticated
from chalicelib.core.tokens import verify_token
from devstack.keys import AUDIENCE, ISSUER


@pytest.fixture
def settings(dev_keys):
    return Settings(auth_jwks_file=str(dev_keys.jwks_path), auth_issuer=ISSUER, auth_audience=AUDIENCE)


def test_a_valid_token_names_the_caller_role_and_approver(dev_keys, settings):
    caller = verify_token(dev_keys.token("admin", "ops-1", approver=True), settings)
    assert (caller.sub, caller.role, caller.approver) == ("ops-1", "admin", True)


def test_approver_must_be_the_boolean_true(dev_keys, settings):
    claims = {"sub": "ops-1", "role": "admin", "iss": ISSUER, "aud": AUDIENCE, "exp": time.time() + 60,
              "approver": "true"}
    assert verify_token(dev_keys.sign(claims), settings).approver is False


@pytest.mark.parametrize(("claims", "reason"), [
    ({"ttl_s": -120}, "expired"),
    ({"issuer": "https://evil.example"}, "invalid token"),
    ({"audience": "someone-else"}, "audience"),
])
def test_expired_foreign_or_misaddressed_tokens_are_refused(dev_keys, settings, claims, reason):
    with pytest.raises(Unauthenticated, match=reason):
        verify_token(dev_keys.token("rider", "r-1", **claims), settings)


def test_a_token_signed_by_another_key_is_refused(other_keys, settings):
    with pytest.raises(Unauthenticated):
        verify_token(other_keys.token("admin", "ops-1"), settings)


def test_hs256_is_refused(settings):
    forged = jwt.encode({"sub": "x", "role": "admin", "iss": ISSUER, "aud": AUDIENCE, "exp": time.time() + 60},
                        "a-shared-secret-of-at-least-32-bytes!", algorithm="HS256")
    with pytest.raises(Unauthenticated, match="RS256"):
        verify_token(forged, settings)


def test_alg_none_is_refused(settings):
    unsigned = jwt.encode({"sub": "x", "role": "admin", "iss": ISSUER, "aud": AUDIENCE, "exp": time.time() + 60},
                          None, algorithm="none")
    with pytest.raises(Unauthenticated, match="RS256"):
        verify_token(unsigned, settings)


def test_a_cognito_access_token_is_accepted_by_client_id_and_group(dev_keys, settings):
    token = dev_keys.token("", "driver-7", audience="unused", client_id=AUDIENCE, **{"cognito:groups": ["driver"]})
    caller = verify_token(token, settings)
    assert (caller.sub, caller.role) == ("driver-7", "driver")


def test_a_token_without_sub_is_refused(dev_keys, settings):
    with pytest.raises(Unauthenticated):
        verify_token(dev_keys.token("rider", ""), settings)


@pytest.mark.parametrize(("claims", "role"), [
    ({"role": "rider"}, "rider"), ({"role": "root"}, ""), ({"cognito:groups": ["business", "admin"]}, "business"),
    ({}, ""), ({"cognito:groups": ["approvers", "admin"]}, "admin"), ({"cognito:groups": ["approvers"]}, ""),
])
def test_role_comes_from_role_else_the_first_cognito_group(claims, role):
    assert role_of(claims) == role


@pytest.mark.parametrize("header", [None, "", "Bearer", "Basic abc", "Bearer   "])
def test_only_a_bearer_header_carries_a_token(header):
    with pytest.raises(Unauthenticated):
        bearer_token(header)


def test_the_caller_survives_the_gateway_context_with_booleans_as_strings():
    caller = Caller("ops-1", "admin", approver=True, expires_at=2_000_000_000)
    context = {**{k: str(v).lower() for k, v in caller.auth_context().items()}, "principalId": "ops-1"}
    assert Caller.from_auth_context(context) == caller


# --- claims of odd shapes, subjects that are not plain, several audiences ------------------------------------

def signed(dev_keys, **claims) -> str:
    """A validly signed token for the app, with `claims` replacing (or, when None, dropping) the usual ones."""
    usual = {"sub": "ops-1", "role": "admin", "iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 600}
    return dev_keys.sign({k: v for k, v in {**usual, **claims}.items() if v is not None})


@pytest.mark.parametrize("claims", [
    pytest.param({"role": ["admin"]}, id="role-list"),
    pytest.param({"role": {"name": "admin"}}, id="role-object"),
    pytest.param({"role": 1}, id="role-number"),
    pytest.param({"role": True}, id="role-boolean"),
    pytest.param({"role": None, "cognito:groups": [["admin"]]}, id="groups-nested"),
    pytest.param({"role": None, "cognito:groups": [1]}, id="groups-number"),
    pytest.param({"role": None, "cognito:groups": ["driver", {"admin": True}]}, id="groups-with-an-object"),
    pytest.param({"role": None, "cognito:groups": "admin"}, id="groups-a-string"),
])
def test_a_signed_token_whose_role_claim_has_another_shape_is_refused(dev_keys, settings, claims):
    with pytest.raises(Unauthenticated):
        verify_token(signed(dev_keys, **claims), settings)


@pytest.mark.parametrize("claims", [
    {"role": ["rider"]}, {"role": {"a": 1}}, {"role": 7}, {"cognito:groups": [["admin"]]}, {"cognito:groups": [3]},
])
def test_role_of_refuses_a_claim_of_another_shape_instead_of_crashing(claims):
    with pytest.raises(Unauthenticated):
        role_of(claims)


@pytest.mark.parametrize("sub", ["ops-1 ", " ops-1", "ops-1\n", "ops\x00-1", "ops\x1b-1", "ops\u200b-1", "\tops-1"])
def test_a_subject_with_surrounding_spaces_or_control_characters_is_refused(dev_keys, settings, sub):
    with pytest.raises(Unauthenticated, match="subject"):
        verify_token(signed(dev_keys, sub=sub), settings)


def test_several_comma_separated_audiences_each_accept_their_tokens(dev_keys, settings):
    several = Settings(**{**vars(settings), "auth_audience": "web-app, o2o-mobility,driver-app"})
    id_token = signed(dev_keys, aud="o2o-mobility", sub="rider-1", role="rider")
    access_token = signed(dev_keys, aud=None, client_id="driver-app", sub="driver-1", role=None,
                          **{"cognito:groups": ["driver"]})
    assert verify_token(id_token, several).sub == "rider-1"
    assert (verify_token(access_token, several).sub, verify_token(access_token, several).role) == ("driver-1", "driver")
    for stranger in (signed(dev_keys, aud="another-app"), signed(dev_keys, aud="web-app, o2o-mobility,driver-app"),
                     signed(dev_keys, aud=None, client_id="another-app")):
        with pytest.raises(Unauthenticated, match="audience"):
            verify_token(stranger, several)


@pytest.mark.parametrize(("groups", "approver"), [
    (["admin", "approvers"], True), (["admin"], False), (["rider", "approvers"], False),
])
def test_the_approvers_group_marks_an_admin_as_approver(dev_keys, settings, groups, approver):
    token = dev_keys.token("", "ops-9", **{"cognito:groups": groups})
    assert verify_token(token, settings).approver is approver
