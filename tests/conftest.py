"""Shared fixtures: moto with the infra/ stack, the Chalice test client, tokens and a movable clock.

Fake credentials and the region are set before boto3 or moto are imported, and no test ever
reaches a real AWS endpoint.
"""

import json
import os

os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                   "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "ap-northeast-2"})
for variable in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE"):
    os.environ.pop(variable, None)

from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402

import boto3  # noqa: E402
import botocore.session  # noqa: E402
import pytest  # noqa: E402
from botocore.loaders import create_loader  # noqa: E402
from moto import mock_aws  # noqa: E402
from pynamodb.models import Model  # noqa: E402

from chalicelib.core import clock as core_clock  # noqa: E402
from chalicelib.core.aws import client as aws_client  # noqa: E402
from chalicelib.core.config import get_settings  # noqa: E402
from chalicelib.core.dynamo import connection as dynamo_connection  # noqa: E402
from devstack import cloud  # noqa: E402
from devstack.gateway import GatewayTestClient  # noqa: E402
from devstack.keys import DevKeys  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def all_models(base: type = Model) -> list[type[Model]]:
    """Every PynamoDB model the app defines (imported through app.py)."""
    found = []
    for sub in base.__subclasses__():
        found.append(sub)
        found.extend(all_models(sub))
    return found


def forget_connections() -> None:
    """Drop cached settings and clients so the next call sees this test's environment."""
    get_settings.cache_clear()
    aws_client.cache_clear()
    dynamo_connection.cache_clear()
    for model in all_models():
        model._connection = None


@pytest.fixture(autouse=True, scope="session")
def one_botocore_loader():
    """Every boto3/PynamoDB session of the test run shares one model loader, as the clients of one session do:
    the app builds fresh clients for each test's stack, and parsing botocore's JSON models again takes a second."""
    loaders: dict = {}

    def shared_loader(search_path_string=None):
        if search_path_string not in loaders:
            loaders[search_path_string] = create_loader(search_path_string)
        return loaders[search_path_string]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(botocore.session, "create_loader", shared_loader)
        yield


@pytest.fixture(scope="session")
def dev_keys(tmp_path_factory) -> DevKeys:
    return DevKeys(tmp_path_factory.mktemp("keys")).ensure()


@pytest.fixture(scope="session")
def other_keys(tmp_path_factory) -> DevKeys:
    """A second key pair the app does not trust: tokens signed with it are forged."""
    return DevKeys(tmp_path_factory.mktemp("other-keys")).ensure()


@pytest.fixture
def aws(monkeypatch, dev_keys):
    """moto with the infra/ stack deployed; yields the environment the stack gives Lambda."""
    with mock_aws():
        environment = cloud.deploy(stack_name="o2o-mobility-test")
        for name, value in {**environment, "AUTH_JWKS_FILE": str(dev_keys.jwks_path), "STAGE": "local"}.items():
            monkeypatch.setenv(name, value)
        forget_connections()
        yield environment
        forget_connections()


@pytest.fixture
def app(aws):
    from app import app as chalice_app

    return chalice_app


@pytest.fixture
def client(app) -> GatewayTestClient:
    """The app behind a local API Gateway (built-in authorizer and gateway responses included)."""
    with GatewayTestClient(app, stage_name="local", project_dir=str(ROOT)) as test_client:
        yield test_client


@pytest.fixture
def token(dev_keys):
    """`token(role, sub=..., **claims)`: a valid bearer header for the app."""

    def make(role: str, sub: str = "user-1", **claims) -> dict[str, str]:
        return {"Authorization": f"Bearer {dev_keys.token(role, sub, **claims)}"}

    return make


@pytest.fixture
def frozen_clock():
    """The process clock stopped at 2022-10-15T06:33:00Z (the fire); tests move it by hand."""
    stopped = core_clock.FrozenClock(datetime(2022, 10, 15, 6, 33, tzinfo=UTC))
    core_clock.use_clock(stopped)
    yield stopped
    core_clock.use_clock(core_clock.SystemClock())


@pytest.fixture
def inbox(aws):
    """An SQS queue subscribed to the notifications topic; `inbox()` drains what was published so far."""
    sqs, sns = boto3.client("sqs", region_name=cloud.REGION), boto3.client("sns", region_name=cloud.REGION)
    url = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=aws["NOTIFICATIONS_TOPIC_ARN"], Protocol="sqs", Endpoint=arn)

    def read() -> list[dict]:
        found = []
        while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            for message in messages:
                envelope = json.loads(message["Body"])
                attributes = {k: v["Value"] for k, v in envelope.get("MessageAttributes", {}).items()}
                found.append({**json.loads(envelope["Message"]), "attributes": attributes})
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return found

    return read
