"""The real local stack (`make run`), started on free ports, over HTTP, then stopped with Ctrl-C."""

import signal

import boto3
import pytest
import requests

from tests.e2e.conftest import bearer

pytestmark = pytest.mark.e2e


def test_health_and_the_openapi_document_are_served(stack):
    health = requests.get(f"{stack['base']}/health", timeout=5)
    assert health.json()["status"] == "ok"
    assert health.json()["stage"] == "local"
    document = requests.get(f"{stack['base']}/openapi.json", timeout=5).json()
    assert "/jobs/{job}/run" in document["paths"]


def test_an_admin_token_runs_a_job_and_others_are_refused(stack):
    url = f"{stack['base']}/jobs/redrive-dead-letters/run"
    assert requests.post(url, headers=bearer("admin", "ops-1"), timeout=10).json() == {
        "job": "redrive-dead-letters", "summary": {"moved": 0}}
    no_token = requests.post(url, timeout=5)
    assert no_token.status_code == 401
    assert no_token.json()["error"]["code"] == "unauthorized"
    assert requests.post(url, headers=bearer("rider"), timeout=5).status_code == 403


def test_the_tables_come_from_infra_in_the_embedded_aws(stack):
    dynamodb = boto3.client("dynamodb", endpoint_url=stack["moto"], region_name="ap-northeast-2",
                            aws_access_key_id="local", aws_secret_access_key="local")
    assert "o2o-mobility-local-audit" in dynamodb.list_tables()["TableNames"]


def test_ctrl_c_stops_everything_cleanly(stack):
    process = stack["process"]
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0
    assert "local stack stopped" in stack["log"].read_text()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{stack['base']}/health", timeout=2)
