"""The outage detector, incidents and the public status page, through the HTTP API.

Probe targets are real HTTP servers on 127.0.0.1 (the `local` stage allows plain http there) whose answers
each test sets: healthy, failing, hanging, resetting, garbage or flapping. The detector job runs by hand
(`POST /jobs/detect-outages/run`), one run per minute of the frozen clock.
"""

import os
import socket
import struct
import threading
import time
from contextlib import suppress
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from chalicelib.core.clock import iso
from chalicelib.core.config import get_settings

ADMIN, SERVICE, DRIVER = ("admin", "ops-1"), ("service", "dispatcher-svc"), ("driver", "taxi-1")
SEOUL_CITY_HALL = {"lat": 37.5663, "lng": 126.9779}
GANGNAM = {"lat": 37.4979, "lng": 127.0276}
HANG_S = 10  # a hanging target answers after this long (or when the test ends), far past the 1 s probe timeout
TRICKLED_ANSWER, TRICKLE_GAP_S = b"HTTP/1.0 200 OK\r\n\r\n", 0.1  # 1.9 s in all, each byte well within 1 s


class Target:
    """A real HTTP server on 127.0.0.1 answering GETs as `mode` says: ok (200), fail (500), hang (no answer
    within the probe timeout), reset (closes the connection without an answer), garbage (bytes that are not
    HTTP), trickle (a 200, one byte every TRICKLE_GAP_S: each read is quick, the whole answer is not) or flap
    (200 and 500 by turns, starting with 200). `arrivals` are the monotonic times requests came in."""

    def __init__(self, mode: str = "ok"):
        self.mode = mode
        self.hits = 0
        self.arrivals: list[float] = []
        self._lock = threading.Lock()
        self._release = threading.Event()
        target = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                target.answer(self)

            def log_message(self, format, *args):  # noqa: A002 - http.server's name
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       name="probe-target", daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.hits += 1
            hit = self.hits
            self.arrivals.append(time.monotonic())
        mode = ("ok" if hit % 2 else "fail") if self.mode == "flap" else self.mode
        with suppress(OSError):
            if mode == "hang":
                self._release.wait(HANG_S)
                mode = "ok"
            if mode == "reset":
                handler.close_connection = True
                handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return
            if mode == "trickle":
                for byte in TRICKLED_ANSWER:
                    handler.wfile.write(bytes([byte]))
                    handler.wfile.flush()
                    time.sleep(TRICKLE_GAP_S)
                return
            if mode == "garbage":
                handler.close_connection = True
                handler.wfile.write(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
                return
            status = {"ok": 200, "fail": 500}[mode]
            body = b"ok" if status == 200 else b"broken"
            handler.send_response(status)
            handler.send_header("Content-Type", "text/plain")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)

    def close(self) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(autouse=True)
def quick_probes(aws, monkeypatch):
    """A 1 s probe timeout, so hanging targets keep the module fast."""
    monkeypatch.setenv("PROBE_TIMEOUT_S", "1")
    get_settings.cache_clear()
    assert get_settings().probe_timeout_s == 1
    yield
    get_settings.cache_clear()


@pytest.fixture
def target():
    """`target(mode)`: a started Target, shut down when the test ends."""
    started: list[Target] = []

    def start(mode: str = "ok") -> Target:
        started.append(Target(mode))
        return started[-1]

    yield start
    for server in started:
        server.close()


@pytest.fixture
def detect(job, frozen_clock):
    """`detect(n=1)` -> the summaries of n detector runs, one a minute (the clock moves a minute after each)."""

    def runs(n: int = 1) -> list[dict]:
        summaries = []
        for _ in range(n):
            summaries.append(job("detect-outages"))
            frozen_clock.advance(minutes=1)
        return summaries

    return runs


def register(api, name: str, **watch) -> dict:
    response = api("post", "/components", ADMIN, {"name": name, **watch})
    assert response.status_code == 201, response.body
    return response.json_body


def incidents(api) -> list[dict]:
    return api("get", "/incidents", ADMIN).json_body["items"]


