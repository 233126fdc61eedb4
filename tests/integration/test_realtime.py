"""The real-time channel's handlers and pushes against moto: API Gateway's events in, its management API out."""

import json
from datetime import UTC, datetime

import pytest
from botocore.exceptions import ClientError
from chalice.local import LambdaContext
from moto.apigatewaymanagementapi.models import apigatewaymanagementapi_backends

from chalicelib.realtime import delivery, rules
from chalicelib.realtime.models import Connection
from devstack import cloud
from devstack.pump import Pump
from tests.integration.actors import SEOUL_CITY_HALL, driver, driver_on_duty

DOMAIN = "abc123.execute-api.ap-northeast-2.amazonaws.com"
GANGNAM = {"lat": 37.4979, "lng": 127.0276}


@pytest.fixture
def socket(app, dev_keys):
    """`socket(route, connection_id, token=None, body=None)`: invoke a WebSocket handler as API Gateway does."""
    handlers = {"$connect": "websocket_connect", "$default": "websocket_message", "$disconnect": "websocket_disconnect"}

    def invoke(route: str, connection_id: str, token: str | None = None, body: str | None = None) -> dict:
        event = {"requestContext": {"routeKey": route, "connectionId": connection_id, "domainName": DOMAIN,
                                    "stage": "api", "apiId": "abc123", "requestId": f"req-{connection_id}"},
                 "headers": {"Host": DOMAIN}, "queryStringParameters": {"token": token} if token else None,
                 "body": body, "isBase64Encoded": False}
        return app.handler_map[handlers[route]](event, LambdaContext(handlers[route], memory_size=512))

    return invoke


def connected(socket, dev_keys, role: str, sub: str, connection_id: str) -> str:
    assert socket("$connect", connection_id, dev_keys.token(role, sub))["statusCode"] == 200
    return connection_id


def pushed(connection_id: str) -> list[dict]:
    """Every message moto's management API received for the connection, in order."""
    raw = apigatewaymanagementapi_backends["123456789012"]["ap-northeast-2"].connections[connection_id].data.decode()
    decoder, found, at = json.JSONDecoder(), [], 0
    while at < len(raw):
        message, at = decoder.raw_decode(raw, at)
        found.append(message)
    return found


def request(api, rider: str) -> dict:
    created = api("post", "/rides", ("rider", rider), {"service": "taxi", "pickup": SEOUL_CITY_HALL,
                                                       "dropoff": GANGNAM})
    assert created.status_code == 201, created.body
    return created.json_body


def test_a_connection_is_remembered_for_its_caller_and_forgotten_on_disconnect(socket, dev_keys):
    connected(socket, dev_keys, "rider", "r-1", "conn-r1")
    stored = Connection.get("conn-r1")
    assert (stored.owner, stored.endpoint) == ("rider#r-1", f"http://{DOMAIN}/api")  # the local stage: plain http
    assert stored.expires_at > stored.connected_at
    socket("$disconnect", "conn-r1")
    assert list(Connection.scan()) == []


def test_a_refused_handshake_stores_nothing(socket, dev_keys, other_keys):
    assert socket("$connect", "c-1")["statusCode"] == 401
    assert socket("$connect", "c-2", other_keys.token("rider", "r-1"))["statusCode"] == 401
    assert socket("$connect", "c-3", dev_keys.token("business", "b-1"))["statusCode"] == 403
    assert socket("$connect", "c-4", dev_keys.sign({"sub": "r", "role": ["rider"], "exp": 2**40}))["statusCode"] == 401
    assert list(Connection.scan()) == []


def test_offers_and_updates_go_to_the_ride_s_driver_and_rider_only(api, socket, dev_keys):
    driver_on_duty(api, "d-1")
    connected(socket, dev_keys, "driver", "d-1", "conn-d1")
    connected(socket, dev_keys, "rider", "r-1", "conn-r1")
    connected(socket, dev_keys, "rider", "r-2", "conn-r2")
    ride_id = request(api, "r-1")["ride_id"]
    assert api("post", f"/rides/{ride_id}/accept", ("driver", "d-1")).status_code == 200

    offer, accepted = pushed("conn-d1")
    assert (offer["type"], offer["ride_id"], accepted["status"]) == ("ride.offered", ride_id, "accepted")
    assert [m["status"] for m in pushed("conn-r1")] == ["offered", "accepted"]
    assert pushed("conn-r2") == []


