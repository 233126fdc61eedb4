"""The tables the models use are the tables infra/ deploys: schema drift fails here."""

from dataclasses import fields

from pynamodb.models import Model

import chalicelib.core.quotas  # noqa: F401 - loaded lazily by the app; its model must be checked too
from chalicelib.core.config import Settings
from devstack import cloud
from tests.conftest import all_models


def key_schema(model: type[Model]) -> dict[str, str]:
    return {attr.attr_name: ("HASH" if attr.is_hash_key else "RANGE")
            for attr in model.get_attributes().values() if attr.is_hash_key or attr.is_range_key}


def test_every_model_names_a_table_of_the_template_with_the_same_keys(app):
    template = cloud.load_template()
    environment = template["Globals"]["Function"]["Environment"]["Variables"]
    models = [m for m in all_models() if m.__module__.startswith("chalicelib.")]
    assert models, "app.py should import at least one model"
    for model in models:
        variable = model.Meta.table_setting.upper()
        assert model.Meta.table_setting in {f.name for f in fields(Settings)}, model.__name__
        assert variable in environment, f"{variable} is not given to the functions by infra/"
        logical_id = environment[variable]["Ref"]
        table = template["Resources"][logical_id]["Properties"]
        assert {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]} == key_schema(model), model.__name__


def test_the_stack_gives_every_function_the_names_it_reads(aws):
    assert set(aws) >= {"AUDIT_TABLE", "WORK_QUEUE_URL", "WORK_DLQ_URL", "NOTIFICATIONS_TOPIC_ARN"}
    assert aws["AUDIT_TABLE"] == "o2o-mobility-test-audit"
    assert aws["WORK_QUEUE_URL"].endswith("/o2o-mobility-test-work")


def test_every_table_is_on_demand_encrypted_and_recoverable():
    for resource in cloud.load_template()["Resources"].values():
        if resource.get("Type") == "AWS::DynamoDB::Table":
            props = resource["Properties"]
            assert props["BillingMode"] == "PAY_PER_REQUEST"
            assert props["SSESpecification"] == {"SSEEnabled": True}
            assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
