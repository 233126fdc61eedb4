"""The OpenAPI 3 document, built from the registered routes and their pydantic schemas.

The style every route follows, so that its operation documents what it answers:

- `response="Model"` on the decorator names the 2xx body's model in the domain's `schemas.py`: an `Output`
  (core/schemas.py, unknown fields refused) that says what the code returns today, with the fields it always
  sends required (`x: str | None` without a default when it may be null), fields it sometimes leaves out
  defaulted (`x: int | None = None`), states as `Literal`s of the domain's enum, times as `UtcTime`, lists as
  `{items: list[Item], next: NextCursor}`. Two shapes of one answer are a `RootModel` of their union.
- `media_type="text/html"` (or `application/atom+xml`) for an answer that is not JSON; with `response=` as
  well when the route answers both (`?format=html`).
- Error statuses come from the spec: 400 with a body or query, 413 with a body, 401 and 403 with roles, 404
  with an id in the path, 409 with an `Idempotency-Key`, 429 with an `hourly_cap`. Add what the spec cannot
  tell with `errors=(...)`: 409 where the state may not fit, 404 for an id that is not in the path.
- tests/integration/test_openapi_bodies.py checks every 2xx body of its flows against the document.
"""

from typing import Any

from chalice import Chalice
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from chalicelib.core.api import RouteSpec
from chalicelib.core.inputs import MAX_BODY_BYTES
from chalicelib.core.quotas import CAPS

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        }
    },
}
REF = "#/components/schemas/{model}"
ERRORS = {
    400: "Malformed or invalid input; `fields` names each field at fault.",
    401: "The token is missing, invalid or expired.",
    403: "The token's role or identity may not do this.",
    404: "No such id, or one the caller may not see.",
    409: "The action does not fit the current state, or repeats something unique.",
    413: f"The body is over {MAX_BODY_BYTES} bytes.",
    429: "Over the caller's hourly cap; come back after Retry-After.",
}


def openapi_document(app: Chalice, server_url: str = "/") -> dict[str, Any]:
    """Every route of `app` with its roles, parameters, body and answers."""
    specs = [(path, method.lower(), entry, entry.view_function.api_spec)
             for path, methods in sorted(app.routes.items()) for method, entry in sorted(methods.items())]
    models = {m for *_, spec in specs for m in (spec.body_model, spec.response_model) if m is not None}
    refs, defs = models_json_schema([(m, "validation") for m in sorted(models, key=lambda m: m.__name__)],
                                    ref_template=REF)
    schemas = {"Error": ERROR_SCHEMA, **defs.get("$defs", {})}
    paths: dict[str, dict] = {}
    for path, method, entry, spec in specs:
        paths.setdefault(path, {})[method] = _operation(entry.view_name, entry.view_args, spec, refs)
    return {
        "openapi": "3.1.0",
        "info": {"title": "o2o-mobility", "version": "1.0.0",
                 "description": "Rides, driver notices, outage detection and compensation payouts."},
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {"schemas": schemas,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
    }


def _operation(name: str, path_args: list[str], spec: RouteSpec, refs: dict) -> dict[str, Any]:
    summary, _, description = spec.summary.partition("\n")
    operation: dict[str, Any] = {"operationId": name, "summary": summary or name.replace("_", " ")}
    if description.strip():
        operation["description"] = description.strip()
    parameters = [{"name": arg, "in": "path", "required": True, "schema": {"type": "string"}} for arg in path_args]
    if spec.query is not None:
        parameters += _query_parameters(spec.query_model)
    if spec.idempotent:
        parameters.append({"name": "Idempotency-Key", "in": "header", "required": False,
                           "description": "A retry with the same key and body returns the first answer and changes "
                                          "nothing; the same key with another body is a 409.",
                           "schema": {"type": "string", "minLength": 1, "maxLength": 200}})
    if parameters:
        operation["parameters"] = parameters
    if spec.body is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": refs[(spec.body_model, "validation")]}}}
    operation["responses"] = {str(spec.status): _answer(spec, refs), **_errors(spec, path_args)}
    if not spec.public:
        operation["security"] = [{"bearer": []}]
        operation["x-roles"] = sorted(spec.roles)
    return operation


def error_statuses(spec: RouteSpec, path_args: list[str]) -> list[int]:
    """The error statuses an operation may answer: what its spec tells, and the ones it names (`errors`)."""
    statuses = set(spec.errors)
    if spec.body is not None or spec.query is not None:
        statuses.add(400)
    if spec.body is not None:
        statuses.add(413)
    if not spec.public:
        statuses |= {401, 403}
    if path_args:
        statuses.add(404)
    if spec.idempotent:
        statuses.add(409)
    if spec.hourly_cap:
        statuses.add(429)
    return sorted(statuses)


def _answer(spec: RouteSpec, refs: dict) -> dict[str, Any]:
    content: dict[str, Any] = {}
    if spec.response is not None:
        content["application/json"] = {"schema": refs[(spec.response_model, "validation")]}
    if spec.media_type:
        content[spec.media_type] = {"schema": {"type": "string"}}
    return {"description": "OK", **({"content": content} if content else {})}


def _errors(spec: RouteSpec, path_args: list[str]) -> dict[str, Any]:
    error_body = {"application/json": {"schema": {"$ref": REF.format(model="Error")}}}
    answers: dict[str, Any] = {str(status): {"description": ERRORS.get(status, "API.md's error body"),
                                             "content": error_body} for status in error_statuses(spec, path_args)}
    if spec.hourly_cap:
        answers["429"]["description"] = (f"Over the caller's cap of {CAPS[spec.hourly_cap]} an hour; "
                                         "come back after Retry-After.")
        answers["429"]["headers"] = {"Retry-After": {"description": "Seconds until the cap resets",
                                                     "schema": {"type": "integer"}}}
    answers["4XX"] = {"description": "Refused before the route ran (405 method, 415 content type, 431 headers).",
                      "content": error_body}
    return answers


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema()
    required = set(schema.get("required", []))
    return [{"name": name, "in": "query", "required": name in required, "schema": prop}
            for name, prop in schema.get("properties", {}).items()]

