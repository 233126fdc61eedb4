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
    ({}, ""),
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
