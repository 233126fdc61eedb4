"""The packaged stack, as an AWS engineer would deploy it: `chalice package` with infra/ merged in, translated by
aws-sam-translator (what CloudFormation's SAM transform does) and created in moto's CloudFormation.

Every resource must be created, except those of the types below, which moto cannot create; cfn-lint (in
`make package`) checks them. The production settings of issue 15 are read from the prod package.
"""

import io
import json
import zipfile
from pathlib import Path

import boto3
import pytest
from chalice.cli.factory import CLIFactory
from chalice.deploy.packager import LambdaDeploymentPackager
from moto import mock_aws
from samtranslator.translator.transform import transform

from devstack import cloud

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = "o2o-mobility-artifacts"
# The shortest list that lets moto create the rest; a type moto learns to create should leave it.
MOTO_CANNOT_CREATE = {
    "AWS::CloudWatch::Alarm": "moto's CloudFormation has no alarm resource",
    "AWS::ApiGateway::Deployment": "moto ignores a RestApi's OpenAPI Body, so the deployment finds no methods",
    "AWS::ApiGateway::Stage": "needs the deployment above",
    "AWS::ApiGateway::GatewayResponse": "no moto CloudFormation support",
    "AWS::ApiGateway::Account": "no moto CloudFormation support",
    "AWS::ApiGatewayV2::Api": "no moto CloudFormation support (the WebSocket API and the four below)",
    "AWS::ApiGatewayV2::Integration": "no moto CloudFormation support",
    "AWS::ApiGatewayV2::Route": "no moto CloudFormation support",
    "AWS::ApiGatewayV2::Deployment": "no moto CloudFormation support",
    "AWS::ApiGatewayV2::Stage": "no moto CloudFormation support",
    "AWS::SecretsManager::Secret": "no moto CloudFormation support (the cursor key; a dynamic reference reads it)",
    "AWS::Cognito::UserPool": "no moto CloudFormation support (tests/integration/test_cognito.py covers the pool)",
    "AWS::Cognito::UserPoolClient": "no moto CloudFormation support",
    "AWS::Cognito::UserPoolGroup": "no moto CloudFormation support",
    "AWS::SNS::Subscription": "created only with the AlarmEmail parameter; moto does not evaluate Conditions",
}
ACCOUNT_LIMIT = 900  # of the default 1,000 concurrent executions, at most 900 can be reserved


class _NoManagedPolicies:
    """The translator looks up AWS-managed policy ARNs only for roles it creates; Chalice creates its own."""

    def load(self) -> dict:
        return {}


def packaged_template(stage: str, outdir: Path) -> dict:
    """`chalice package --stage <stage> --merge-template infra/resources.json`, without building the zip."""
    empty_zip = outdir / "deployment.zip"
    with zipfile.ZipFile(empty_zip, "w") as archive:
        archive.writestr("app.py", "")
    factory = CLIFactory(project_dir=str(ROOT))
    config = factory.create_config_obj(chalice_stage_name=stage)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(LambdaDeploymentPackager, "create_deployment_package", lambda *args: str(empty_zip))
        packager = factory.create_app_packager(config, factory.create_package_options(), "cloudformation", "json",
                                               merge_template=str(ROOT / "infra" / "resources.json"))
        packager.package_app(config, str(outdir / "package"), stage)
    return json.loads((outdir / "package" / "sam.json").read_text())


