"""The OpenAPI 3 document, built from the registered routes and their pydantic schemas."""

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
    answer: dict[str, Any] = {"description": "OK"}
    if spec.response is not None:
        answer["content"] = {"application/json": {"schema": refs[(spec.response_model, "validation")]}}
    error_body = {"application/json": {"schema": {"$ref": REF.format(model="Error")}}}
    operation["responses"] = {str(spec.status): answer, "4XX": {"description": "API.md's error body",
                                                                "content": error_body}}
    if spec.body is not None:
        operation["responses"]["413"] = {"description": f"The body is over {MAX_BODY_BYTES} bytes.",
                                         "content": error_body}
    if spec.hourly_cap:
        operation["responses"]["429"] = {
            "description": f"Over the caller's cap of {CAPS[spec.hourly_cap]} an hour; come back after Retry-After.",
            "headers": {"Retry-After": {"description": "Seconds until the cap resets", "schema": {"type": "integer"}}},
            "content": error_body}
    if not spec.public:
        operation["security"] = [{"bearer": []}]
        operation["x-roles"] = sorted(spec.roles)
    return operation


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema()
    required = set(schema.get("required", []))
    return [{"name": name, "in": "query", "required": name in required, "schema": prop}
            for name, prop in schema.get("properties", {}).items()]

