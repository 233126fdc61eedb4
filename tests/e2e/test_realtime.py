"""The real-time channel over the real local stack: WebSocket clients, the app's handlers and its pushes
through boto3's `apigatewaymanagementapi` client to the local gateway's `@connections` API."""

import json
import time

import boto3
import pytest
import requests
import websocket

from devstack.keys import DevKeys
from tests.e2e.conftest import bearer

pytestmark = pytest.mark.e2e

# Each test works in its own city, so no driver of one test is ever the nearest to another test's rider.
SEOUL, BUSAN, DAEGU, GWANGJU, DAEJEON = ({"lat": 37.5663, "lng": 126.9779}, {"lat": 35.1796, "lng": 129.0756},
                                         {"lat": 35.8714, "lng": 128.6014}, {"lat": 35.1595, "lng": 126.8526},
                                         {"lat": 36.3504, "lng": 127.3845})
NEARBY = 0.01  # degrees: a drop-off about a kilometre away
WAIT_S = 10


def call(stack, method: str, path: str, role: str, sub: str, body=None) -> requests.Response:
    return requests.request(method, f"{stack['base']}{path}", json=body, timeout=15, headers=bearer(role, sub))


def listen(stack, role: str, sub: str, **token_options) -> websocket.WebSocket:
    """A client of the WebSocket API, connected with `?token=`."""
    token = DevKeys().token(role, sub, **token_options)
    return websocket.create_connection(f"{stack['ws']}/?token={token}", timeout=WAIT_S)


def received(client: websocket.WebSocket) -> dict:
    return json.loads(client.recv())


def nothing_else(client: websocket.WebSocket) -> None:
    """Nothing was pushed to `client` before now: a ping sent now is answered first (pushes are in order)."""
    client.send(json.dumps({"action": "ping"}))
    assert received(client) == {"type": "pong"}


def driver_online(stack, sub: str, where: dict, services=("taxi",)) -> None:
    assert call(stack, "PUT", "/drivers/me", "driver", sub, {"name": "Park", "services": list(services)}).ok
    assert call(stack, "POST", "/drivers/me/status", "driver", sub, {"status": "online", **where}).ok


def request_ride(stack, rider: str, where: dict) -> dict:
    dropoff = {"lat": where["lat"] + NEARBY, "lng": where["lng"]}
    created = call(stack, "POST", "/rides", "rider", rider, {"service": "taxi", "pickup": where, "dropoff": dropoff})
    assert created.status_code == 201, created.text
    return created.json()


def connections_table(stack):
    dynamodb = boto3.resource("dynamodb", endpoint_url=stack["moto"], region_name="ap-northeast-2",
                              aws_access_key_id="local", aws_secret_access_key="local")
    name = next(t.name for t in dynamodb.tables.all() if t.name.endswith("-connections"))
    return dynamodb.Table(name)


def connections_of(stack, role: str, sub: str) -> list[dict]:
    return [item for item in connections_table(stack).scan()["Items"] if item["owner"] == f"{role}#{sub}"]


