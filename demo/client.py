"""A small HTTP client for the demo: the API as a client sees it, with a token per caller, and calls in parallel.

The local stack is one process, so parallel calls win little on its side; they keep the stack busy while
this process builds, sends and reads requests, which is where a serial replay loses its time.
"""

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import requests

from devstack.keys import DevKeys

WORKERS = 6
BUSY = "try again"      # the words of a 409 that says many writes met at once: the call is repeated
BUSY_RETRIES = 5


class UnexpectedAnswer(RuntimeError):
    """The API answered a status the scenario did not expect."""


@dataclass
class Api:
    """`api.call("POST", "/rides", ("rider", "r-1"), body, expect=201)` -> the JSON answer."""

    base: str
    keys: DevKeys = field(default_factory=DevKeys)
    calls: int = 0
    _tokens: dict[tuple[str, str, bool], str] = field(default_factory=dict)
    _local: threading.local = field(default_factory=threading.local)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _pool: ThreadPoolExecutor | None = None
    _stopped_at: datetime | None = None

    def call(self, method: str, path: str, who: tuple[str, str] | None = None, body: dict | None = None,
             expect: int | tuple[int, ...] = 200, headers: dict[str, str] | None = None,
             approver: bool = False) -> dict:
        sent = dict(headers or {})
        if who:
            sent["Authorization"] = f"Bearer {self._token(*who, approver)}"
        expected = (expect,) if isinstance(expect, int) else expect
        for attempt in range(BUSY_RETRIES + 1):
            answer = self._session().request(method, f"{self.base}{path}", json=body, headers=sent, timeout=60)
            with self._lock:
                self.calls += 1
            if answer.status_code != 409 or 409 in expected or BUSY not in answer.text or attempt == BUSY_RETRIES:
                break
            time.sleep(0.05 * (attempt + 1))
        if answer.status_code not in expected:
            raise UnexpectedAnswer(f"{method} {path} -> {answer.status_code} (expected {expected}): "
                                   f"{answer.text[:500]}")
        if answer.headers.get("Content-Type", "").startswith("application/json"):
            return answer.json()
        return {"text": answer.text}

    def each(self, work: Callable[[Any], Any], items: Iterable[Any], done: Callable[[], None] | None = None) -> list:
        """`work(item)` for every item, several at a time; the answers in the items' order."""
        pool = self._pool or ThreadPoolExecutor(WORKERS, thread_name_prefix="demo")
        self._pool = pool
        futures = [pool.submit(work, item) for item in items]
        answers = []
        for future in futures:
            answers.append(future.result())
            if done:
                done()
        return answers

    def travel_to(self, moment: datetime) -> None:
        """Stop the local stack's clock at `moment` (PUT /dev/clock, local stage only); a no-op if it is there."""
        if moment != self._stopped_at:
            self.call("PUT", "/dev/clock", ADMIN, {"now": moment.isoformat().replace("+00:00", "Z")})
            self._stopped_at = moment

    def resume_clock(self) -> None:
        self.call("PUT", "/dev/clock", ADMIN, {"now": None})
        self._stopped_at = None

    def run_job(self, name: str) -> dict:
        return self.call("POST", f"/jobs/{name}/run", ADMIN)["summary"]

    def close(self) -> None:
        if self._pool:
            self._pool.shutdown()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def _token(self, role: str, sub: str, approver: bool) -> str:
        key = (role, sub, approver)
        if key not in self._tokens:
            self._tokens[key] = self.keys.token(role, sub, approver=approver, ttl_s=6 * 3600)
        return self._tokens[key]


ADMIN = ("admin", "ops-1")
APPROVER = ("admin", "council-approver")
AUDITOR = ("auditor", "drivers-council")
