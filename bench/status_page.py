"""The public status page under load: latency of `GET /status`, `GET /status.html` and
`GET /status/feed.atom` on the real local stack.

Starts `python -m devstack run` (what `make run` starts) on free ports, registers COMPONENTS heartbeat
components, declares INCIDENTS incidents and resolves some, then has 1 and CLIENTS concurrent clients
(one thread and one HTTP session each) fetch the public routes, and prints p50/p95/max latency and throughput.
The stack's scheduler keeps running the detector every minute meanwhile, as it does in production.
"""

import statistics
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

from devstack.keys import DevKeys
from devstack.launcher import local_stack

COMPONENTS = 20
INCIDENTS = 6
RESOLVED = 4
CLIENTS = 8
REQUESTS_PER_CLIENT = 25
WARM_UP = 5
ROUTES = ("/status", "/status.html", "/status/feed.atom")


@dataclass(frozen=True)
class Row:
    route: str
    clients: int
    latencies_s: tuple[float, ...]
    wall_s: float

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies_s)
        return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def seed(base: str) -> None:
    """COMPONENTS components, INCIDENTS incidents declared by hand, RESOLVED of them resolved, one detector run."""
    admin = {"Authorization": f"Bearer {DevKeys().token('admin', 'bench-ops')}"}
    with requests.Session() as http:
        for number in range(COMPONENTS):
            answer = http.post(f"{base}/components", headers=admin, timeout=30,
                               json={"name": f"bench-{number:02d}", "heartbeat_timeout_s": 86_400})
            answer.raise_for_status()
        started = datetime.now(UTC) - timedelta(hours=INCIDENTS + 1)
        for number in range(INCIDENTS):
            answer = http.post(f"{base}/incidents", headers=admin, timeout=30, json={
                "components": [f"bench-{number:02d}", f"bench-{number + 1:02d}"],
                "started_at": (started + timedelta(hours=number)).isoformat(),
                "summary": f"bench incident {number}: the component stopped answering"})
            answer.raise_for_status()
            if number < RESOLVED:
                http.post(f"{base}/incidents/{answer.json()['incident_id']}/resolve", headers=admin,
                          timeout=30).raise_for_status()
        http.post(f"{base}/jobs/detect-outages/run", headers=admin, timeout=60).raise_for_status()


def fetch(base: str, route: str, clients: int, per_client: int) -> Row:
    """`clients` threads each GET `route` `per_client` times; every answer must be a 200."""
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()

    def client() -> None:
        with requests.Session() as http:
            for _ in range(per_client):
                started = time.perf_counter()
                answer = http.get(f"{base}{route}", timeout=60)
                took = time.perf_counter() - started
                with lock:
                    latencies.append(took)
                    if answer.status_code != 200:
                        failures.append(f"{answer.status_code}: {answer.text[:200]}")

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise AssertionError(f"{route}: {len(failures)} answers were not 200, e.g. {failures[0]}")
    return Row(route, clients, tuple(latencies), time.perf_counter() - started)


def run() -> list[Row]:
    with tempfile.TemporaryDirectory() as folder, local_stack(Path(folder) / "stack.log") as stack:
        base = stack["base"]
        seed(base)
        fetch(base, "/status", 1, WARM_UP)
        return [fetch(base, route, clients, REQUESTS_PER_CLIENT)
                for route in ROUTES for clients in (1, CLIENTS)]


def main() -> None:
    started = time.perf_counter()
    rows = run()
    print(f"Public status page latency (real local stack; {COMPONENTS} components, {INCIDENTS} incidents of which "
          f"{RESOLVED} resolved; {REQUESTS_PER_CLIENT} requests per client)")
    print(f"{'route':<18}{'clients':>8}{'requests':>10}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'req/s':>8}")
    for row in rows:
        print(f"{row.route:<18}{row.clients:>8}{len(row.latencies_s):>10}"
              f"{statistics.median(row.latencies_s) * 1000:>9.0f}{row.percentile(0.95) * 1000:>9.0f}"
              f"{max(row.latencies_s) * 1000:>9.0f}{len(row.latencies_s) / row.wall_s:>8.1f}")
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
