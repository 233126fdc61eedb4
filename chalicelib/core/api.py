"""Routes the way every domain writes them: roles, validated input, API.md's errors, audit.

A domain declares its routes on an `ApiBlueprint`:

    @rides.route("/rides", methods=["POST"], roles=["rider"], body="RideRequest", status=201)
    def request_ride(caller: Caller, body: RideRequest):
        return service.request_ride(caller, body)

Models are named by their name in the domain's `schemas` module and resolved on the first request, so
a Lambda's cold start imports neither pydantic nor the schemas (routes import them for type checking only).

The wrapper checks the caller's role (403), parses the body and query with pydantic (400 naming
each field at fault), passes `caller`, `body`, `query` and `idempotency_key` (the `Idempotency-Key`
header, documented in the OpenAPI document) to the view when it asks for them, writes admin actions
to the audit log, and turns every error into API.md's body by class.
"""

import functools
import importlib
import inspect
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

from chalice import Blueprint, Rate, Response

from chalicelib.core import clock
from chalicelib.core.auth import Caller, jwt_authorizer
from chalicelib.core.errors import AppError, Forbidden, InvalidInput, Unauthenticated
from chalicelib.core.ids import new_id
from chalicelib.core.jobs import register_job
from chalicelib.core.lazy import lazy_module
from chalicelib.core.observability import logger
from chalicelib.core.tasks import register_task

JSON_HEADERS = {"Content-Type": "application/json"}
if TYPE_CHECKING:
    from pydantic import BaseModel

M = TypeVar("M", bound="BaseModel")
# A route's body, query or answer model: the class, or its name in the domain's schemas module. Names keep
# pydantic and the schemas out of a Lambda's cold start; they are resolved on the first request.
ModelRef = type["BaseModel"] | str
# Bodies are parsed as JSON whatever the client declared: `curl -d '{...}'` says form-urlencoded.
LENIENT_CONTENT_TYPES = ["application/json", "application/x-www-form-urlencoded", "text/plain"]
audit = lazy_module("chalicelib.core.audit")  # PynamoDB: loaded with the first audited action
INTERNAL_ERROR = {"error": {"code": "internal_error", "message": "Something went wrong on our side."}}


@dataclass(frozen=True)
class RouteSpec:
    """What a route promises, for the wrapper and for the OpenAPI document."""

    roles: frozenset[str] | None
    body: ModelRef | None = None
    query: ModelRef | None = None
    response: ModelRef | None = None
    schemas: str = ""
    status: int = 200
    summary: str = ""
    errors: tuple[int, ...] = field(default=())
    idempotent: bool = False

    @property
    def public(self) -> bool:
        return self.roles is None

    @property
    def body_model(self) -> type["BaseModel"] | None:
        return _model(self.schemas, self.body)

    @property
    def query_model(self) -> type["BaseModel"] | None:
        return _model(self.schemas, self.query)

    @property
    def response_model(self) -> type["BaseModel"] | None:
        return _model(self.schemas, self.response)


@cache
def _model(schemas: str, ref: ModelRef | None) -> type["BaseModel"] | None:
    if ref is None or not isinstance(ref, str):
        return ref
    return getattr(importlib.import_module(schemas), ref)


class ApiBlueprint(Blueprint):
    """A Chalice Blueprint whose routes are authorised, validated and error-mapped."""

    def route(self, path: str, *, roles: Iterable[str] | None, body: ModelRef | None = None,
              query: ModelRef | None = None, response: ModelRef | None = None,
              status: int = 200, **kwargs: Any) -> Callable:
        """Register a route. `roles=None` makes it public (no token); otherwise a token is required.

        `body`, `query` and `response` name models of the domain's `schemas` module (or are the classes).
        """
        spec_roles = None if roles is None else frozenset(roles)
        if spec_roles is not None:
            kwargs.setdefault("authorizer", jwt_authorizer)
        kwargs.setdefault("content_types", LENIENT_CONTENT_TYPES)
        register = super().route(path, **kwargs)

        def decorate(view: Callable) -> Callable:
            spec = RouteSpec(roles=spec_roles, body=body, query=query, response=response, status=status,
                             schemas=self._import_name.rpartition(".")[0] + ".schemas",
                             summary=inspect.getdoc(view) or "",
                             idempotent="idempotency_key" in inspect.signature(view).parameters)
            return register(self._api_view(view, spec, path))

        return decorate

    def job(self, name: str, every_minutes: int | None = None) -> Callable:
        """Declare a job `(now) -> summary`: runnable by `POST /jobs/{name}/run`, scheduled when `every_minutes`.

        The decorated module attribute becomes the scheduled Lambda handler, as Chalice deploys it.
        """

        def decorate(run: Callable[[Any], dict]) -> Callable:
            register_job(name, run, every_minutes)
            if every_minutes is None:
                return run

            @functools.wraps(run)
            def on_schedule(event: Any) -> dict:
                summary = run(clock.now())
                logger.info("job ran", extra={"job": name, "summary": summary})
                return summary

            return self.schedule(Rate(every_minutes, unit=Rate.MINUTES), name=run.__name__)(on_schedule)

        return decorate

    def task(self, name: str) -> Callable:
        """Declare the worker of queued `name` messages: `(payload) -> None`, one idempotent chunk each."""

        def decorate(run: Callable[[dict], None]) -> Callable:
            register_task(name, run)
            return run

        return decorate

    def _api_view(self, view: Callable, spec: RouteSpec, path: str) -> Callable:
        wants = set(inspect.signature(view).parameters)

        @functools.wraps(view)
        def api_view(**path_params: str) -> Response:
            request = self.current_request
            logger.set_correlation_id(_request_id(request))
            try:
                caller = None if spec.public else _authorised_caller(request, spec.roles)
                extra = _inputs(request, spec, caller)
                result = view(**path_params, **{name: value for name, value in extra.items() if name in wants})
                if caller and caller.role == "admin" and request.method != "GET":
                    audit.record_action(caller.sub, caller.role, f"{request.method} {path}",
                                        target=_target(path_params), detail={"path": request.path})
                return _as_response(result, spec.status)
            except AppError as exc:
                return error_response(exc)
            except Exception:
                logger.exception("unhandled error", extra={"path": request.path})
                return Response(body=INTERNAL_ERROR, status_code=500, headers=JSON_HEADERS)

        api_view.api_spec = spec
        return api_view


