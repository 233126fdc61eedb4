"""Fixtures for integration tests that talk to the app through the local API Gateway."""

import json
import logging

import pytest
import requests
from moto.server import ThreadedMotoServer

from devstack import cloud
from devstack.launcher import free_port
from tests.conftest import forget_connections


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


@pytest.fixture(scope="module")
def moto_server():
    """A moto server on a free port with the infra/ stack deployed; boto3 and PynamoDB talk to it over HTTP.

    For tests that race threads against each other. moto's threaded transactions are not atomic, so the
    server handles one request at a time: the races are between the app's reads and writes, as on DynamoDB.
    """
    werkzeug_log = logging.getLogger("werkzeug")
    log_level = werkzeug_log.level
    werkzeug_log.setLevel(logging.ERROR)  # no access log line per request
    try:
        with pytest.MonkeyPatch.context() as patch, cloud.one_request_at_a_time():
            port = free_port()
            server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
            server.start()
            try:
                requests.post(f"http://127.0.0.1:{port}/moto-api/reset", timeout=10)  # moto's state is per process
                patch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
                forget_connections()
                for name, value in cloud.deploy(stack_name="o2o-mobility-concurrency").items():
                    patch.setenv(name, value)
                forget_connections()
                yield f"http://127.0.0.1:{port}"
            finally:
                server.stop()
    finally:
        forget_connections()  # after the environment is back, so later tests build clients for their own AWS
        werkzeug_log.setLevel(log_level)
