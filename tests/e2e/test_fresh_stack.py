"""A freshly started stack takes a burst of concurrent first requests: every domain's service is imported by
whichever request reaches it first while the others wait for the import to finish, never a half-loaded module.

This module starts its own stack (the `stack` fixture is per module), and this is its first test, so no
service module has been imported in the stack's process before the burst.
"""

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest
import requests

from tests.e2e.conftest import bearer

pytestmark = pytest.mark.e2e

SEOUL_CITY_HALL = {"lat": 37.5663, "lng": 126.9779}
GANGNAM = {"lat": 37.4979, "lng": 127.0276}
# One request per route family, each touching a different lazily imported service module.
FIRST_REQUESTS = [
    ("post", "/rides", ("rider", "burst-rider"), {"service": "taxi", "pickup": SEOUL_CITY_HALL, "dropoff": GANGNAM}),
    ("get", "/drivers/me/offers", ("driver", "burst-driver"), None),
    ("get", "/notices", ("driver", "burst-driver"), None),
    ("get", "/inquiries", ("driver", "burst-driver"), None),
    ("get", "/status", None, None),
    ("get", "/incidents", ("admin", "ops-1"), None),
    ("get", "/programs/prg_unknown", ("admin", "ops-1"), None),
    ("get", "/payouts/rnd_unknown", ("admin", "ops-1"), None),
    ("get", "/audit", ("admin", "ops-1"), None),
    ("get", "/me/wallet", ("rider", "burst-rider"), None),
]
COPIES = 6  # 60 requests released at once


def test_a_burst_of_first_requests_to_a_fresh_stack_gets_no_5xx(stack):
    requests_to_send = FIRST_REQUESTS * COPIES
    headers = {who: bearer(*who) for _, _, who, _ in FIRST_REQUESTS if who}
    start_together = Barrier(len(requests_to_send))

    def send(request) -> str:
        method, path, who, body = request
        start_together.wait()
        try:
            answer = requests.request(method, f"{stack['base']}{path}", json=body, timeout=60,
                                      headers=headers.get(who, {}))
        except requests.ConnectionError as exc:
            return f"dropped: {type(exc).__name__}"
        return f"{answer.status_code} {method.upper()} {path}"

    with ThreadPoolExecutor(max_workers=len(requests_to_send)) as pool:
        outcomes = Counter(pool.map(send, requests_to_send))
    print(f"\nburst of {len(requests_to_send)} first requests: {dict(sorted(outcomes.items()))}")
    failures = {outcome: n for outcome, n in outcomes.items() if outcome.startswith(("5", "dropped"))}
    assert failures == {}
    assert outcomes["201 POST /rides"] == COPIES
    assert outcomes["404 GET /programs/prg_unknown"] == COPIES