@pytest.mark.parametrize("failure", [
    ClientError({"Error": {"Code": "InternalServerError", "Message": "boom"}}, "PostToConnection"),
    RuntimeError("a bug in the push path"),
])
def test_a_push_that_fails_never_fails_or_undoes_the_ride_action(api, socket, dev_keys, monkeypatch, capsys,
                                                                 failure):
    driver_on_duty(api, "d-1")
    connected(socket, dev_keys, "driver", "d-1", "conn-d1")

    class Broken:
        exceptions = delivery.management_client(f"https://{DOMAIN}/api").exceptions

        def post_to_connection(self, **_):
            raise failure

    monkeypatch.setattr(delivery, "management_client", lambda endpoint: Broken())
    ride = request(api, "r-1")
    assert (ride["status"], ride["driver_id"]) == ("offered", "d-1")
    assert api("post", f"/rides/{ride['ride_id']}/accept", ("driver", "d-1")).status_code == 200
    assert api("get", f"/rides/{ride['ride_id']}", ("rider", "r-1")).json_body["status"] == "accepted"
    assert '"PushesFailed"' in capsys.readouterr().out
    assert Connection.get("conn-d1")  # a failure is not a gone connection: it is kept


def test_a_connection_past_its_token_s_expiry_is_no_longer_pushed_to(api, socket, dev_keys, frozen_clock):
    frozen_clock.set(datetime.now(UTC))
    driver_on_duty(api, "d-1")
    assert socket("$connect", "conn-d1", dev_keys.token("driver", "d-1", ttl_s=60))["statusCode"] == 200
    frozen_clock.advance(seconds=600)  # the token has expired; API Gateway keeps the socket open regardless
    ride = request(api, "r-1")
    assert ride["driver_id"] == "d-1"
    socket("$default", "conn-d1", body=json.dumps({"action": "ping"}))
    (answer,) = pushed("conn-d1")  # no offer: only the refusal of the ping
    assert answer["error"]["code"] == "unauthorized"


def test_messages_a_driver_sends_are_acted_on_and_bad_ones_answered(api, socket, dev_keys):
    driver_on_duty(api, "d-1")
    connected(socket, dev_keys, "driver", "d-1", "conn-d1")
    connected(socket, dev_keys, "rider", "r-1", "conn-r1")
    socket("$default", "conn-d1", body=json.dumps({"action": "location", "lat": 37.57, "lng": 126.98}))
    socket("$default", "conn-d1", body=json.dumps({"action": "location", "lat": True, "lng": 126.98}))
    socket("$default", "conn-d1", body=json.dumps({"action": "dance"}))
    socket("$default", "conn-r1", body=json.dumps({"action": "location", "lat": 37.57, "lng": 126.98}))

    assert api("get", "/drivers/me", ("driver", "d-1")).json_body["position"] == {"lat": 37.57, "lng": 126.98}
    bad_type, unknown = pushed("conn-d1")
    assert bad_type["error"]["code"] == unknown["error"]["code"] == "invalid_input"
    assert [m["error"]["code"] for m in pushed("conn-r1")] == ["forbidden"]


def test_a_notice_fans_out_in_queued_chunks_to_the_drivers_it_is_for(api, app, socket, dev_keys, monkeypatch):
    monkeypatch.setattr(rules, "NOTICE_PAGE", 2)
    monkeypatch.setattr(rules, "NOTICE_SEGMENTS", 1)
    for n in range(5):
        driver(api, f"dd-{n}", ("designated",))
        connected(socket, dev_keys, "driver", f"dd-{n}", f"conn-dd{n}")
    driver(api, "taxi-1", ("taxi",))
    connected(socket, dev_keys, "driver", "taxi-1", "conn-taxi")
    connected(socket, dev_keys, "rider", "r-1", "conn-r1")
    posted = api("post", "/notices", ("admin", "ops-1"), {"title": "Insurance", "body": "...",
                                                          "audience": {"services": ["designated"]}})
    assert posted.status_code == 201, posted.body
    assert pushed("conn-dd0") == []  # not inside the publishing request

    pump = Pump(app, cloud.physical_ids("o2o-mobility-test"), log=lambda line: None)
    (binding,) = pump.bindings
    chunks = 0
    while batch := pump.deliver_once(*binding):
        chunks += batch
    message = {"type": "notice.published", "notice_id": posted.json_body["notice_id"], "title": "Insurance"}
    assert all(pushed(f"conn-dd{n}") == [message] for n in range(5))
    assert pushed("conn-taxi") == pushed("conn-r1") == []
    assert chunks == 3  # six drivers, two a page: each chunk queued the next
