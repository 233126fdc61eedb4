"""GET /openapi.json describes every registered route, and is a valid OpenAPI 3.1 document."""

import pytest
from openapi_spec_validator import validate

from chalicelib.core.openapi import openapi_document


def test_every_registered_route_is_in_the_document(client, app):
    document = client.http.get("/openapi.json").json_body
    registered = {(path, method.lower()) for path, methods in app.routes.items() for method in methods}
    described = {(path, method) for path, operations in document["paths"].items() for method in operations}
    assert registered == described


def test_the_document_is_valid_openapi(client):
    validate(client.http.get("/openapi.json").json_body)


def test_protected_routes_name_their_roles_and_public_ones_need_no_token(client):
    paths = client.http.get("/openapi.json").json_body["paths"]
    run_job = paths["/jobs/{job}/run"]["post"]
    assert run_job["x-roles"] == ["admin"]
    assert run_job["security"] == [{"bearer": []}]
    assert "security" not in paths["/health"]["get"]
    assert run_job["parameters"][0] == {"name": "job", "in": "path", "required": True, "schema": {"type": "string"}}


def test_every_route_is_an_api_route_with_a_spec(app):
    """A route registered outside ApiBlueprint would skip auth checks and error mapping."""
    for methods in app.routes.values():
        for entry in methods.values():
            assert hasattr(entry.view_function, "api_spec"), entry.view_name


# --- answers: a model for every 2xx, the error statuses each route can give ---------------------------------

HTTP_METHODS = ("get", "put", "post", "delete", "patch")


@pytest.fixture(scope="module")
def document() -> dict:
    """The document as GET /openapi.json serves it (built straight from the app: no AWS is needed)."""
    from app import app as chalice_app

    return openapi_document(chalice_app)


def operations(document: dict):
    for path, item in sorted(document["paths"].items()):
        for method, operation in sorted(item.items()):
            if method in HTTP_METHODS:
                yield f"{method.upper()} {path}", operation


def resolved(schema: dict, document: dict) -> dict:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def accepts_anything(schema: dict, document: dict) -> bool:
    """A schema no body could fail: no type, no properties, no union of stricter schemas."""
    schema = resolved(schema, document)
    if "anyOf" in schema or "oneOf" in schema:
        return any(accepts_anything(branch, document) for branch in schema.get("anyOf", schema.get("oneOf")))
    return schema.get("type") != "object" or not schema.get("properties") or schema.get("additionalProperties", False)


def test_every_operation_declares_the_body_of_its_success(document):
    bare, loose = [], []
    for label, operation in operations(document):
        successes = [answer for status, answer in operation["responses"].items() if status.startswith("2")]
        contents = [answer.get("content") for answer in successes]
        if not all(contents):
            bare.append(label)
        for content in filter(None, contents):
            if "application/json" in content and accepts_anything(content["application/json"]["schema"], document):
                loose.append(label)
    assert bare == [], f"2xx answers without a body in the document: {bare}"
    assert loose == [], f"2xx bodies whose schema accepts anything (no properties, or extra fields allowed): {loose}"


def test_error_statuses_follow_what_each_route_takes(document):
    wrong = []
    for label, operation in operations(document):
        declared = {int(status) for status in operation["responses"] if status.isdigit() and status >= "400"}
        has = {"body": "requestBody" in operation, "roles": "security" in operation,
               "path id": "{" in label,
               "query": any(p["in"] == "query" for p in operation.get("parameters", [])),
               "idempotency key": any(p["name"] == "Idempotency-Key" for p in operation.get("parameters", []))}
        rules = [(400, has["body"] or has["query"]), (413, has["body"]), (401, has["roles"]), (403, has["roles"]),
                 (404, has["path id"]), (409, has["idempotency key"])]
        wrong += [f"{label}: {status} missing" for status, needed in rules if needed and status not in declared]
        wrong += [f"{label}: {status} without cause" for status, needed in rules
                  if status in (401, 403, 413) and not needed and status in declared]
        assert "4XX" in operation["responses"], label
    assert wrong == []


@pytest.mark.parametrize(("label", "statuses"), [
    ("GET /health", set()),
    ("GET /rides/{ride_id}", {401, 403, 404}),
    ("POST /rides", {400, 401, 403, 409, 413}),
    ("POST /rides/{ride_id}/accept", {401, 403, 404, 409}),
    ("POST /rides/{ride_id}/complaints", {400, 401, 403, 404, 409, 413, 429}),
    ("POST /programs/{program_id}/extend", {400, 401, 403, 404, 409, 413}),
    ("GET /me/wallet", {401, 403}),
    ("GET /drivers/me", {401, 403, 404}),
    ("PUT /dev/clock", {400, 401, 403, 404, 413}),
])
def test_routes_name_the_errors_api_md_gives_them(document, label, statuses):
    operation = dict(operations(document))[label]
    assert {int(status) for status in operation["responses"] if status[0] == "4" and status.isdigit()} == statuses
    for status in statuses:
        assert operation["responses"][str(status)]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Error"}


def test_capped_routes_say_when_to_come_back(document):
    capped = {label: operation for label, operation in operations(document) if "429" in operation["responses"]}
    assert {"POST /inquiries", "POST /rides/{ride_id}/complaints",
            "POST /feedback-campaigns/{campaign_id}/entries"} <= set(capped)
    for operation in capped.values():
        assert "Retry-After" in operation["responses"]["429"]["headers"]
    assert "of 10 an hour" in capped["POST /inquiries"]["responses"]["429"]["description"]


def test_pages_for_people_declare_their_media_type(document):
    paths = document["paths"]
    report = paths["/programs/{program_id}/report"]["get"]["responses"]["200"]["content"]
    assert set(report) == {"application/json", "text/html"}
    assert report["application/json"]["schema"] == {"$ref": "#/components/schemas/ProgramReport"}
    assert set(paths["/status.html"]["get"]["responses"]["200"]["content"]) == {"text/html"}
    if "/status/feed.atom" in paths:
        assert set(paths["/status/feed.atom"]["get"]["responses"]["200"]["content"]) == {"application/atom+xml"}


def test_health_may_name_the_real_time_api(document):
    health = document["components"]["schemas"]["Health"]
    assert set(health["required"]) == {"status", "stage", "time"}
    assert {"type": "string"} in health["properties"]["websocket_url"]["anyOf"]