def translated(sam: dict) -> dict:
    """What CloudFormation's SAM transform turns the package into, with the code in the artifact bucket."""
    sam = json.loads(json.dumps(sam))
    for resource in sam["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = f"s3://{ARTIFACTS}/deployment.zip"
    return transform(sam, {}, _NoManagedPolicies())


def _without(template: dict, types: set[str]) -> tuple[dict, set[str]]:
    """`template` without resources of `types`; references to them become placeholder strings."""
    dropped = {name for name, r in template["Resources"].items() if r["Type"] in types}

    def scrub(value):
        if isinstance(value, dict):
            if value.get("Ref") in dropped:
                return f"placeholder-{value['Ref']}"
            if "Fn::GetAtt" in value and value["Fn::GetAtt"][0] in dropped:
                return f"placeholder-{value['Fn::GetAtt'][0]}"
            if isinstance(value.get("Fn::Sub"), str):
                text = value["Fn::Sub"]
                for name in dropped:
                    text = text.replace(f"${{{name}}}", f"placeholder-{name}")
                return {"Fn::Sub": text}
            return {key: scrub(item) for key, item in value.items()}
        if isinstance(value, list):
            return [scrub(item) for item in value]
        return value

    kept = {}
    for name, resource in template["Resources"].items():
        if name in dropped:
            continue
        resource = scrub(resource)
        depends = resource.get("DependsOn")
        if depends is not None:
            depends = [d for d in ([depends] if isinstance(depends, str) else depends) if d not in dropped]
            resource["DependsOn"] = depends
            if not depends:
                del resource["DependsOn"]
        kept[name] = resource
    return {**template, "Resources": kept, "Outputs": scrub(template.get("Outputs", {}))}, dropped


@pytest.fixture(scope="module")
def dev_package(tmp_path_factory) -> dict:
    return packaged_template("dev", tmp_path_factory.mktemp("dev"))


@pytest.fixture(scope="module")
def prod_package(tmp_path_factory) -> dict:
    return packaged_template("prod", tmp_path_factory.mktemp("prod"))


@pytest.fixture(scope="module")
def created(dev_package):
    """The translated dev package, created in moto: (template, logical id -> stack resource)."""
    template = translated(dev_package)
    creatable, _ = _without(template, set(MOTO_CANNOT_CREATE))
    with mock_aws():
        s3 = boto3.client("s3", region_name=cloud.REGION)
        s3.create_bucket(Bucket=ARTIFACTS, CreateBucketConfiguration={"LocationConstraint": cloud.REGION})
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as archive:
            archive.writestr("app.py", "app = None\n")
        s3.put_object(Bucket=ARTIFACTS, Key="deployment.zip", Body=code.getvalue())
        cloudformation = boto3.client("cloudformation", region_name=cloud.REGION)
        cloudformation.create_stack(StackName="o2o-mobility-dev", TemplateBody=json.dumps(creatable),
                                    Capabilities=["CAPABILITY_IAM"])
        stack = cloudformation.describe_stacks(StackName="o2o-mobility-dev")["Stacks"][0]
        assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
        resources = cloudformation.describe_stack_resources(StackName="o2o-mobility-dev")["StackResources"]
        # a type moto does not know is reported without a logical id: it was not created
        yield template, {r["LogicalResourceId"]: r for r in resources if "LogicalResourceId" in r}


def test_moto_creates_every_resource_of_the_packaged_stack_but_the_listed_types(created):
    template, resources = created
    expected = {name for name, r in template["Resources"].items() if r["Type"] not in MOTO_CANNOT_CREATE}
    missing = {name: template["Resources"][name]["Type"] for name in expected - set(resources)}
    assert not missing, f"not created: {missing}"
    assert all(resources[name]["ResourceStatus"] == "CREATE_COMPLETE" for name in expected)
    listed_but_absent = set(MOTO_CANNOT_CREATE) - {r["Type"] for r in template["Resources"].values()}
    assert not listed_but_absent, f"remove from MOTO_CANNOT_CREATE: {listed_but_absent}"


def test_every_function_is_created_with_its_own_role_and_log_group(created):
    template, resources = created
    functions = [name for name, r in template["Resources"].items() if r["Type"] == "AWS::Lambda::Function"]
    assert {"APIHandler", "JwtAuthorizer", "WorkQueueWorker", "DetectOutages"} <= set(functions)
    roles = {template["Resources"][name]["Properties"]["Role"]["Fn::GetAtt"][0] for name in functions}
    assert len(roles) == len(functions), "functions share a role"
    for name in functions:
        log_group = template["Resources"][name]["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        assert resources[log_group]["ResourceType"] == "AWS::Logs::LogGroup", name


def _resources(package: dict, kind: str) -> dict:
    return {name: r for name, r in package["Resources"].items() if r.get("Type") == kind}


def _statements(package: dict, role: str) -> list[dict]:
    return [s for policy in package["Resources"][role]["Properties"].get("Policies", [])
            for s in policy["PolicyDocument"]["Statement"]]


def _actions(statement: dict) -> list[str]:
    actions = statement["Action"]
    return [actions] if isinstance(actions, str) else actions


def test_the_authorizer_can_touch_no_table_queue_or_topic(prod_package):
    role = prod_package["Resources"]["JwtAuthorizer"]["Properties"]["Role"]["Fn::GetAtt"][0]
    actions = [a for s in _statements(prod_package, role) for a in _actions(s)]
    assert actions, "the authorizer's role grants nothing: is its policy file wired?"
    assert not [a for a in actions if a.split(":")[0] in {"dynamodb", "sqs", "sns", "*"}], actions
    assert not prod_package["Resources"][role]["Properties"].get("ManagedPolicyArns")


def test_each_function_reaches_only_the_tables_it_uses(prod_package):
    def tables(function: str) -> set[str]:
        role = prod_package["Resources"][function]["Properties"]["Role"]["Fn::GetAtt"][0]
        return {r["Fn::GetAtt"][0] for s in _statements(prod_package, role) if _actions(s)[0].startswith("dynamodb:")
                for r in s["Resource"] if "Fn::GetAtt" in r}

    assert tables("CloseIntake") == {"ProgramsTable", "ProgramTalliesTable", "ClaimsTable", "VoucherGrantsTable"}
    assert "RidesTable" in tables("ExpireRides")
    assert "PayoutRoundsTable" not in tables("ExpireRides")
    assert tables("PublishNotices").isdisjoint({"RidesTable", "ClaimsTable", "LedgerTable", "WalletsTable"})
    assert "AuditTable" not in tables("DetectOutages")


def test_prod_reserves_concurrency_the_account_can_give(prod_package):
    reserved = {name: r["Properties"].get("ReservedConcurrentExecutions", 0)
                for name, r in _resources(prod_package, "AWS::Serverless::Function").items()}
    assert all(reserved.values()), f"prod functions without a reservation: {reserved}"
    assert sum(reserved.values()) <= ACCOUNT_LIMIT, reserved


def test_prod_stage_is_throttled_and_access_logged(prod_package):
    api = prod_package["Resources"]["RestAPI"]["Properties"]
    settings = api["MethodSettings"][0]
    assert settings["ThrottlingRateLimit"] == {"Ref": "ApiThrottleRateLimit"}
    assert settings["ThrottlingBurstLimit"] == {"Ref": "ApiThrottleBurstLimit"}
    assert api["AccessLogSetting"]["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogs", "Arn"]}
    websocket = prod_package["Resources"]["WebsocketAPIStage"]["Properties"]
    assert websocket["DefaultRouteSettings"]["ThrottlingRateLimit"]
    assert websocket["AccessLogSettings"]["DestinationArn"]
    for name in ("ApiAccessLogs", "WebsocketAccessLogs"):
        assert prod_package["Resources"][name]["Properties"]["RetentionInDays"]


def test_prod_pages_on_what_breaks_through_a_topic_cloudwatch_can_use(prod_package):
    alarms = _resources(prod_package, "AWS::CloudWatch::Alarm")
    watched = {(a["Properties"].get("Namespace"), a["Properties"].get("MetricName")) for a in alarms.values()}
    assert {("AWS/Lambda", "Errors"), ("AWS/Lambda", "Throttles"), ("AWS/ApiGateway", "5XXError"),
            ("AWS/ApiGateway", "Latency"), ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
            ("AWS/SQS", "ApproximateAgeOfOldestMessage"), ("o2o-mobility", "DetectorHeartbeat")} <= watched
    throttled_tables = {m["MetricStat"]["Metric"]["Dimensions"][0]["Value"]["Ref"] for a in alarms.values()
                        for m in a["Properties"].get("Metrics", []) if "MetricStat" in m}
    assert throttled_tables == set(_resources(prod_package, "AWS::DynamoDB::Table"))
    functions = set(_resources(prod_package, "AWS::Serverless::Function"))
    errors = {a["Properties"]["Dimensions"][0]["Value"]["Ref"] for a in alarms.values()
              if a["Properties"].get("MetricName") == "Errors"}
    assert errors == functions
    assert all(a["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}] for a in alarms.values())
    topic = prod_package["Resources"]["AlarmTopic"]["Properties"]
    assert topic["KmsMasterKeyId"] != "alias/aws/sns"
    key_policy = prod_package["Resources"]["AlarmTopicKey"]["Properties"]["KeyPolicy"]["Statement"]
    assert any(s["Principal"].get("Service") == "cloudwatch.amazonaws.com" and "kms:GenerateDataKey*" in s["Action"]
               for s in key_policy)
    assert len(_resources(prod_package, "AWS::CloudWatch::Dashboard")) == 1


def test_scheduled_functions_dead_letter_their_failed_runs(prod_package):
    functions = _resources(prod_package, "AWS::Serverless::Function")
    scheduled = [name for name, f in functions.items()
                 if any(e["Type"] == "Schedule" for e in f["Properties"].get("Events", {}).values())]
    assert len(scheduled) >= 5
    for name in scheduled:
        assert functions[name]["Properties"]["DeadLetterQueue"]["TargetArn"] == {
            "Fn::GetAtt": ["JobsDeadLetterQueue", "Arn"]}, name
        role = functions[name]["Properties"]["Role"]["Fn::GetAtt"][0]
        assert any(s["Resource"] == {"Fn::GetAtt": ["JobsDeadLetterQueue", "Arn"]}
                   for s in _statements(prod_package, role)), name