def component_states(status: dict) -> dict[str, str]:
    return {c["name"]: c["state"] for c in status["components"]}


# --- the detector -----------------------------------------------------------------------------------------

def test_three_failed_checks_in_a_row_open_one_incident_and_three_healthy_checks_resolve_it(
        api, target, detect, frozen_clock):
    billing = target("fail")
    register(api, "billing", probe_url=billing.url)
    first_failure = frozen_clock.now()

    first, second, third = detect(3)
    assert [s["failing"] for s in (first, second, third)] == [["billing"]] * 3
    assert first["opened"] == second["opened"] == []
    (incident_id,) = third["opened"]
    assert [i["incident_id"] for i in incidents(api)] == [incident_id]

    incident = api("get", f"/incidents/{incident_id}", ADMIN).json_body
    assert incident["state"] == "open"
    assert incident["source"] == "detector"
    assert incident["components"] == ["billing"]
    assert incident["started_at"] == iso(first_failure) == "2022-10-15T06:33:00Z"
    assert incident["detected_at"] == iso(first_failure + timedelta(minutes=2))
    assert incident["resolved_at"] is None
    status = api("get", "/status").json_body
    assert component_states(status)["billing"] == "down"
    assert [(i["incident_id"], i["state"]) for i in status["open_incidents"]] == [(incident_id, "open")]

    billing.mode = "ok"
    first_healthy = frozen_clock.now()
    summaries = detect(3)
    assert [s["resolved"] for s in summaries] == [[], [], [incident_id]]
    assert billing.hits == 6

    resolved = api("get", f"/incidents/{incident_id}", ADMIN).json_body
    assert resolved["state"] == "resolved"
    assert resolved["resolved_at"] == iso(first_healthy) == "2022-10-15T06:36:00Z"
    assert resolved["duration_s"] == (first_healthy - first_failure).total_seconds() == 180
    assert resolved["component_windows"] == [
        {"name": "billing", "started_at": "2022-10-15T06:33:00Z", "recovered_at": "2022-10-15T06:36:00Z"}]
    assert [e["event"] for e in resolved["timeline"]] == ["detected", "component_recovered", "resolved"]
    status = api("get", "/status").json_body
    assert component_states(status)["billing"] == "up"
    assert status["open_incidents"] == []
    assert [i["incident_id"] for i in status["recent_incidents"]] == [incident_id]


def test_two_failures_then_a_success_open_nothing_and_neither_does_a_flapping_target(api, target, detect):
    # ten runs, one a minute: F = answers 500, o = answers 200; billing never fails three times in a row
    shaky = "FFoFFoFFoF"
    billing, flapping = target(), target("flap")
    register(api, "billing", probe_url=billing.url)
    register(api, "maps", probe_url=flapping.url)
    summaries = []
    for minute in range(10):
        billing.mode = "fail" if shaky[minute] == "F" else "ok"
        summaries.append(detect(1)[0])
    assert [sorted(s["failing"]) for s in summaries] == [
        ["billing"], ["billing", "maps"], [], ["billing", "maps"], ["billing"],
        ["maps"], ["billing"], ["billing", "maps"], [], ["billing", "maps"]]
    assert flapping.hits == 10
    assert all(s["opened"] == [] for s in summaries)
    assert incidents(api) == []
    assert component_states(api("get", "/status").json_body) == {"billing": "up", "maps": "up", "rides": "up"}


def test_a_hanging_target_a_reset_connection_and_a_garbage_answer_are_failed_checks_not_a_crashed_job(
        api, target, detect):
    register(api, "hanging", probe_url=target("hang").url)
    register(api, "resetting", probe_url=target("reset").url)
    register(api, "garbage", probe_url=target("garbage").url)  # bytes that are not HTTP (http.client.BadStatusLine)
    register(api, "healthy", probe_url=target("ok").url)
    summaries = detect(3)  # detect() checks that the job answered 200 each time
    assert [s["failing"] for s in summaries] == [["garbage", "hanging", "resetting"]] * 3
    assert all(s["checked"] == 5 for s in summaries)  # the four targets and the platform's own rides
    (incident,) = incidents(api)
    assert sorted(incident["components"]) == ["garbage", "hanging", "resetting"]
    assert component_states(api("get", "/status").json_body) == {
        "garbage": "down", "hanging": "down", "healthy": "up", "resetting": "down", "rides": "up"}


