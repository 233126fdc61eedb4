"""What clients send, parsed strictly and within API.md's limits, before any of it reaches a service.

A body is refused before pydantic sees it when it is over 1 MiB (413), not JSON, nested deeper than 32
levels, or carries a number no field of this API can hold (an integer outside -10^15..10^15, negative money,
NaN or an infinity): each a 400 naming the field. Then it is validated strictly from JSON, nested parts
included: `true` is not an integer, `"100000"` is not an integer, `12.0` is not KRW.
"""

import json
import math
from typing import TYPE_CHECKING, Any, TypeVar

from chalicelib.core.errors import InvalidInput, PayloadTooLarge

if TYPE_CHECKING:
    from pydantic import BaseModel

M = TypeVar("M", bound="BaseModel")

MAX_BODY_BYTES = 1024 * 1024
MAX_DEPTH = 32
MAX_INTEGER = 10**15
MONEY_SUFFIX = "_krw"


def parse_body(model: type[M], raw: bytes | None) -> M:
    """Validate a JSON request body against `model`; 400 names every field at fault, 413 when too large."""
    from pydantic import ValidationError

    if raw and len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"the body is over {MAX_BODY_BYTES} bytes")
    if not raw or not raw.strip():
        try:
            return model.model_validate({})  # every field optional: no body means "all defaults"
        except ValidationError:
            raise InvalidInput("a JSON body is required", fields={"body": "missing"}) from None
    document = _json_document(raw)
    if not isinstance(document, dict):
        raise InvalidInput("the body must be a JSON object", fields={"body": "expected an object"})
    _check_limits(document)
    return _validated(model, raw, strict=True)


def parse_query(model: type[M], params: dict[str, str]) -> M:
    """Validate query parameters (strings, converted by pydantic) against `model`."""
    return _validated(model, dict(params), strict=False)


def _json_document(raw: bytes) -> Any:
    try:
        return json.loads(raw, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError:
        raise InvalidInput("the body is nested too deeply",
                           fields={"body": f"nested deeper than {MAX_DEPTH} levels"}) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput("the body is not valid JSON", fields={"body": f"malformed JSON: {exc}"}) from exc


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number this API accepts")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text} is too large a number")
    return number


def _check_limits(document: dict) -> None:
    """Depth and number ranges, walked without recursion (a hostile body must not exhaust the stack)."""
    pending: list[tuple[Any, tuple[str, ...]]] = [(document, ())]
    while pending:
        value, path = pending.pop()
        if len(path) > MAX_DEPTH:
            raise InvalidInput("the body is nested too deeply",
                               fields={_dotted(path[:MAX_DEPTH + 1]): f"nested deeper than {MAX_DEPTH} levels"})
        if isinstance(value, dict):
            pending.extend((item, (*path, str(name))) for name, item in value.items())
        elif isinstance(value, list):
            pending.extend((item, (*path, str(index))) for index, item in enumerate(value))
        elif isinstance(value, int) and not isinstance(value, bool):
            problem = _integer_problem(value, path)
            if problem:
                raise InvalidInput("some fields are missing or invalid", fields={_dotted(path): problem})


def _integer_problem(value: int, path: tuple[str, ...]) -> str | None:
    money = any(part.endswith(MONEY_SUFFIX) for part in path)
    low = 0 if money else -MAX_INTEGER
    if not low <= value <= MAX_INTEGER:
        return f"must be between {low} and 10^15"
    return None


def _validated(model: type[M], document: dict | bytes, strict: bool) -> M:
    from pydantic import ValidationError

    try:
        if isinstance(document, bytes):
            return model.model_validate_json(document, strict=strict)
        return model.model_validate(document, strict=strict)
    except ValidationError as exc:
        raise InvalidInput("some fields are missing or invalid", fields=_fields(exc)) from exc


def _fields(exc) -> dict[str, str]:
    return {_dotted(tuple(str(part) for part in error["loc"])) or "body": error["msg"] for error in exc.errors()}


def _dotted(path: tuple[str, ...]) -> str:
    return ".".join(path)
