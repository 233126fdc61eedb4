"""Writers racing on one incident: the detector, operators resolving by hand and operators posting updates.

Each test stops a writer right after it read the incident and, at that moment, lets another writer change
it (as a second Lambda invocation would): the first writer's change must not undo the other's, and an incident
resolves once. A test races threads against a moto server that serves one request at a time; the last one
checks that the incident report finds an incident's programs by index, never by scanning every program.
Components are watched by heartbeat, so the detector (run by hand, one run per minute of the frozen clock)
needs no probe target: a component that never beats fails once its timeout has passed.
"""

from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from threading import Event

import botocore.client
import pytest

from chalicelib.core.auth import Caller
from chalicelib.core.clock import iso

ADMIN, SERVICE = ("admin", "ops-1"), ("service", "dispatch-svc")
OTHER_ADMIN = Caller("ops-2", "admin")


@pytest.fixture
def detect(job, frozen_clock):
    """`detect(n)`: n detector runs, the clock a minute later before each; the summaries."""

    def runs(n: int) -> list[dict]:
        summaries = []
        for _ in range(n):
            frozen_clock.advance(minutes=1)
            summaries.append(job("detect-outages"))
        return summaries

    return runs


@pytest.fixture
def after_reading(monkeypatch):
    """`after_reading(read, meanwhile)`: the next time the app reads an incident through `read` ("get": by id,
    "open": the open ones), `meanwhile()` runs right after the read, before the reader writes anything."""
    from chalicelib.outages.models import Incident

    def arm(read: str, meanwhile: Callable[[], None]) -> None:
        armed = [True]

        def then(answer):
            if armed[0]:
                armed[0] = False
                meanwhile()
            return answer

        if read == "get":
            get = Incident.get
            monkeypatch.setattr(Incident, "get", classmethod(lambda cls, *args, **kwargs: then(get(*args, **kwargs))))
        else:
            query = Incident.by_state.query
            monkeypatch.setattr(Incident.by_state, "query", lambda *args, **kwargs: then(list(query(*args, **kwargs))))

    return arm


def register(api, name: str, timeout_s: int = 60) -> None:
    answer = api("post", "/components", ADMIN, {"name": name, "heartbeat_timeout_s": timeout_s})
    assert answer.status_code == 201, answer.body


def beat(api, name: str) -> None:
    assert api("post", f"/heartbeats/{name}", SERVICE).status_code == 200


def incident(api, incident_id: str) -> dict:
    answer = api("get", f"/incidents/{incident_id}", ADMIN)
    assert answer.status_code == 200, answer.body
    return answer.json_body


def events(found: dict) -> list[tuple[str, str | None]]:
    return [(e["event"], e["component"] or e["message"] or e["note"]) for e in found["timeline"]]


def resolutions(sent: list[dict]) -> list[str]:
    return [m["incident_id"] for m in sent if m["kind"] == "incident_resolved"]


def detector_incident(api, detect, name: str = "dispatcher") -> str:
    """An incident the detector opened for `name` (never beating: fine for 60 s, then three failures)."""
    register(api, name)
    (*_, last) = detect(4)
    (opened,) = last["opened"]
    return opened


def two_healthy_checks(api, detect, name: str = "dispatcher") -> None:
    """`name` beats again: the third healthy check in a row (the next run after these) resolves its incident."""
    for _ in range(2):
        beat(api, name)
        assert detect(1)[0]["resolved"] == []
    beat(api, name)


# --- the detector resolving while operators act ------------------------------------------------------------

def test_an_update_posted_while_the_detector_resolves_the_incident_is_kept(api, detect, frozen_clock,
                                                                           after_reading):
    from chalicelib.outages import service
    from chalicelib.outages.schemas import UpdateIn

    incident_id = detector_incident(api, detect)
    two_healthy_checks(api, detect)
    after_reading("get", lambda: service.post_update(OTHER_ADMIN, incident_id, UpdateIn(
        status="monitoring", message="Dispatch answers again; we are watching it"), frozen_clock.now()))

    (summary,) = detect(1)

    assert summary["resolved"] == [incident_id]
    found = incident(api, incident_id)
    assert found["state"] == "resolved"
    assert events(found) == [("detected", None), ("update", "Dispatch answers again; we are watching it"),
                             ("component_recovered", "dispatcher"), ("resolved", "recovered")]
    assert api("get", "/status").json_body["recent_incidents"][0]["state"] == "resolved"