def test_a_probe_is_a_failed_check_when_the_whole_answer_takes_longer_than_the_timeout(api, target, detect):
    register(api, "slow", probe_url=target("trickle").url)
    started = time.monotonic()
    (summary,) = detect(1)
    took = time.monotonic() - started
    assert summary["failing"] == ["slow"], f"the run took {took:.1f} s against a 1 s probe timeout, yet healthy"


def test_two_overlapping_detector_runs_open_one_incident_listing_each_component_once(api, target, detect,
                                                                                    monkeypatch):
    billing, slow = target("fail"), target("ok")
    register(api, "billing", probe_url=billing.url)
    register(api, "slow", probe_url=slow.url)
    detect(2)
    slow.mode = "hang"  # each run now probes for the 1 s timeout between reading and saving: the two below overlap
    answers = []
    runs = [threading.Thread(target=lambda: answers.append(api("post", "/jobs/detect-outages/run", ADMIN)))
            for _ in range(2)]
    # chalice.test swaps os.environ for a dict during each request; two requests at once can leave the dict in
    # place, so have monkeypatch put the real environment back when the test ends
    monkeypatch.setattr(os, "environ", os.environ)
    for run in runs:
        run.start()
    for run in runs:
        run.join()
    assert [a.status_code for a in answers] == [200, 200]
    first, second = slow.arrivals[-2:]
    if second - first >= 1:  # each run reads the components before it probes and saves after: they overlapped
        pytest.skip("the two runs did not overlap")
    opened = [i for i in incidents(api) if i["state"] == "open"]
    assert [i["components"] for i in opened] == [["billing"]]


# --- heartbeats -------------------------------------------------------------------------------------------

def test_heartbeats_from_a_service_keep_a_component_up_and_an_incident_opens_when_they_stop(
        api, detect, frozen_clock):
    registered = register(api, "dispatcher", heartbeat_timeout_s=60)
    assert (registered["state"], registered["heartbeat_timeout_s"], registered["probe_url"]) == ("up", 60, None)
    unknown = api("post", "/heartbeats/no-such-thing", SERVICE)
    assert (unknown.status_code, unknown.json_body["error"]["code"]) == (404, "not_found")
    for who in (ADMIN, DRIVER, ("rider", "rider-1"), ("business", "biz-1")):
        assert api("post", "/heartbeats/dispatcher", who).status_code == 403, who
    assert api("post", "/heartbeats/dispatcher").status_code == 401

    for _ in range(2):
        beat = api("post", "/heartbeats/dispatcher", SERVICE)
        assert beat.status_code == 200, beat.body
        assert beat.json_body == {"component": "dispatcher", "received_at": iso(frozen_clock.now())}
        assert detect(1)[0]["failing"] == []
    last_beat = frozen_clock.now() - timedelta(minutes=1)

    # silence: 60 s after the last beat is still within the timeout, 120 s is not
    summaries = detect(4)
    assert [s["failing"] for s in summaries] == [[], ["dispatcher"], ["dispatcher"], ["dispatcher"]]
    (incident_id,) = summaries[-1]["opened"]
    incident = api("get", f"/incidents/{incident_id}", ADMIN).json_body
    assert incident["components"] == ["dispatcher"]
    assert incident["started_at"] == iso(last_beat + timedelta(minutes=2))
    assert component_states(api("get", "/status").json_body)["dispatcher"] == "down"


# --- the platform's own ride traffic ----------------------------------------------------------------------

def request_rides(api, count: int, first: int) -> None:
    for n in range(first, first + count):
        trip = {"service": "taxi", "pickup": SEOUL_CITY_HALL, "dropoff": GANGNAM}
        created = api("post", "/rides", ("rider", f"rider-{n}"), trip)
        assert created.status_code == 201, created.body
        assert created.json_body["status"] == "searching"  # no driver is online


