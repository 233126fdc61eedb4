"""The error model: one exception class per HTTP outcome, and the body of API.md.

Services raise these (or subclasses named in their domain's words); `core.api` turns them
into responses by class, never by message text.
"""

from typing import Any


class AppError(Exception):
    """A failure a client can act on. `status` and `code` decide the response."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, fields: dict[str, str] | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields
        if code:
            self.code = code

    def headers(self) -> dict[str, str]:
        """Headers the answer carries besides its content type."""
        return {}

    def body(self) -> dict[str, Any]:
        """The error body of API.md: `{"error": {"code", "message", "fields"?}}`."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.fields:
            error["fields"] = self.fields
        return {"error": error}


class InvalidInput(AppError):
    """Malformed or invalid input; `fields` names each field at fault."""

    status = 400
    code = "invalid_input"


class Unauthenticated(AppError):
    """No token, or a token that is forged, expired or meant for someone else."""

    status = 401
    code = "unauthorized"


class Forbidden(AppError):
    """A valid token whose role or identity may not do this."""

    status = 403
    code = "forbidden"


class NotFound(AppError):
    """An unknown id, or one the caller may not see."""

    status = 404
    code = "not_found"


class Conflict(AppError):
    """The action does not fit the current state, or repeats something unique."""

    status = 409
    code = "conflict"


class PayloadTooLarge(AppError):
    """A request body over the API's size limit."""

    status = 413
    code = "payload_too_large"


class TooManyRequests(AppError):
    """A caller past its cap on a queue people answer by hand; `retry_after_s` says when to come back."""

    status = 429
    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after_s: int):
        super().__init__(message)
        self.retry_after_s = max(1, int(retry_after_s))

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_s)}


def invalid_field(field: str, problem: str) -> InvalidInput:
    """A 400 for one field, for checks that pydantic cannot express."""
    return InvalidInput(f"{field}: {problem}", fields={field: problem})
