"""A small HTTP client for the demo: the API as a client sees it, with a token per caller."""

from dataclasses import dataclass, field
from datetime import datetime

import requests

from devstack.keys import DevKeys


class UnexpectedAnswer(RuntimeError):
    """The API answered a status the scenario did not expect."""


@dataclass
class Api:
    """`api.call("POST", "/rides", ("rider", "r-1"), body, expect=201)` -> the JSON answer."""

    base: str
    keys: DevKeys = field(default_factory=DevKeys)
    session: requests.Session = field(default_factory=requests.Session)
    calls: int = 0
    _tokens: dict[tuple[str, str, bool], str] = field(default_factory=dict)

    def call(self, method: str, path: str, who: tuple[str, str] | None = None, body: dict | None = None,
             expect: int | tuple[int, ...] = 200, headers: dict[str, str] | None = None,
             approver: bool = False) -> dict:
        sent = dict(headers or {})
        if who:
            sent["Authorization"] = f"Bearer {self._token(*who, approver)}"
        answer = self.session.request(method, f"{self.base}{path}", json=body, headers=sent, timeout=60)
        self.calls += 1
        expected = (expect,) if isinstance(expect, int) else expect
        if answer.status_code not in expected:
            raise UnexpectedAnswer(f"{method} {path} -> {answer.status_code} (expected {expected}): "
                                   f"{answer.text[:500]}")
        return answer.json() if answer.headers.get("Content-Type", "").startswith("application/json") else {
            "text": answer.text}

    def travel_to(self, moment: datetime) -> None:
        """Stop the local stack's clock at `moment` (PUT /dev/clock, local stage only)."""
        self.call("PUT", "/dev/clock", ADMIN, {"now": moment.isoformat().replace("+00:00", "Z")})

    def run_job(self, name: str) -> dict:
        return self.call("POST", f"/jobs/{name}/run", ADMIN)["summary"]

    def _token(self, role: str, sub: str, approver: bool) -> str:
        key = (role, sub, approver)
        if key not in self._tokens:
            self._tokens[key] = self.keys.token(role, sub, approver=approver, ttl_s=6 * 3600)
        return self._tokens[key]


ADMIN = ("admin", "ops-1")
APPROVER = ("admin", "council-approver")
AUDITOR = ("auditor", "drivers-council")