def test_many_expired_rides_make_the_rides_component_fail_and_open_an_incident(api, job, detect, frozen_clock):
    """Four rides a minute, none dispatched; each expires 3 minutes after it was requested. Requests count in the
    minute they are made and expiries in the minute they happen, so the 5-minute window holds 20 requests from
    06:37 on, and 8, 12, 16, 20 expiries at 06:37 .. 06:40: failing from 06:38 (12/20 > 50%), open at 06:40."""
    started = frozen_clock.now()
    failing, opened = [], []
    for minute in range(8):  # 06:33 .. 06:40
        request_rides(api, 4, first=4 * minute)
        if minute < 3:  # the first rides reach the end of their 3-minute search at 06:36
            frozen_clock.advance(minutes=1)
            continue
        assert job("expire-rides")["expired"] == 4
        summary = detect(1)[0]  # 06:36: 16 requests (too few to judge); 06:37: 8 of 20 failed; 06:38: 12 of 20
        failing.append(summary["failing"])
        opened.append(summary["opened"])
    assert failing == [[], []] + [["rides"]] * 3
    assert opened[:4] == [[]] * 4
    (incident_id,) = opened[4]
    incident = api("get", f"/incidents/{incident_id}", ADMIN).json_body
    assert incident["components"] == ["rides"]
    assert incident["started_at"] == iso(started + timedelta(minutes=5))
    assert incident["detected_at"] == iso(started + timedelta(minutes=7))
    assert component_states(api("get", "/status").json_body)["rides"] == "down"


def test_an_expired_ride_whose_request_left_the_window_does_not_crash_the_detector(api, job, frozen_clock):
    request_rides(api, 1, first=0)  # 06:33, a quiet night: one ride, nobody takes it, nobody else asks
    frozen_clock.advance(minutes=3)
    assert job("expire-rides")["expired"] == 1  # tallied at 06:36
    frozen_clock.advance(minutes=2)  # 06:38: the window (06:34-06:38) holds the expiry but not its request
    response = api("post", "/jobs/detect-outages/run", ADMIN)
    assert response.status_code == 200, response.body
    assert response.json_body["summary"]["failing"] == []


# --- one fire, one incident -------------------------------------------------------------------------------

def test_a_fire_is_one_incident_listing_every_component_each_with_its_own_recovery(api, target, detect):
    # minute by minute from 06:33: F = answers 500, o = answers 200
    schedule = {"pay-gateway": "FFFooooo", "map-tiles": "FFFFoooo", "push-gateway": "oFFFFooo"}
    targets = {name: target() for name in schedule}
    for name, server in targets.items():
        register(api, name, probe_url=server.url)
    summaries = []
    for minute in range(8):
        for name, server in targets.items():
            server.mode = "fail" if schedule[name][minute] == "F" else "ok"
        summaries.append(detect(1)[0])
        if minute in (1, 6):  # before the third failure; after all but push-gateway recovered
            listed = incidents(api)
            assert [i["state"] for i in listed] == ([] if minute == 1 else ["open"]), f"minute {minute}: {listed}"

    (incident,) = incidents(api)
    assert summaries[2]["opened"] == [incident["incident_id"]]
    assert [s["resolved"] for s in summaries] == [[]] * 7 + [[incident["incident_id"]]]
    assert incident["state"] == "resolved"
    assert sorted(incident["components"]) == sorted(schedule)
    windows = {w["name"]: (w["started_at"], w["recovered_at"]) for w in incident["component_windows"]}
    assert windows == {"pay-gateway": ("2022-10-15T06:33:00Z", "2022-10-15T06:36:00Z"),
                       "map-tiles": ("2022-10-15T06:33:00Z", "2022-10-15T06:37:00Z"),
                       "push-gateway": ("2022-10-15T06:34:00Z", "2022-10-15T06:38:00Z")}
    assert incident["started_at"] == "2022-10-15T06:33:00Z"
    assert incident["resolved_at"] == "2022-10-15T06:38:00Z"  # the last component to recover
    assert incident["duration_s"] == 300
    events = [(e["event"], e["component"]) for e in incident["timeline"]]
    assert events[0] == ("detected", None)
    assert ("component_added", "push-gateway") in events
    assert events[-4:] == [("component_recovered", "pay-gateway"), ("component_recovered", "map-tiles"),
                           ("component_recovered", "push-gateway"), ("resolved", None)]


