"""The public status is a snapshot every change keeps current: a public request reads one item, never a table.

Components here are watched by heartbeat, so the detector (run by hand, one run per minute of the frozen clock)
needs no probe target: a component that never beats fails once its timeout has passed.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import botocore.client
import pytest
from pynamodb.exceptions import UpdateError

from chalicelib.core.auth import Caller
from chalicelib.core.clock import iso

ADMIN, SERVICE = ("admin", "ops-1"), ("service", "billing-svc")


@contextmanager
def dynamodb_operations() -> Iterator[list[str]]:
    """The DynamoDB operations (GetItem, Scan, ...) any botocore client makes inside the block."""
    original = botocore.client.BaseClient._make_api_call
    seen: list[str] = []

    def recorded(client, operation: str, params: dict):
        if client.meta.service_model.service_name == "dynamodb":
            seen.append(operation)
        return original(client, operation, params)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(botocore.client.BaseClient, "_make_api_call", recorded)
        yield seen


def public_status(api) -> dict:
    """`GET /status` with no token, after checking it and `GET /status.html` each made one GetItem and nothing else."""
    with dynamodb_operations() as operations:
        answer = api("get", "/status")
    assert answer.status_code == 200, answer.body
    assert operations == ["GetItem"]
    with dynamodb_operations() as operations:
        assert api("get", "/status.html").status_code == 200
    assert operations == ["GetItem"]
    return answer.json_body


def states(status: dict) -> dict[str, str]:
    return {c["name"]: c["state"] for c in status["components"]}


def ids(incidents: list[dict]) -> list[str]:
    return [i["incident_id"] for i in incidents]


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


def register(api, name: str, timeout_s: int) -> None:
    answer = api("post", "/components", ADMIN, {"name": name, "heartbeat_timeout_s": timeout_s})
    assert answer.status_code == 201, answer.body


def declare(api, components: list[str], started_at, summary: str = "the data centre is on fire") -> str:
    answer = api("post", "/incidents", ADMIN, {"components": components, "started_at": iso(started_at),
                                               "summary": summary})
    assert answer.status_code == 201, answer.body
    return answer.json_body["incident_id"]


def test_the_public_status_reads_one_item_and_follows_every_change(api, detect, frozen_clock):
    from chalicelib.outages import snapshot

    register(api, "billing", timeout_s=90)  # runs are a minute apart: a beat before each keeps it up
    register(api, "maps", timeout_s=3600)
    assert states(public_status(api)) == {"billing": "up", "maps": "up"}

    declared = declare(api, ["maps"], frozen_clock.now() - timedelta(minutes=5))
    status = public_status(api)
    assert (ids(status["open_incidents"]), status["recent_incidents"]) == ([declared], [])
    assert status["open_incidents"][0]["summary"] == "the data centre is on fire"

    assert api("post", f"/incidents/{declared}/resolve", ADMIN).status_code == 200
    status = public_status(api)
    assert (status["open_incidents"], ids(status["recent_incidents"])) == ([], [declared])

    (*_, last) = detect(4)  # billing never beats: healthy for 90 s, then three failed checks in a row
    (opened,) = last["opened"]
    status = public_status(api)
    assert states(status) == {"billing": "down", "maps": "up", "rides": "up"}
    assert (status["status"], ids(status["open_incidents"])) == ("degraded", [opened])
    assert status["updated_at"] == iso(frozen_clock.now())

    for _ in range(3):
        assert api("post", "/heartbeats/billing", SERVICE).status_code == 200
        (summary,) = detect(1)
    assert summary["resolved"] == [opened]
    status = public_status(api)
    assert states(status) == {"billing": "up", "maps": "up", "rides": "up"}
    assert (status["status"], status["open_incidents"]) == ("operational", [])
    assert ids(status["recent_incidents"]) == [opened, declared]  # newest start first
    assert status == snapshot._status_document(frozen_clock.now(), ())  # what reading every table answers


def test_a_stack_without_a_snapshot_builds_it_on_the_first_request_and_reads_only_it_afterwards(
        api, frozen_clock):
    from chalicelib.outages.models import STATUS_SNAPSHOT_KEY, StatusSnapshot

    register(api, "billing", timeout_s=30)
    declared = declare(api, ["billing"], frozen_clock.now())
    StatusSnapshot(*STATUS_SNAPSHOT_KEY).delete()  # as on tables written before snapshots existed

    with dynamodb_operations() as operations:
        first = api("get", "/status").json_body
    assert "Scan" in operations
    assert (states(first), ids(first["open_incidents"])) == ({"billing": "down"}, [declared])  # declared: down
    assert public_status(api) == first


def test_an_older_snapshot_never_overwrites_a_newer_one(api, frozen_clock, monkeypatch):
    """Registering maps refreshes the snapshot; while that refresh reads the tables, an operator declares an
    incident, whose own refresh begins later and stores first. The older refresh must not store over it."""
    from chalicelib.outages import service, snapshot
    from chalicelib.outages.schemas import IncidentIn

    register(api, "billing", timeout_s=30)
    build = snapshot._status_document
    declared: list[str] = []
    interleaved = []

    def slow_build(now, changed):
        document = build(now, changed)  # the tables as they are before the declaration
        if not interleaved:
            interleaved.append(True)
            incident = IncidentIn(components=["billing"], started_at=now, summary="fire")
            declared.append(service.declare_incident(Caller("ops-2", "admin"), incident, now)["incident_id"])
        return document

    monkeypatch.setattr(snapshot, "_status_document", slow_build)
    register(api, "maps", timeout_s=30)
    monkeypatch.undo()

    status = public_status(api)
    assert ids(status["open_incidents"]) == declared
    assert states(status) == {"billing": "down", "maps": "up"}  # the declaration's refresh saw maps too

    assert api("post", f"/incidents/{declared[0]}/resolve", ADMIN).status_code == 200
    assert ids(public_status(api)["recent_incidents"]) == declared  # later refreshes still store


def test_a_change_whose_snapshot_cannot_be_stored_still_happens_and_the_next_detector_run_shows_it(
        api, detect, frozen_clock, monkeypatch):
    from chalicelib.outages import snapshot

    register(api, "billing", timeout_s=3600)

    def throttled(*args):
        raise UpdateError("ProvisionedThroughputExceededException")

    monkeypatch.setattr(snapshot, "_store_status", throttled)
    declared = declare(api, ["billing"], frozen_clock.now())
    assert public_status(api)["open_incidents"] == []  # the snapshot missed the declaration
    monkeypatch.undo()

    detect(1)
    assert ids(public_status(api)["open_incidents"]) == [declared]