def eventually_none(stack, role: str, sub: str) -> list[dict]:
    """The caller's connection records, once there are none left or WAIT_S has passed."""
    deadline = time.monotonic() + WAIT_S
    while (left := connections_of(stack, role, sub)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def test_health_says_where_the_websocket_api_listens(stack):
    assert requests.get(f"{stack['base']}/health", timeout=5).json()["websocket_url"] == stack["ws"]


def test_the_driver_is_pushed_the_offer_and_the_rider_each_step_of_the_ride(stack):
    driver_online(stack, "rt-driver-1", SEOUL)
    driver, rider = listen(stack, "driver", "rt-driver-1"), listen(stack, "rider", "rt-rider-1")
    ride = request_ride(stack, "rt-rider-1", SEOUL)
    ride_id = ride["ride_id"]

    offer = received(driver)
    listed = call(stack, "GET", "/drivers/me/offers", "driver", "rt-driver-1").json()["items"]
    assert offer == {"type": "ride.offered", **listed[0]}
    assert offer["ride_id"] == ride_id
    assert offer["expires_at"] == ride["offer_expires_at"]
    assert received(rider) == {"type": "ride.updated", "ride_id": ride_id, "status": "offered",
                               "driver_id": "rt-driver-1"}

    for step, status in (("accept", "accepted"), ("arrive", "arrived"), ("start", "in_progress")):
        assert call(stack, "POST", f"/rides/{ride_id}/{step}", "driver", "rt-driver-1").ok
        assert received(rider) == {"type": "ride.updated", "ride_id": ride_id, "status": status,
                                   "driver_id": "rt-driver-1"}
        assert received(driver)["status"] == status
    trip = {"distance_m": 1200, "duration_s": 300}
    assert call(stack, "POST", f"/rides/{ride_id}/complete", "driver", "rt-driver-1", trip).ok
    assert received(rider) == {"type": "ride.updated", "ride_id": ride_id, "status": "completed",
                               "driver_id": "rt-driver-1"}
    assert received(driver)["status"] == "completed"
    driver.close()
    rider.close()


def test_a_declined_ride_is_pushed_to_the_next_driver(stack):
    driver_online(stack, "rt-decliner", DAEJEON)
    first = listen(stack, "driver", "rt-decliner")
    ride_id = request_ride(stack, "rt-rider-4", DAEJEON)["ride_id"]
    assert received(first)["type"] == "ride.offered"
    driver_online(stack, "rt-next", {"lat": DAEJEON["lat"] + 0.002, "lng": DAEJEON["lng"]})
    second = listen(stack, "driver", "rt-next")

    assert call(stack, "POST", f"/rides/{ride_id}/decline", "driver", "rt-decliner").ok
    assert received(first) == {"type": "ride.updated", "ride_id": ride_id, "status": "searching", "driver_id": None}
    offer = received(second)
    assert (offer["type"], offer["ride_id"]) == ("ride.offered", ride_id)
    first.close()
    second.close()


@pytest.mark.parametrize("how", ["missing", "garbage", "expired", "forged", "admin"])
def test_a_missing_bad_or_expired_token_is_refused_at_the_handshake(stack, how, tmp_path):
    tokens = {"missing": None, "garbage": "not-a-jwt", "expired": DevKeys().token("driver", "rt-x", ttl_s=-120),
              "forged": DevKeys(tmp_path).ensure().token("driver", "rt-x"), "admin": DevKeys().token("admin", "ops-1")}
    url = stack["ws"] if tokens[how] is None else f"{stack['ws']}/?token={tokens[how]}"
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(url, timeout=WAIT_S)
    assert refused.value.status_code == (403 if how == "admin" else 401)
    assert json.loads(refused.value.resp_body)["error"]["code"] in ("unauthorized", "forbidden")


def test_the_authorization_header_works_too(stack):
    client = websocket.create_connection(stack["ws"], timeout=WAIT_S,
                                         header=[f"Authorization: Bearer {DevKeys().token('rider', 'rt-h')}"])
    nothing_else(client)
    client.close()


def test_a_rider_never_receives_another_callers_messages(stack):
    driver_online(stack, "rt-driver-3", BUSAN)
    other_rider, twin_driver = listen(stack, "rider", "rt-rider-a"), listen(stack, "driver", "rt-rider-b")
    rider = listen(stack, "rider", "rt-rider-b")
    ride_id = request_ride(stack, "rt-rider-b", BUSAN)["ride_id"]

    assert received(rider) == {"type": "ride.updated", "ride_id": ride_id, "status": "offered",
                               "driver_id": "rt-driver-3"}
    nothing_else(other_rider)
    nothing_else(twin_driver)  # the same sub in another role is another caller
    for client in (other_rider, twin_driver, rider):
        client.close()


def test_a_closed_socket_is_forgotten_and_a_gone_one_is_deleted_on_the_next_push(stack):
    driver_online(stack, "rt-driver-2", DAEGU)
    closed = listen(stack, "driver", "rt-driver-2")
    assert len(connections_of(stack, "driver", "rt-driver-2")) == 1
    closed.close()
    assert eventually_none(stack, "driver", "rt-driver-2") == []

    # A record API Gateway no longer knows (a $disconnect that never came): the next push deletes it.
    connections_table(stack).put_item(Item={
        "connection_id": "GoneConn0000=", "owner": "driver#rt-driver-2", "role": "driver", "sub": "rt-driver-2",
        "endpoint": stack["ws"].replace("ws://", "http://") + "/api", "connected_at": "2026-01-01T00:00:00.000000+0000",
        "expires_at": int(time.time()) + 600})
    ride = request_ride(stack, "rt-rider-2", DAEGU)
    assert (ride["status"], ride["driver_id"]) == ("offered", "rt-driver-2")  # the push failing changed nothing
    assert connections_of(stack, "driver", "rt-driver-2") == []


def test_a_driver_pings_and_reports_a_location_over_the_socket(stack):
    driver_online(stack, "rt-mover", GWANGJU)
    client = listen(stack, "driver", "rt-mover")
    moved = {"lat": GWANGJU["lat"] + 0.003, "lng": GWANGJU["lng"]}
    client.send(json.dumps({"action": "location", **moved}))
    client.send(json.dumps({"action": "location", "lat": 10.0, "lng": GWANGJU["lng"]}))
    refused = received(client)
    assert refused["type"] == "error"
    assert "lat" in json.dumps(refused["error"]["fields"])
    nothing_else(client)  # messages are handled in order: the first report is stored by now
    assert call(stack, "GET", "/drivers/me", "driver", "rt-mover").json()["position"] == moved
    client.close()


def test_a_published_notice_reaches_the_connected_drivers_it_is_for(stack):
    driver_online(stack, "rt-designated", GWANGJU, services=("designated",))
    driver_online(stack, "rt-taxi", GWANGJU, services=("taxi",))
    designated, taxi = listen(stack, "driver", "rt-designated"), listen(stack, "driver", "rt-taxi")
    for_designated = call(stack, "POST", "/notices", "admin", "ops-1", {
        "title": "Designated drivers: new insurance", "body": "...", "audience": {"services": ["designated"]}})
    for_all = call(stack, "POST", "/notices", "admin", "ops-1", {"title": "All drivers: app update", "body": "..."})
    assert for_designated.status_code == for_all.status_code == 201

    first = {"type": "notice.published", "notice_id": for_designated.json()["notice_id"],
             "title": "Designated drivers: new insurance"}
    second = {"type": "notice.published", "notice_id": for_all.json()["notice_id"], "title": "All drivers: app update"}
    assert sorted([received(designated), received(designated)], key=lambda m: m["title"]) == [second, first]
    assert received(taxi) == second  # the notice for designated drivers never reached a taxi driver
    designated.close()
    taxi.close()