def test_an_operator_resolving_while_the_detector_resolves_gives_one_resolution(api, detect, frozen_clock, inbox,
                                                                                after_reading):
    from chalicelib.outages import service
    from chalicelib.outages.schemas import ResolveIn

    incident_id = detector_incident(api, detect)
    two_healthy_checks(api, detect)
    inbox()
    by_hand = frozen_clock.now() + timedelta(minutes=1)
    after_reading("get", lambda: service.resolve_incident(OTHER_ADMIN, incident_id, ResolveIn(), by_hand))

    (summary,) = detect(1)

    assert summary["resolved"] == []  # the operator's resolution came first
    found = incident(api, incident_id)
    assert (found["state"], found["resolved_at"]) == ("resolved", iso(by_hand))
    assert [e for e in events(found) if e[0] == "resolved"] == [("resolved", "resolved by ops-2")]
    assert resolutions(inbox()) == [incident_id]  # drivers and the topic hear of it once
    assert api("get", "/status").json_body["open_incidents"] == []


# --- operators resolving at once ---------------------------------------------------------------------------

def test_of_two_operators_resolving_at_once_the_second_gets_409_and_the_first_resolution_stands(
        api, frozen_clock, inbox, after_reading):
    from chalicelib.outages import service
    from chalicelib.outages.schemas import ResolveIn

    register(api, "dispatcher", timeout_s=3600)
    started = iso(frozen_clock.now() - timedelta(minutes=10))
    declared = api("post", "/incidents", ADMIN, {"components": ["dispatcher"], "started_at": started,
                                                 "summary": "dispatch is down"}).json_body["incident_id"]
    inbox()
    first_at = frozen_clock.now() - timedelta(minutes=2)
    after_reading("get", lambda: service.resolve_incident(OTHER_ADMIN, declared, ResolveIn(resolved_at=first_at),
                                                          frozen_clock.now()))

    second = api("post", f"/incidents/{declared}/resolve", ADMIN)

    assert (second.status_code, second.json_body["error"]["code"]) == (409, "conflict"), second.body
    found = incident(api, declared)
    assert (found["state"], found["resolved_at"]) == ("resolved", iso(first_at))
    assert found["component_windows"][0]["recovered_at"] == iso(first_at)
    assert [e for e in events(found) if e[0] == "resolved"] == [("resolved", "resolved by ops-2")]
    assert resolutions(inbox()) == [declared]
    assert api("get", "/status").json_body["open_incidents"] == []


def test_a_resolved_update_that_lost_to_a_resolution_is_kept_as_a_follow_up(api, frozen_clock, inbox,
                                                                            after_reading):
    from chalicelib.outages import service
    from chalicelib.outages.schemas import ResolveIn

    register(api, "dispatcher", timeout_s=3600)
    started = iso(frozen_clock.now() - timedelta(minutes=10))
    declared = api("post", "/incidents", ADMIN, {"components": ["dispatcher"], "started_at": started,
                                                 "summary": "dispatch is down"}).json_body["incident_id"]
    inbox()
    after_reading("get", lambda: service.resolve_incident(OTHER_ADMIN, declared, ResolveIn(), frozen_clock.now()))

    update = api("post", f"/incidents/{declared}/updates", ADMIN,
                 {"status": "resolved", "message": "The database failed over; dispatch is back"})

    assert update.status_code == 201, update.body
    found = update.json_body
    assert found == incident(api, declared)
    assert events(found) == [("declared", "ops-1"), ("resolved", "resolved by ops-2"),
                             ("update", "The database failed over; dispatch is back")]
    assert found["timeline"][-1]["status"] == "resolved"
    assert resolutions(inbox()) == [declared]


# --- the detector adding a component while operators act ---------------------------------------------------

def joining_component(api, detect) -> str:
    """dispatcher's incident, open; maps (beaten once more) fails a minute later: its next run joins it."""
    register(api, "dispatcher")
    register(api, "maps")
    detect(1)
    beat(api, "maps")
    (*_, last) = detect(3)
    (opened,) = last["opened"]
    return opened


def test_a_component_joining_while_an_operator_posts_an_update_keeps_both(api, detect, frozen_clock,
                                                                         after_reading):
    from chalicelib.outages import service
    from chalicelib.outages.schemas import UpdateIn

    incident_id = joining_component(api, detect)
    after_reading("open", lambda: service.post_update(OTHER_ADMIN, incident_id, UpdateIn(
        status="identified", message="A switch failed in the data centre"), frozen_clock.now()))

    (summary,) = detect(1)

    assert summary["opened"] == [incident_id]
    found = incident(api, incident_id)
    assert sorted(found["components"]) == ["dispatcher", "maps"]
    assert events(found) == [("detected", None), ("update", "A switch failed in the data centre"),
                             ("component_added", "maps")]


def test_a_component_failing_while_an_operator_resolves_the_incident_opens_a_new_one(api, detect, frozen_clock,
                                                                                     after_reading):
    from chalicelib.outages import service
    from chalicelib.outages.schemas import ResolveIn

    first = joining_component(api, detect)
    after_reading("open", lambda: service.resolve_incident(OTHER_ADMIN, first, ResolveIn(), frozen_clock.now()))

    (summary,) = detect(1)

    resolved = incident(api, first)
    assert (resolved["state"], resolved["components"]) == ("resolved", ["dispatcher"])
    (second,) = summary["opened"]
    assert second != first
    opened = incident(api, second)
    assert (opened["state"], opened["components"]) == ("open", ["maps"])
    status = api("get", "/status").json_body
    assert [i["incident_id"] for i in status["open_incidents"]] == [second]


