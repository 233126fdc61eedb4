"""The auth matrix of API.md over the built-in authorizer and the gateway responses."""

import time

import jwt
import pytest

from devstack.keys import AUDIENCE, ISSUER

JOB = "/jobs/redrive-dead-letters/run"


def error_code(response) -> str:
    return response.json_body["error"]["code"]


def test_public_routes_need_no_token(client):
    assert client.http.get("/health").status_code == 200
    assert client.http.get("/openapi.json").status_code == 200


def test_no_token_is_401_with_the_error_body(client):
    response = client.http.post(JOB)
    assert response.status_code == 401
    assert error_code(response) == "unauthorized"


@pytest.mark.parametrize("claims", [
    {"ttl_s": -120},
    {"issuer": "https://someone-else.example"},
    {"audience": "another-app"},
])
def test_expired_wrong_issuer_and_wrong_audience_tokens_are_401(client, dev_keys, claims):
    headers = {"Authorization": f"Bearer {dev_keys.token('admin', 'ops-1', **claims)}"}
    response = client.http.post(JOB, headers=headers)
    assert response.status_code == 401
    assert error_code(response) == "unauthorized"


def test_a_token_from_an_untrusted_key_is_401(client, other_keys):
    response = client.http.post(JOB, headers={"Authorization": f"Bearer {other_keys.token('admin', 'ops-1')}"})
    assert response.status_code == 401


@pytest.mark.parametrize(("algorithm", "key"), [("HS256", "a-shared-secret-of-at-least-32-bytes!"), ("none", None)])
def test_hs256_and_unsigned_tokens_are_401(client, algorithm, key):
    claims = {"sub": "ops-1", "role": "admin", "iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 600}
    forged = jwt.encode(claims, key, algorithm=algorithm)
    response = client.http.post(JOB, headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401


def test_a_malformed_header_is_401(client):
    assert client.http.post(JOB, headers={"Authorization": "Basic b3BzOnB3"}).status_code == 401


@pytest.mark.parametrize("role", ["rider", "driver", "business", "service"])
def test_a_valid_token_of_the_wrong_role_is_403(client, token, role):
    response = client.http.post(JOB, headers=token(role))
    assert response.status_code == 403
    assert error_code(response) == "forbidden"


def test_a_token_with_no_known_role_is_403(client, token):
    assert client.http.post(JOB, headers=token("superuser")).status_code == 403


def test_an_admin_runs_the_job(client, token):
    response = client.http.post(JOB, headers=token("admin", "ops-1"))
    assert response.status_code == 200
    assert response.json_body == {"job": "redrive-dead-letters", "summary": {"moved": 0}}


def test_an_unknown_route_is_404_with_the_error_body(client):
    response = client.http.get("/no-such-thing")
    assert response.status_code == 404
    assert error_code(response) == "not_found"
