"""A component breaks and recovers; the detector opens and resolves its incident, over HTTP against the real
local stack (the stack's clock is the system clock, and the probe target is a server in this test process)."""

import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from tests.e2e.conftest import bearer

pytestmark = pytest.mark.e2e

ADMIN = bearer("admin", "e2e-ops")


class Target:
    """An HTTP server on 127.0.0.1 that answers 200 while `healthy`, else 500."""

    def __init__(self):
        self.healthy = True
        self.hits = 0
        target = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                target.hits += 1
                status = 200 if target.healthy else 500
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format, *args):  # noqa: A002 - http.server's name
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def target():
    server = Target()
    yield server
    server.close()


def detect(base: str) -> dict:
    response = requests.post(f"{base}/jobs/detect-outages/run", headers=ADMIN, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["summary"]


def public_status(base: str) -> dict:
    response = requests.get(f"{base}/status", timeout=10)  # no token: the status is public
    assert response.status_code == 200, response.text
    assert "public" in response.headers["Cache-Control"]
    return response.json()


def parse(moment: str) -> datetime:
    return datetime.fromisoformat(moment.replace("Z", "+00:00"))


def test_a_broken_component_opens_an_incident_on_the_status_page_and_fixing_it_resolves_it(stack, target):
    base, name = stack["base"], "e2e-billing"
    registered = requests.post(f"{base}/components", headers=ADMIN, timeout=10,
                               json={"name": name, "probe_url": target.url})
    assert registered.status_code == 201, registered.text
    assert detect(base)["failing"] == []
    assert {c["name"]: c["state"] for c in public_status(base)["components"]}[name] == "up"

    target.healthy = False
    before_first_failure = datetime.now().astimezone()
    runs = [detect(base) for _ in range(3)]
    assert all(name in run["failing"] for run in runs)
    assert runs[2]["opened"], runs
    status = public_status(base)
    assert {c["name"]: c["state"] for c in status["components"]}[name] == "down"
    (incident,) = [i for i in status["open_incidents"] if name in i["components"]]
    assert incident["state"] == "open"
    assert incident["incident_id"] in runs[2]["opened"]
    started, detected = parse(incident["started_at"]), parse(incident["detected_at"])
    assert before_first_failure.replace(microsecond=0) <= started < detected <= datetime.now().astimezone()

    target.healthy = True
    runs = [detect(base) for _ in range(3)]
    assert all(name not in run["failing"] for run in runs)
    assert incident["incident_id"] in runs[2]["resolved"]
    status = public_status(base)
    assert {c["name"]: c["state"] for c in status["components"]}[name] == "up"
    assert status["open_incidents"] == []
    (resolved,) = [i for i in status["recent_incidents"] if i["incident_id"] == incident["incident_id"]]
    assert resolved["state"] == "resolved"
    assert started < parse(resolved["resolved_at"]) <= datetime.now().astimezone()
    assert abs(resolved["duration_s"] - (parse(resolved["resolved_at"]) - started).total_seconds()) <= 1
    assert target.hits >= 7

    page = requests.get(f"{base}/status.html", timeout=10)
    assert page.status_code == 200
    assert name in page.text
