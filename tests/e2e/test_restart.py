"""`make run` keeps its data: the real local stack stopped (SIGTERM, SIGKILL) and started again on the same data."""

import json
import signal
import time
from datetime import UTC, datetime, timedelta

import boto3
import pytest
import requests

from devstack.keys import DevKeys
from devstack.launcher import local_stack

pytestmark = pytest.mark.e2e

CITY_HALL = {"lat": 37.5663, "lng": 126.9779}
GANGNAM = {"lat": 37.4979, "lng": 127.0276}
FLUSHED_S = 1.5  # API.md: a SIGKILL loses at most the last second of writes


def call(stack, method: str, path: str, who: tuple[str, str] = ("admin", "e2e-ops"), body=None,
         approver: bool = False, expect: int | None = None) -> dict:
    token = DevKeys().token(who[0], who[1], approver=approver)
    response = requests.request(method, f"{stack['base']}{path}", json=body, timeout=15,
                                headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == (expect or response.status_code), (path, response.text)
    assert response.ok, (path, response.text)
    return response.json()


def iso_from_now(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat(timespec="seconds").replace("+00:00", "Z")


def ride(stack, name: str) -> str:
    """A taxi ride of a new rider with a new driver, driven to completion (the driver then goes offline)."""
    driver, rider = ("driver", f"{name}-driver"), ("rider", f"{name}-rider")
    call(stack, "PUT", "/drivers/me", driver, {"name": "Kim", "services": ["taxi"]})
    call(stack, "POST", "/drivers/me/status", driver, {"status": "online", **CITY_HALL})
    ride_id = call(stack, "POST", "/rides", rider, {"service": "taxi", "pickup": CITY_HALL, "dropoff": GANGNAM},
                   expect=201)["ride_id"]
    for step in ("accept", "arrive", "start"):
        call(stack, "POST", f"/rides/{ride_id}/{step}", driver)
    call(stack, "POST", f"/rides/{ride_id}/complete", driver, {"distance_m": 10_500, "duration_s": 1500})
    call(stack, "POST", "/drivers/me/status", driver, {"status": "offline", **CITY_HALL})  # the next ride is another's
    return ride_id


def program_with_claims(stack, name: str, businesses: int) -> tuple[str, list[str]]:
    """A business claims program of a new incident with `businesses` approved claims."""
    component = f"{name}-comp"
    call(stack, "POST", "/components", body={"name": component, "heartbeat_timeout_s": 60}, expect=201)
    incident = call(stack, "POST", "/incidents", body={"components": [component], "started_at": iso_from_now(hours=-2),
                                                       "summary": f"{name} down"}, expect=201)["incident_id"]
    program = call(stack, "POST", "/programs", body={
        "name": f"{name} losses", "incident_id": incident, "kind": "business_claims",
        "params": {"intake_opens_at": iso_from_now(hours=-1), "intake_closes_at": iso_from_now(days=14),
                   "budget_krw": 10_000_000}}, expect=201)["program_id"]
    claims = []
    for n in range(businesses):
        business = f"{name}-shop-{n}"
        claims.append(call(stack, "POST", f"/programs/{program}/claims", ("business", business), {
            "business_id": business, "business_name": f"Shop {n}", "loss_krw": 250_000, "channel": "web",
            "evidence": ["ledger.pdf"]}, expect=201)["claim_id"])
        call(stack, "POST", f"/claims/{claims[-1]}/review", body={"decision": "approve"})
    return program, claims


def approved_round(stack, program: str) -> str:
    round_id = call(stack, "POST", "/payouts", body={"program_id": program}, expect=201)["round_id"]
    call(stack, "POST", f"/payouts/{round_id}/approve", ("admin", "e2e-approver"), approver=True, expect=202)
    return round_id


def until(check, timeout_s: float = 20):
    deadline = time.monotonic() + timeout_s
    while not (answer := check()) and time.monotonic() < deadline:
        time.sleep(0.2)
    return answer


def paid(stack, round_id: str) -> dict:
    return until(lambda: (r := call(stack, "GET", f"/payouts/{round_id}"))["status"] == "paid" and r)


def notice(stack, title: str) -> str:
    return call(stack, "POST", "/notices", body={"title": title, "body": "Insurance stays on the platform."},
                expect=201)["notice_id"]


def everything(stack, rides: list[str], programs: list[str], claims: list[str], rounds: list[str],
               notices: list[str]) -> dict:
    """What an admin reads back: each record, the ledgers and the audit list."""
    read = {f"/rides/{r}" for r in rides} | {f"/claims/{c}" for c in claims} | {f"/payouts/{r}" for r in rounds}
    read |= {f"/programs/{p}" for p in programs} | {f"/ledger?program_id={p}" for p in programs}
    read |= {f"/notices/{n}" for n in notices} | {"/audit"}
    return {path: call(stack, "GET", path) for path in sorted(read)}


def queue_counts(stack) -> tuple[int, int]:
    """(visible, in flight) messages of the work queue, asked of the embedded AWS."""
    sqs = boto3.client("sqs", endpoint_url=stack["moto"], region_name="ap-northeast-2",
                       aws_access_key_id="local", aws_secret_access_key="local")
    url = next(u for u in sqs.list_queues()["QueueUrls"] if u.endswith("-work"))
    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(counts["ApproximateNumberOfMessages"]), int(counts["ApproximateNumberOfMessagesNotVisible"])


def test_what_was_written_is_read_back_unchanged_after_a_sigterm_and_after_a_sigkill(tmp_path):
    data = tmp_path / "data"
    with local_stack(tmp_path / "first.log", data_dir=data) as stack:
        rides = [ride(stack, "restart-a")]
        program, claims = program_with_claims(stack, "restart-a", 2)
        rounds = [approved_round(stack, program)]
        assert paid(stack, rounds[0])["paid_count"] == 2
        notices = [notice(stack, "Before the restart")]
        written = everything(stack, rides, [program], claims, rounds, notices)
        assert len(written[f"/ledger?program_id={program}"]["items"]) == 2
        assert written["/audit"]["items"]
        stack["process"].send_signal(signal.SIGTERM)
        assert stack["process"].wait(timeout=30) == 0

    with local_stack(tmp_path / "second.log", data_dir=data) as stack:
        assert everything(stack, rides, [program], claims, rounds, notices) == written
        rides.append(ride(stack, "restart-b"))
        notices.append(notice(stack, "Between the restarts"))
        written = everything(stack, rides, [program], claims, rounds, notices)
        listed_before = {n["notice_id"] for n in call(stack, "GET", "/notices")["items"]}
        time.sleep(FLUSHED_S)
        last_second = notice(stack, "Written just before the kill")
        stack["process"].kill()
        stack["process"].wait(timeout=10)

    with local_stack(tmp_path / "third.log", data_dir=data) as stack:
        back = everything(stack, rides, [program], claims, rounds, notices)
        audit, audit_before = back.pop("/audit")["items"], written.pop("/audit")["items"]
        assert back == written
        # The notice posted just before the kill may be lost; if it is back, it is back whole, with its audit entry.
        assert audit[:len(audit_before)] == audit_before
        assert all(last_second in json.dumps(entry) for entry in audit[len(audit_before):])
        listed = {n["notice_id"]: n for n in call(stack, "GET", "/notices")["items"]}
        assert set(listed) - {last_second} == set(listed_before)
        if last_second in listed:
            assert call(stack, "GET", f"/notices/{last_second}")["title"] == "Written just before the kill"


def test_a_chunk_in_flight_at_a_kill_is_delivered_again_after_the_restart_and_paid_once(tmp_path):
    data = tmp_path / "data"
    # The pump keeps the payout chunk's batch in flight for a minute after its handler ran: the kill comes in
    # between (the incident's notices fan out through the same queue without being held).
    with local_stack(tmp_path / "first.log", data_dir=data,
                     options=("--pump-hold-s", "60", "--pump-hold-task", "pay-round-chunk")) as stack:
        program, claims = program_with_claims(stack, "in-flight", 3)
        round_id = approved_round(stack, program)
        assert until(lambda: len(call(stack, "GET", f"/ledger?program_id={program}")["items"]) == 3)
        assert until(lambda: queue_counts(stack) == (0, 1))  # paid, but the chunk's message is not deleted yet
        time.sleep(FLUSHED_S)
        stack["process"].kill()
        stack["process"].wait(timeout=10)

    with local_stack(tmp_path / "second.log", data_dir=data) as stack:
        assert until(lambda: queue_counts(stack) == (0, 0)), "the chunk was not delivered again"
        assert paid(stack, round_id)["paid_count"] == 3
        ledger = call(stack, "GET", f"/ledger?program_id={program}")["items"]
        assert sorted(entry["claim_id"] for entry in ledger) == sorted(claims)
