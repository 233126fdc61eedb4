"""Cognito for real: a user pool, app clients and users in groups (moto's cognito-idp), signed in with a
password; the API takes both their ID token (`aud`) and their access token (`client_id`), and the group is
the role. AUTH_AUDIENCE lists the app client ids, as a stage wired to its pool does (README: Deploying)."""

import gzip
import json
from pathlib import Path

import boto3
import moto.cognitoidp
import pytest

from chalicelib.core.config import get_settings
from chalicelib.core.tokens import verify_token
from devstack import cloud
from tests.conftest import forget_connections

PASSWORD = "Correct-Horse-42"
MOTO_JWKS = Path(moto.cognitoidp.__file__).parent / "resources" / "jwks-public.json.gz"


@pytest.fixture
def pool(aws, monkeypatch, tmp_path):
    """A pool with the API's groups, the stage's app client and a second client the stage does not trust."""
    idp = boto3.client("cognito-idp", region_name=cloud.REGION)
    pool_id = idp.create_user_pool(PoolName="o2o-mobility-test-users")["UserPool"]["Id"]
    clients = [idp.create_user_pool_client(UserPoolId=pool_id, ClientName=name,
                                           ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
                                           )["UserPoolClient"]["ClientId"] for name in ("app", "other-app")]
    for group in ("admin", "driver", "rider", "approvers"):
        idp.create_group(UserPoolId=pool_id, GroupName=group)
    jwks = tmp_path / "cognito-jwks.json"
    jwks.write_bytes(gzip.decompress(MOTO_JWKS.read_bytes()))
    monkeypatch.setenv("AUTH_ISSUER", f"https://cognito-idp.{cloud.REGION}.amazonaws.com/{pool_id}")
    monkeypatch.setenv("AUTH_AUDIENCE", f"o2o-mobility, {clients[0]}")
    monkeypatch.setenv("AUTH_JWKS_FILE", str(jwks))
    forget_connections()
    return idp, pool_id, clients


def sign_in(pool, username: str, groups: list[str], client: int = 0) -> dict[str, str]:
    """Create the user in `groups`, sign in with the password; the Authorization headers of both tokens."""
    idp, pool_id, clients = pool
    idp.admin_create_user(UserPoolId=pool_id, Username=username, MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=pool_id, Username=username, Password=PASSWORD, Permanent=True)
    for group in groups:
        idp.admin_add_user_to_group(UserPoolId=pool_id, Username=username, GroupName=group)
    tokens = idp.initiate_auth(ClientId=clients[client], AuthFlow="USER_PASSWORD_AUTH",
                               AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD})["AuthenticationResult"]
    return {"id": f"Bearer {tokens['IdToken']}", "access": f"Bearer {tokens['AccessToken']}"}


def call(client, method: str, path: str, authorization: str, body=None):
    headers = {"Authorization": authorization, "Content-Type": "application/json"}
    return getattr(client.http, method)(path, headers=headers, body=json.dumps(body).encode() if body else b"")


def test_an_admin_signed_in_to_the_pool_runs_a_job_with_either_token(pool, client):
    tokens = sign_in(pool, "ops-1", ["admin"])
    for kind in ("id", "access"):
        answer = call(client, "post", "/jobs/redrive-dead-letters/run", tokens[kind])
        assert answer.status_code == 200, (kind, answer.body)
        assert answer.json_body["summary"] == {"moved": 0}


def test_a_driver_of_the_pool_is_a_driver_with_either_token_and_not_an_admin(pool, client):
    tokens = sign_in(pool, "driver-kim", ["driver"])
    created = call(client, "put", "/drivers/me", tokens["id"], {"name": "Kim", "services": ["taxi"]})
    assert created.status_code == 200, created.body
    shown = call(client, "get", "/drivers/me", tokens["access"])
    assert shown.status_code == 200, shown.body
    assert shown.json_body["driver_id"] == created.json_body["driver_id"]  # one person: the pool's `sub`
    for kind in ("id", "access"):
        assert call(client, "post", "/jobs/redrive-dead-letters/run", tokens[kind]).status_code == 403


def test_tokens_of_an_app_client_the_stage_does_not_list_are_refused(pool, client):
    tokens = sign_in(pool, "ops-2", ["admin"], client=1)
    for kind in ("id", "access"):
        answer = call(client, "post", "/jobs/redrive-dead-letters/run", tokens[kind])
        assert answer.status_code == 401, (kind, answer.body)


def test_a_pool_user_in_no_group_has_no_role(pool, client):
    tokens = sign_in(pool, "nobody", [])
    answer = call(client, "get", "/drivers/me", tokens["access"])
    assert answer.status_code == 403, answer.body


def test_an_admin_in_the_approvers_group_approves_payouts_and_a_plain_admin_does_not(pool, client):
    approver = sign_in(pool, "ops-3", ["approvers", "admin"])
    plain = sign_in(pool, "ops-4", ["admin"])
    for kind in ("id", "access"):
        assert verify_token(approver[kind].removeprefix("Bearer "), get_settings()).approver is True
        assert verify_token(plain[kind].removeprefix("Bearer "), get_settings()).approver is False
        answer = call(client, "post", "/jobs/redrive-dead-letters/run", approver[kind])
        assert answer.status_code == 200, (kind, answer.body)  # `approvers` is not taken for the role
