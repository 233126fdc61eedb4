"""Create the infra/ template's tables, queues and topics in the embedded AWS.

The same CloudFormation that deploys to AWS is deployed to moto (its CloudFormation), so the
local stack and the tests can never drift from production's schema. Resource types moto cannot
create (alarms, API Gateway responses, functions) are left out here; cfn-lint checks them.
"""

import io
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3

ROOT = Path(__file__).resolve().parent.parent
INFRA_TEMPLATE = ROOT / "infra" / "resources.json"
LOCAL_RESOURCE_TYPES = {"AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::SNS::Topic"}
STACK_NAME = "o2o-mobility-local"
REGION = "ap-northeast-2"


def load_template(path: Path = INFRA_TEMPLATE) -> dict[str, Any]:
    """The merge template of infra/, as deployed with the Chalice package."""
    return json.loads(path.read_text())


def local_template(template: dict[str, Any]) -> dict[str, Any]:
    """The part of `template` the embedded AWS can create: its data resources, no Globals."""
    resources = {name: resource for name, resource in template["Resources"].items()
                 if resource.get("Type") in LOCAL_RESOURCE_TYPES}
    return {"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources}


def deploy(stack_name: str = STACK_NAME, template_path: Path = INFRA_TEMPLATE) -> dict[str, str]:
    """Create the stack in the AWS that boto3 points at; return the Lambda environment it implies.

    The environment is what `Globals.Function.Environment` gives every function in AWS, with each
    `Ref` resolved to the physical id CloudFormation reports (table name, queue URL, topic ARN).
    """
    template = load_template(template_path)
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    cloudformation.create_stack(StackName=stack_name, TemplateBody=json.dumps(local_template(template)))
    cloudformation.get_waiter("stack_create_complete").wait(StackName=stack_name,
                                                            WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    physical = physical_ids(stack_name)
    variables = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    resolved = {name: _resolve(value, physical) for name, value in variables.items()}
    return {name: value for name, value in resolved.items() if value is not None}


def physical_ids(stack_name: str = STACK_NAME) -> dict[str, str]:
    """Logical id -> physical id (what `Ref` returns) for every resource of the stack."""
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    resources = cloudformation.describe_stack_resources(StackName=stack_name)["StackResources"]
    return {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources}


def _resolve(value: Any, physical: dict[str, str]) -> str | None:
    """A Globals value as the local stack sees it; None for a secret's dynamic reference (the stage has none)."""
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return physical[value["Ref"]]
    if isinstance(value, dict) and "{{resolve:secretsmanager:" in str(value.get("Fn::Sub", "")):
        return None
    if isinstance(value, str):
        return value
    raise ValueError(f"the local stack resolves only Ref and plain strings in Globals, not {value!r}")


@contextmanager
def one_request_at_a_time(observer=None) -> Iterator[threading.Lock]:
    """Make moto's server handle one DynamoDB request at a time while the block runs; yields the lock.

    DynamoDB applies a transaction atomically; moto applies it item by item and rolls back by restoring
    whole tables, so a request served meanwhile on another thread can see half a transaction or be undone
    by the rollback. Serialising requests keeps the races between our reads and writes, as on AWS.

    An `observer` (devstack.persist.Store) hears of each DynamoDB request moto answered 2xx, in the order
    moto applied them, and of every other request once moto has answered it.
    """
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    lock = threading.Lock()
    serve = DomainDispatcherApplication.__call__

    def one_at_a_time(self, environ, start_response):
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if not target.startswith("DynamoDB"):
            answer = serve(self, environ, start_response)  # SQS long polls must not hold up the tables
            if observer is not None:
                observer.queues_may_have_changed()
            return answer
        with lock:
            if observer is None:
                return serve(self, environ, start_response)
            return _serve_observed(serve, self, environ, start_response, observer)

    DomainDispatcherApplication.__call__ = one_at_a_time
    try:
        yield lock
    finally:
        DomainDispatcherApplication.__call__ = serve


def _serve_observed(serve, app, environ, start_response, observer):
    """Serve a DynamoDB request and tell `observer` of it (its action, body and region) if moto answered 2xx."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    statuses = []

    def recording_status(status, headers, exc_info=None):
        statuses.append(status)
        return start_response(status, headers, exc_info)

    answer = serve(app, environ, recording_status)
    if statuses and statuses[0].startswith("2"):
        scope = re.search(r"Credential=[^/]*/[^/]*/([^/]+)/", environ.get("HTTP_AUTHORIZATION", ""))
        observer.dynamodb_written(environ["HTTP_X_AMZ_TARGET"].rsplit(".", 1)[-1], body,
                                  scope.group(1) if scope else "us-east-1")
    return answer