def error_response(exc: AppError) -> Response:
    """API.md's error body for `exc`."""
    return Response(body=exc.body(), status_code=exc.status, headers=JSON_HEADERS)


def api_error_bodies(event, get_response):
    """Middleware: give Chalice's own error answers (405, 415, ...) API.md's error body."""
    response = get_response(event)
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and set(body) == {"Code", "Message"}:
        code = re.sub(r"(?<!^)(?=[A-Z])", "_", str(body["Code"])).lower().removesuffix("_error")
        response.body = {"error": {"code": code, "message": body["Message"]}}
    return response


def _authorised_caller(request, roles: frozenset[str]) -> Caller:
    context = (request.context or {}).get("authorizer") or {}
    caller = Caller.from_auth_context(context)
    if not caller.sub or caller.expired(clock.now()):
        raise Unauthenticated("token missing or expired")
    if caller.role not in roles:
        raise Forbidden(f"this action is for: {', '.join(sorted(roles))}")
    return caller


def _inputs(request, spec: RouteSpec, caller: Caller | None) -> dict[str, Any]:
    inputs: dict[str, Any] = {"caller": caller, "idempotency_key": request.headers.get("idempotency-key")}
    if spec.query is not None:
        inputs["query"] = parse_query(spec.query_model, request.query_params or {})
    if spec.body is not None:
        inputs["body"] = parse_body(spec.body_model, request.raw_body)
    return inputs


def parse_body(model: type[M], raw: bytes | None) -> M:
    """Validate a JSON request body against `model`; 400 names every field at fault."""
    from pydantic import ValidationError

    if not raw or not raw.strip():
        try:
            return model.model_validate({})  # every field optional: no body means "all defaults"
        except ValidationError:
            raise InvalidInput("a JSON body is required", fields={"body": "missing"}) from None
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput("the body is not valid JSON", fields={"body": f"malformed JSON: {exc}"}) from exc
    if not isinstance(document, dict):
        raise InvalidInput("the body must be a JSON object", fields={"body": "expected an object"})
    return _validated(model, raw, strict=True)


def parse_query(model: type[M], params: dict[str, str]) -> M:
    """Validate query parameters (strings, converted by pydantic) against `model`."""
    return _validated(model, dict(params), strict=False)


def parse_part(model: type[M], document: dict, at: str) -> M:
    """Validate a part of a body whose shape depends on another field (e.g. a program's `params` by `kind`);
    400 names each field at fault under `at` (`params.tiers`)."""
    from pydantic import ValidationError

    try:
        return model.model_validate(document, strict=False)
    except ValidationError as exc:
        fields = {".".join([at, *(str(part) for part in error["loc"])]): error["msg"] for error in exc.errors()}
        raise InvalidInput("some fields are missing or invalid", fields=fields) from exc


def _validated(model: type[M], document: dict | bytes, strict: bool) -> M:
    from pydantic import ValidationError

    try:
        if isinstance(document, bytes):
            return model.model_validate_json(document, strict=strict)
        return model.model_validate(document, strict=strict)
    except ValidationError as exc:
        fields = {".".join(str(part) for part in error["loc"]) or "body": error["msg"] for error in exc.errors()}
        raise InvalidInput("some fields are missing or invalid", fields=fields) from exc


def _as_response(result: Any, status: int) -> Response:
    if isinstance(result, Response):
        return result
    if hasattr(result, "model_dump"):  # a pydantic model (not imported here: it stays off the cold start)
        result = result.model_dump(mode="json")
    return Response(body=result, status_code=status, headers=JSON_HEADERS)


def _request_id(request) -> str:
    """API Gateway's request id (the correlation id of every log line); locally a fresh id."""
    return (request.context or {}).get("requestId") or request.headers.get("x-request-id") or new_id("req")


def _target(path_params: dict[str, str]) -> str:
    return ",".join(f"{name}={value}" for name, value in sorted(path_params.items()))
