"""Bad input never becomes a 500: the route wrapper's parsing and error mapping, on a small app.

The app here is built from the same pieces every domain uses (ApiBlueprint, the authorizer,
the error middleware), with one route that takes a body, so each kind of bad input can be sent.
"""

import json
from typing import Literal

import pytest
from chalice import Chalice

from chalicelib.core.api import ApiBlueprint, api_error_bodies
from chalicelib.core.auth import Caller, authorizer_blueprint
from chalicelib.core.errors import Conflict
from chalicelib.core.schemas import Input, PageQuery, Point
from devstack.gateway import GatewayTestClient
from tests.conftest import ROOT


class TripRequest(Input):
    service: Literal["taxi", "designated"]
    pickup: Point
    passengers: int = 1


def trips_app() -> Chalice:
    """A fresh app each time: Chalice blueprints register into one app only."""
    trips = ApiBlueprint(__name__)

    @trips.route("/trips", methods=["POST"], roles=["rider"], body=TripRequest, status=201)
    def create_trip(caller: Caller, body: TripRequest):
        if body.passengers > 4:
            raise Conflict("no car takes more than four")
        if body.passengers == 0:
            raise RuntimeError("a bug with a secret inside: hunter2")
        return {"rider": caller.sub, "service": body.service, "lat": body.pickup.lat}

    @trips.route("/trips", methods=["GET"], roles=["rider"], query=PageQuery)
    def list_trips(query: PageQuery):
        return {"limit": query.limit}

    app = Chalice("trips-under-test", configure_logs=False)
    app.register_middleware(api_error_bodies, "http")
    app.register_blueprint(authorizer_blueprint)
    app.register_blueprint(trips)
    return app


@pytest.fixture
def trips_client(aws):
    with GatewayTestClient(trips_app(), stage_name="local", project_dir=str(ROOT)) as test_client:
        yield test_client


def post(client, headers, body):
    raw = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.http.post("/trips", headers={**headers, "Content-Type": "application/json"}, body=raw)


VALID = {"service": "taxi", "pickup": {"lat": 37.5, "lng": 127.0}}


def test_a_valid_body_reaches_the_view_with_the_caller(trips_client, token):
    response = post(trips_client, token("rider", "rider-9"), VALID)
    assert response.status_code == 201
    assert response.json_body == {"rider": "rider-9", "service": "taxi", "lat": 37.5}


@pytest.mark.parametrize(("body", "field"), [
    ("{not json", "body"),
    ("[1, 2]", "body"),
    ("", "body"),
    ({"pickup": {"lat": 37.5, "lng": 127.0}}, "service"),
    ({**VALID, "service": "helicopter"}, "service"),
    ({**VALID, "passengers": "two"}, "passengers"),
    ({**VALID, "passengers": 2.5}, "passengers"),
    ({**VALID, "tip": 1000}, "tip"),
    ({**VALID, "pickup": {"lat": 51.5, "lng": -0.1}}, "pickup.lat"),
    ({**VALID, "pickup": {"lat": 37.5}}, "pickup.lng"),
])
def test_bad_input_is_a_400_naming_the_field(trips_client, token, body, field):
    response = post(trips_client, token("rider"), body)
    assert response.status_code == 400
    error = response.json_body["error"]
    assert error["code"] == "invalid_input"
    assert field in error["fields"]


@pytest.mark.parametrize(("query", "field"), [("limit=0", "limit"), ("limit=201", "limit"), ("limit=ten", "limit")])
def test_bad_query_parameters_are_400(trips_client, token, query, field):
    response = trips_client.http.get(f"/trips?{query}", headers=token("rider"))
    assert response.status_code == 400
    assert field in response.json_body["error"]["fields"]


def test_list_limits_default_to_fifty(trips_client, token):
    assert trips_client.http.get("/trips", headers=token("rider")).json_body == {"limit": 50}


def test_a_domain_conflict_is_409(trips_client, token):
    response = post(trips_client, token("rider"), {**VALID, "passengers": 5})
    assert response.status_code == 409
    assert response.json_body["error"] == {"code": "conflict", "message": "no car takes more than four"}


def test_a_bug_is_a_500_that_tells_nothing_of_the_inside(trips_client, token):
    response = post(trips_client, token("rider"), {**VALID, "passengers": 0})
    assert response.status_code == 500
    assert response.json_body == {"error": {"code": "internal_error", "message": "Something went wrong on our side."}}
    assert "hunter2" not in response.body.decode()


def test_chalice_own_refusals_get_the_error_body_too(trips_client, token):
    wrong_method = trips_client.http.put("/trips", headers=token("rider"), body=b"{}")
    assert wrong_method.status_code == 405
    assert wrong_method.json_body["error"]["code"] == "method_not_allowed"
    wrong_type = trips_client.http.post("/trips", headers={**token("rider"), "Content-Type": "application/xml"},
                                        body=b"<x/>")
    assert wrong_type.status_code == 415
    assert wrong_type.json_body["error"]["code"] == "unsupported_media_type"
