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
from chalicelib.core.audited import AuditedAction
from chalicelib.core.auth import Caller, jwt_authorizer
from chalicelib.core.config import get_settings
from chalicelib.core.errors import AppError, Forbidden, NotFound, Unauthenticated
from chalicelib.core.ids import new_id
from chalicelib.core.inputs import parse_body, parse_query
from chalicelib.core.jobs import register_job
from chalicelib.core.lazy import lazy_module
from chalicelib.core.observability import logger
from chalicelib.core.pagination import seal, unseal
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
quotas = lazy_module("chalicelib.core.quotas")  # PynamoDB: loaded with the first capped request
MAX_PATH_ID_LENGTH = 200
# Locally (and in tests) cursors are sealed with a fixed key; in AWS stages CURSOR_SECRET comes from Secrets Manager.
LOCAL_CURSOR_KEY = b"o2o-mobility local cursor key"
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
    errors: tuple[int, ...] = field(default=())  # error statuses RouteSpec cannot tell (409: the state may not fit)
    idempotent: bool = False
    hourly_cap: str | None = None
    media_type: str | None = None  # an answer that is not JSON (text/html, application/atom+xml)

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
              status: int = 200, hourly_cap: str | None = None, errors: Iterable[int] = (),
              media_type: str | None = None, **kwargs: Any) -> Callable:
        """Register a route. `roles=None` makes it public (no token); otherwise a token is required.

        `body`, `query` and `response` name models of the domain's `schemas` module (or are the classes).
        `hourly_cap` names the per-caller hourly cap of `core.quotas` the route counts against (429 past it).
        `errors` adds error statuses the spec cannot tell (409); `media_type` names an answer that is not JSON.
        """
        spec_roles = None if roles is None else frozenset(roles)
        if spec_roles is not None:
            kwargs.setdefault("authorizer", jwt_authorizer)
        kwargs.setdefault("content_types", LENIENT_CONTENT_TYPES)
        register = super().route(path, **kwargs)

        def decorate(view: Callable) -> Callable:
            spec = RouteSpec(roles=spec_roles, body=body, query=query, response=response, status=status,
                             hourly_cap=hourly_cap, errors=tuple(sorted(errors)), media_type=media_type,
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
            caller = None if spec.public else _caller(request)
            action = AuditedAction.of(caller, spec.roles, request.method, path, path_params)
            try:
                _check_path(path_params)
                if not spec.public:
                    _authorise(caller, spec.roles)
                scope = _list_scope(caller, path, path_params, request.query_params or {})
                extra = _inputs(request, spec, caller, scope)
                if spec.hourly_cap:
                    quotas.take(spec.hourly_cap, caller, clock.now())
                if action:
                    action.body = extra.get("body")
                result = view(**path_params, **{name: value for name, value in extra.items() if name in wants})
                response = _as_response(result, spec.status, scope)
                if action:
                    action.done(response.body)
                return response
            except AppError as exc:
                if action:
                    action.refused(exc)
                return error_response(exc)
            except Exception:
                logger.exception("unhandled error", extra={"path": request.path})
                return Response(body=INTERNAL_ERROR, status_code=500, headers=JSON_HEADERS)

        api_view.api_spec = spec
        return api_view


def error_response(exc: AppError) -> Response:
    """API.md's error body for `exc`."""
    return Response(body=exc.body(), status_code=exc.status, headers={**JSON_HEADERS, **exc.headers()})


def api_error_bodies(event, get_response):
    """Middleware: give Chalice's own error answers (405, 415, ...) API.md's error body."""
    response = get_response(event)
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and set(body) == {"Code", "Message"}:
        code = re.sub(r"(?<!^)(?=[A-Z])", "_", str(body["Code"])).lower().removesuffix("_error")
        response.body = {"error": {"code": code, "message": body["Message"]}}
    return response


def _caller(request) -> Caller | None:
    """The caller the authorizer verified; None when the token is missing or has expired since."""
    caller = Caller.from_auth_context((request.context or {}).get("authorizer") or {})
    return None if not caller.sub or caller.expired(clock.now()) else caller


def _authorise(caller: Caller | None, roles: frozenset[str]) -> None:
    if caller is None:
        raise Unauthenticated("token missing or expired")
    if caller.role not in roles:
        raise Forbidden(f"this action is for: {', '.join(sorted(roles))}")


def _check_path(path_params: dict[str, str]) -> None:
    """An id in the path is 1 to 200 printable characters; anything else names nothing (404)."""
    for name, value in path_params.items():
        if not value or len(value) > MAX_PATH_ID_LENGTH or not value.isprintable() or value != value.strip():
            raise NotFound(f"no such {name.removesuffix('_id')}")


def _inputs(request, spec: RouteSpec, caller: Caller | None, scope: str) -> dict[str, Any]:
    inputs: dict[str, Any] = {"caller": caller, "idempotency_key": request.headers.get("idempotency-key")}
    if spec.query is not None:
        query = parse_query(spec.query_model, request.query_params or {})
        if getattr(query, "cursor", None):
            query = query.model_copy(update={"cursor": unseal(query.cursor, scope, _cursor_key())})
        inputs["query"] = query
    if spec.body is not None:
        inputs["body"] = parse_body(spec.body_model, request.raw_body)
    return inputs


def _list_scope(caller: Caller | None, path: str, path_params: dict[str, str], query: dict[str, str]) -> str:
    """What a cursor is valid for: this caller's list of this route, with these filters."""
    filters = {name: value for name, value in query.items() if name not in ("cursor", "limit")}
    who = f"{caller.role}:{caller.sub}" if caller else "public"
    return json.dumps([who, path, path_params, filters], sort_keys=True)


def _cursor_key() -> bytes:
    settings = get_settings()
    if settings.cursor_secret:
        return settings.cursor_secret.encode()
    if settings.is_local:
        return LOCAL_CURSOR_KEY
    raise RuntimeError("CURSOR_SECRET is not set: list cursors cannot be sealed")


def _as_response(result: Any, status: int, scope: str) -> Response:
    if isinstance(result, Response):
        return result
    if hasattr(result, "model_dump"):  # a pydantic model (not imported here: it stays off the cold start)
        result = result.model_dump(mode="json")
    if isinstance(result, dict) and isinstance(result.get("next"), str):
        result = {**result, "next": seal(result["next"], scope, _cursor_key())}
    return Response(body=result, status_code=status, headers=JSON_HEADERS)


def _request_id(request) -> str:
    """API Gateway's request id (the correlation id of every log line); locally a fresh id."""
    return (request.context or {}).get("requestId") or request.headers.get("x-request-id") or new_id("req")