# --- telling people ---------------------------------------------------------------------------------------

def test_opening_and_resolving_are_published_and_drivers_read_a_notice(api, target, detect, inbox):
    assert api("put", "/drivers/me", DRIVER, {"name": "Kim", "services": ["taxi"]}).status_code == 200
    billing = target("fail")
    register(api, "billing", probe_url=billing.url)
    inbox()  # nothing but what opening sends from here on
    (incident_id,) = detect(3)[-1]["opened"]

    sent = inbox()
    (opened,) = [m for m in sent if m["kind"] == "incident_opened"]
    assert (opened["incident_id"], opened["components"], opened["started_at"]) == (
        incident_id, ["billing"], "2022-10-15T06:33:00Z")
    assert opened["attributes"]["kind"] == "incident_opened"
    assert [m["title"] for m in sent if m["kind"] == "notice"] == ["Service disruption"]
    notices = api("get", "/notices", DRIVER).json_body["items"]
    assert [n["title"] for n in notices] == ["Service disruption"]
    assert "billing" in notices[0]["body"]
    assert "2022-10-15T06:33:00Z" in notices[0]["body"]

    billing.mode = "ok"
    detect(3)
    sent = inbox()
    (resolved,) = [m for m in sent if m["kind"] == "incident_resolved"]
    assert (resolved["incident_id"], resolved["resolved_at"]) == (incident_id, "2022-10-15T06:36:00Z")
    assert [m["title"] for m in sent if m["kind"] == "notice"] == ["Service restored"]
    assert [n["title"] for n in api("get", "/notices", DRIVER).json_body["items"]] == [
        "Service restored", "Service disruption"]


# --- incidents by hand ------------------------------------------------------------------------------------

def test_an_admin_declares_an_incident_by_hand_for_known_components_and_resolves_it(api, frozen_clock, inbox):
    register(api, "billing", heartbeat_timeout_s=600)
    register(api, "maps", heartbeat_timeout_s=600)
    now, future = iso(frozen_clock.now()), iso(frozen_clock.now() + timedelta(hours=1))
    unknown = api("post", "/incidents", ADMIN, {"components": ["billing", "teleporter"], "started_at": now,
                                                "summary": "x"})
    assert unknown.status_code == 400
    assert "teleporter" in unknown.json_body["error"]["fields"]["components"]
    assert "started_at" in api("post", "/incidents", ADMIN, {"components": ["billing"], "started_at": future,
                                                             "summary": "x"}).json_body["error"]["fields"]
    assert api("post", "/incidents", ADMIN, {"components": [], "started_at": now, "summary": "x"}).status_code == 400
    for who in (DRIVER, SERVICE):
        assert api("post", "/incidents", who, {"components": ["billing"], "started_at": now,
                                               "summary": "x"}).status_code == 403
        assert api("get", "/incidents", who).status_code == 403
    assert incidents(api) == []

    fire = iso(frozen_clock.now() - timedelta(minutes=20))
    declared = api("post", "/incidents", ADMIN, {"components": ["maps", "billing"], "started_at": fire,
                                                 "summary": "Power cut at the Pangyo data centre"})
    assert declared.status_code == 201, declared.body
    incident = declared.json_body
    assert (incident["state"], incident["source"], incident["started_at"]) == ("open", "declared", fire)
    assert incident["detected_at"] == iso(frozen_clock.now())
    assert incident["components"] == ["billing", "maps"]
    assert incident["duration_s"] == 20 * 60
    assert api("get", f"/incidents/{incident['incident_id']}", ADMIN).json_body["state"] == "open"
    assert [m["kind"] for m in inbox() if m["kind"].startswith("incident")] == ["incident_opened"]

    frozen_clock.advance(minutes=10)
    resolved = api("post", f"/incidents/{incident['incident_id']}/resolve", ADMIN)
    assert resolved.status_code == 200, resolved.body
    assert (resolved.json_body["resolved_at"], resolved.json_body["duration_s"]) == (iso(frozen_clock.now()), 1800)
    assert [m["kind"] for m in inbox() if m["kind"].startswith("incident")] == ["incident_resolved"]
    assert api("post", f"/incidents/{incident['incident_id']}/resolve", ADMIN).status_code == 409


