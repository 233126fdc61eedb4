"""Fixtures for integration tests that talk to the app through the local API Gateway."""

import json

import pytest


@pytest.fixture
def api(client, token):
    """`api(method, path, who=None, body=None, headers=None)` -> response, JSON in and out.

    `who` is `(role, sub)` or `(role, sub, {extra claims})`; None sends no token.
    """
    tokens: dict[tuple, dict[str, str]] = {}  # signing is slow next to a moto call: one token per caller

    def call(method: str, path: str, who: tuple | None = None, body=None, headers=None):
        if who:
            key = (who[0], who[1], json.dumps(who[2] if len(who) > 2 else {}, sort_keys=True))
            if key not in tokens:
                tokens[key] = token(who[0], who[1], **(who[2] if len(who) > 2 else {}))
        sent = {"Content-Type": "application/json", **(tokens[key] if who else {}), **(headers or {})}
        raw = json.dumps(body).encode() if body is not None else b""
        return getattr(client.http, method)(path, headers=sent, body=raw)

    return call


@pytest.fixture
def job(api):
    """`job(name)` -> the job's summary, after checking that the job answered 200."""

    def run(name: str) -> dict:
        response = api("post", f"/jobs/{name}/run", ("admin", "ops-1"))
        assert response.status_code == 200, response.body
        return response.json_body["summary"]

    return run