# --- threads against a moto server -------------------------------------------------------------------------

RESOLVERS, UPDATERS, ROUNDS = 4, 4, 3


def test_operators_resolving_and_updating_at_once_resolve_each_incident_once_and_lose_no_update(moto_server):
    from chalicelib.core.errors import AppError
    from chalicelib.outages import service
    from chalicelib.outages.models import Incident
    from chalicelib.outages.schemas import ComponentIn, IncidentIn, ResolveIn, UpdateIn

    now = datetime.now(UTC)
    service.register_component(ComponentIn(name="dispatcher", heartbeat_timeout_s=3600), now)
    outcomes: Counter[str] = Counter()
    for round_ in range(ROUNDS):
        declared = service.declare_incident(OTHER_ADMIN, IncidentIn(
            components=["dispatcher"], started_at=now - timedelta(minutes=5), summary=f"fire {round_}"), now)
        incident_id, start = declared["incident_id"], Event()

        def resolve(n: int, incident_id=incident_id, start=start) -> str:
            start.wait()
            try:
                service.resolve_incident(Caller(f"ops-r{n}", "admin"), incident_id, ResolveIn(), datetime.now(UTC))
            except AppError as exc:
                return f"resolve {exc.status}"
            return "resolve ok"

        def update(n: int, incident_id=incident_id, start=start) -> str:
            start.wait()
            try:
                service.post_update(Caller(f"ops-u{n}", "admin"), incident_id, UpdateIn(
                    status="identified", message=f"update {n}"), datetime.now(UTC))
            except AppError as exc:
                return f"update {exc.status}"
            return f"update {n}"

        with ThreadPoolExecutor(RESOLVERS + UPDATERS) as pool:
            futures = [pool.submit(resolve, n) for n in range(RESOLVERS)]
            futures += [pool.submit(update, n) for n in range(UPDATERS)]
            start.set()
            answers = [f.result() for f in futures]
        outcomes.update(a if a.startswith("resolve") or a.endswith("409") else "update ok" for a in answers)

        stored = Incident.get(incident_id, consistent_read=True)
        assert answers.count("resolve ok") == 1, answers
        assert answers.count("resolve 409") == RESOLVERS - 1, answers
        assert [e.event for e in stored.timeline].count("resolved") == 1
        posted = sorted(a for a in answers if a.startswith("update ") and not a.endswith("409"))
        assert sorted(e.message for e in stored.timeline if e.event == "update") == posted
        assert stored.state == "resolved"
    print(dict(outcomes))


# --- the programs of an incident, by index -----------------------------------------------------------------

@contextmanager
def dynamodb_operations() -> Iterator[list[str]]:
    """The DynamoDB operations (GetItem, Query, Scan, ...) any botocore client makes inside the block."""
    original = botocore.client.BaseClient._make_api_call
    seen: list[str] = []

    def recorded(client, operation: str, params: dict):
        if client.meta.service_model.service_name == "dynamodb":
            seen.append(operation)
        return original(client, operation, params)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(botocore.client.BaseClient, "_make_api_call", recorded)
        yield seen


def test_the_incident_report_finds_the_programs_of_its_incident_by_index_through_every_page(
        api, frozen_clock, monkeypatch):
    from chalicelib.compensation import programs

    register(api, "dispatcher", timeout_s=3600)

    def declare() -> str:
        answer = api("post", "/incidents", ADMIN, {"components": ["dispatcher"], "started_at": iso(
            frozen_clock.now() - timedelta(hours=1)), "summary": "dispatch is down"})
        assert answer.status_code == 201, answer.body
        return answer.json_body["incident_id"]

    def program(incident_id: str, name: str) -> str:
        frozen_clock.advance(minutes=1)
        answer = api("post", "/programs", ADMIN, {"name": name, "incident_id": incident_id, "kind": "message_cash",
                                                  "params": {"amount_krw": 50_000, "budget_krw": 500_000}})
        assert answer.status_code == 201, answer.body
        return answer.json_body["program_id"]

    fire, flood = declare(), declare()
    made = [program(fire, "cash for shops"), program(flood, "the flood's cash"), program(fire, "more cash"),
            program(fire, "cash for the late ones")]
    monkeypatch.setattr(programs, "PROGRAMS_PAGE", 2)  # two keys a page: the three programs take two pages

    with dynamodb_operations() as operations:
        answer = api("get", f"/incidents/{fire}/report", ADMIN)

    assert answer.status_code == 200, answer.body
    assert [p["program_id"] for p in answer.json_body["programs"]] == [made[0], made[2], made[3]]  # oldest first
    assert "Scan" not in operations
    assert operations.count("Query") >= 2