def test_an_admin_resolves_an_incident_by_hand_with_or_without_a_time(api, target, detect, frozen_clock, inbox):
    billing, maps = target("fail"), target("ok")
    register(api, "billing", probe_url=billing.url)
    register(api, "maps", probe_url=maps.url)
    (first_id,) = detect(3)[-1]["opened"]  # billing: 06:33 .. 06:35
    inbox()

    answer = api("post", f"/incidents/{first_id}/resolve", ADMIN)  # no body, at 06:36
    assert answer.status_code == 200, answer.body
    first = api("get", f"/incidents/{first_id}", ADMIN).json_body
    assert answer.json_body == first
    assert first["state"] == "resolved"
    assert first["resolved_at"] == iso(frozen_clock.now()) == "2022-10-15T06:36:00Z"
    assert first["duration_s"] == 180
    assert first["component_windows"][0]["recovered_at"] == "2022-10-15T06:36:00Z"
    assert first["timeline"][-1] == {"at": "2022-10-15T06:36:00Z", "event": "resolved", "component": None,
                                     "note": "resolved by ops-1", "status": "resolved", "message": None}
    assert [m["kind"] for m in inbox() if m["kind"].startswith("incident")] == ["incident_resolved"]
    assert api("post", f"/incidents/{first_id}/resolve", ADMIN).status_code == 409
    assert api("post", f"/incidents/{first_id}/resolve", ADMIN, {}).status_code == 409

    billing.mode, maps.mode = "ok", "fail"
    (second_id,) = detect(3)[-1]["opened"]  # maps: 06:36 .. 06:38; the first incident is closed, so a new one
    assert second_id != first_id
    now = frozen_clock.now()  # 06:39
    too_early, too_late = iso(now - timedelta(minutes=4)), iso(now + timedelta(minutes=1))
    for bad in (too_early, too_late, "2022-10-15T06:38:00"):  # before the start, in the future, no timezone
        refused = api("post", f"/incidents/{second_id}/resolve", ADMIN, {"resolved_at": bad})
        assert refused.status_code == 400, bad
        assert "resolved_at" in refused.json_body["error"]["fields"], bad
    assert api("get", f"/incidents/{second_id}", ADMIN).json_body["state"] == "open"
    answer = api("post", f"/incidents/{second_id}/resolve", ADMIN, {"resolved_at": "2022-10-15T06:38:00Z"})
    assert answer.status_code == 200, answer.body
    second = api("get", f"/incidents/{second_id}", ADMIN).json_body
    assert answer.json_body == second
    assert (second["state"], second["resolved_at"], second["duration_s"]) == ("resolved", "2022-10-15T06:38:00Z", 120)
    assert api("post", f"/incidents/{second_id}/resolve", ADMIN).status_code == 409

    assert api("post", "/incidents/inc_nope/resolve", ADMIN).status_code == 404
    assert api("get", "/incidents/inc_nope", ADMIN).status_code == 404
    assert api("post", f"/incidents/{second_id}/resolve", DRIVER).status_code == 403
    assert sorted(i["incident_id"] for i in incidents(api) if i["state"] == "resolved") == sorted([first_id, second_id])
    assert api("get", "/status").json_body["open_incidents"] == []


def test_a_failure_the_operator_declared_already_opens_no_second_incident(api, target, detect, frozen_clock):
    register(api, "billing", probe_url=target("fail").url)
    declared = api("post", "/incidents", ADMIN, {"components": ["billing"], "summary": "Fire at the data centre",
                                                 "started_at": iso(frozen_clock.now() - timedelta(minutes=5))})
    assert declared.status_code == 201, declared.body
    detect(3)
    opened = [i for i in incidents(api) if i["state"] == "open" and "billing" in i["components"]]
    assert [i["incident_id"] for i in opened] == [declared.json_body["incident_id"]]


