"""Admin actions in the audit log, as the API wrapper sees them: what was done, and what was refused.

Every change an admin makes is recorded with its target (the id in the path, or the id it created) and
what was asked (a review's decision and amount, say). A refused attempt is recorded too, with the reason:
a creator trying to approve their own round is exactly what an auditor wants to see.
"""

from dataclasses import dataclass
from typing import Any

from chalicelib.core.auth import Caller
from chalicelib.core.errors import AppError
from chalicelib.core.lazy import lazy_module
from chalicelib.core.observability import logger

audit = lazy_module("chalicelib.core.audit")  # PynamoDB: loaded with the first audited action
ADMIN_ONLY = frozenset({"admin"})
AUDITED_TEXT = 500  # characters of each text field kept in the audit log


@dataclass
class AuditedAction:
    """A change an admin makes, or anyone attempts on an admin-only route: written to the audit log, done or refused."""

    caller: Caller | None
    name: str
    path_params: dict[str, str]
    body: Any = None

    @classmethod
    def of(cls, caller: Caller | None, roles: frozenset[str] | None, method: str, path: str,
           path_params: dict[str, str]) -> "AuditedAction | None":
        """The action to audit for this request, or None (public routes, non-admins on their own routes, and
        reads, except an auditor's: what the council and regulators looked at is on the record too)."""
        if caller is None or (method == "GET" and caller.role != "auditor"):
            return None
        if not (caller.role in ("admin", "auditor") or roles == ADMIN_ONLY):
            return None
        return cls(caller, f"{method} {path}", path_params)

    def done(self, answer: Any) -> None:
        """Record the action with the id it names or created, and what was asked (e.g. a review's decision)."""
        ids = answer.items() if isinstance(answer, dict) else ()
        created = next((f"{name}={value}" for name, value in ids if name.endswith("_id")), "")
        audit.record_action(self.caller.sub, self.caller.role, self.name, target=_target(self.path_params) or created,
                            detail={"outcome": "done", **self._asked()})

    def refused(self, exc: AppError) -> None:
        """Record who tried what and why it was refused; never turns the refusal into another error."""
        try:
            audit.record_action(self.caller.sub, self.caller.role, self.name, target=_target(self.path_params),
                                detail={"outcome": "refused", "status": exc.status, "code": exc.code,
                                        "reason": exc.message, **self._asked()})
        except Exception:
            logger.exception("could not audit a refused action", extra={"action": self.name})

    def _asked(self) -> dict[str, Any]:
        if self.body is None:
            return {}
        asked = self.body.model_dump(mode="json", exclude_none=True)
        return {"input": {k: v if not isinstance(v, str) else v[:AUDITED_TEXT] for k, v in asked.items()}}


def _target(path_params: dict[str, str]) -> str:
    return ",".join(f"{name}={value}" for name, value in sorted(path_params.items()))