# --- registering components -------------------------------------------------------------------------------

BAD_COMPONENTS = [
    ({"name": "metadata", "probe_url": "http://169.254.169.254/latest/meta-data"}, "probe_url"),
    ({"name": "metadata", "probe_url": "http://[fd00:ec2::254]/latest/meta-data"}, "probe_url"),
    ({"name": "metadata", "probe_url": "http://[::ffff:169.254.169.254]/"}, "probe_url"),
    ({"name": "metadata", "probe_url": "http://2852039166/"}, "probe_url"),
    ({"name": "files", "probe_url": "ftp://127.0.0.1/health"}, "probe_url"),
    ({"name": "files", "probe_url": "file:///etc/passwd"}, "probe_url"),
    ({"name": "nothing"}, "probe_url"),
    ({"name": "Billing", "heartbeat_timeout_s": 60}, "name"),
    ({"name": "bill ing", "heartbeat_timeout_s": 60}, "name"),
    ({"name": "billing", "heartbeat_timeout_s": 5}, "heartbeat_timeout_s"),
]


def test_a_bad_component_is_refused_naming_the_field_and_a_name_is_taken_once(api, target):
    for body, field in BAD_COMPONENTS:  # one moto stack for the whole table keeps the module fast
        response = api("post", "/components", ADMIN, body)
        assert response.status_code == 400, (body, response.body)
        assert field in response.json_body["error"]["fields"], (body, response.json_body)
    assert api("get", "/status").json_body["components"] == []

    url = target("ok").url
    register(api, "billing", probe_url=url)
    duplicate = api("post", "/components", ADMIN, {"name": "billing", "heartbeat_timeout_s": 60})
    assert duplicate.status_code == 409
    assert api("post", "/components", SERVICE, {"name": "maps", "probe_url": url}).status_code == 403
    assert api("post", "/components", None, {"name": "maps", "probe_url": url}).status_code == 401
    assert [c["name"] for c in api("get", "/status").json_body["components"]] == ["billing"]


# --- the public status page -------------------------------------------------------------------------------

def test_the_status_and_its_page_are_public_cacheable_and_name_no_rider_or_driver(api, target, detect):
    register(api, "billing", probe_url=target("ok").url)
    register(api, "maps", probe_url=target("fail").url)
    register(api, "dispatcher", heartbeat_timeout_s=600)
    assert api("put", "/drivers/me", ("driver", "drv-secret-7"), {"name": "Kim", "services": ["taxi"]}).status_code \
        == 200
    assert api("post", "/drivers/me/status", ("driver", "drv-secret-7"),
               {"status": "online", **SEOUL_CITY_HALL}).status_code == 200
    ride = api("post", "/rides", ("rider", "rdr-secret-3"),
               {"service": "taxi", "pickup": SEOUL_CITY_HALL, "dropoff": GANGNAM}).json_body
    assert ride["driver_id"] == "drv-secret-7"
    detect(3)

    status = api("get", "/status")
    assert status.status_code == 200
    assert "public" in status.headers["Cache-Control"]
    body = status.json_body
    assert component_states(body) == {"billing": "up", "dispatcher": "up", "maps": "down", "rides": "up"}
    assert body["status"] == "degraded"
    assert [i["components"] for i in body["open_incidents"]] == [["maps"]]
    assert "timeline" not in body["open_incidents"][0]

    page = api("get", "/status.html")
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "public" in page.headers["Cache-Control"]
    html = page.body.decode()
    for name in ("billing", "dispatcher", "maps", "rides"):
        assert name in html
    assert "일부 서비스에 장애가 있습니다" in html  # Korean unless the reader asks for English
    assert "maps stopped answering" in html
    english = api("get", "/status.html?lang=en").body.decode()
    assert "Some systems are down" in english
    for secret in ("drv-secret-7", "rdr-secret-3", ride["ride_id"], "ops-1"):
        assert secret not in html
        assert secret not in english
        assert secret not in status.body.decode()
