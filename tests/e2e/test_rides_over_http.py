"""One taxi and one designated ride, driven over HTTP against the real local stack."""

import pytest
import requests

from tests.e2e.conftest import bearer

pytestmark = pytest.mark.e2e

CITY_HALL = {"lat": 37.5663, "lng": 126.9779}
GANGNAM = {"lat": 37.4979, "lng": 127.0276}


def call(stack, method: str, path: str, role: str, sub: str, body=None, headers=None) -> requests.Response:
    return requests.request(method, f"{stack['base']}{path}", json=body, timeout=15,
                            headers={**bearer(role, sub), **(headers or {})})


@pytest.mark.parametrize("service", ["taxi", "designated"])
def test_a_rider_gets_a_driver_and_pays_a_transparent_fare(stack, service):
    driver, rider = f"e2e-{service}-driver", f"e2e-{service}-rider"
    assert call(stack, "PUT", "/drivers/me", "driver", driver, {"name": "Kim", "services": [service]}).ok
    assert call(stack, "POST", "/drivers/me/status", "driver", driver, {"status": "online", **CITY_HALL}).ok

    created = call(stack, "POST", "/rides", "rider", rider, {"service": service, "pickup": CITY_HALL,
                                                             "dropoff": GANGNAM}, {"Idempotency-Key": rider})
    assert created.status_code == 201, created.text
    ride_id = created.json()["ride_id"]
    assert created.json()["driver_id"] == driver

    offers = call(stack, "GET", "/drivers/me/offers", "driver", driver).json()["items"]
    assert [offer["ride_id"] for offer in offers] == [ride_id]
    for step in ("accept", "arrive", "start"):
        assert call(stack, "POST", f"/rides/{ride_id}/{step}", "driver", driver).status_code == 200, step
    trip = {"distance_m": 10_500, "duration_s": 1500}
    done = call(stack, "POST", f"/rides/{ride_id}/complete", "driver", driver, trip)
    fare = done.json()["fare"]
    assert fare["fare_krw"] == fare["commission_krw"] + fare["driver_payout_krw"]
    assert fare["insurance_paid_by"] == "platform"

    assert call(stack, "POST", f"/rides/{ride_id}/rating", "rider", rider, {"stars": 5}).status_code == 201
    ride = call(stack, "GET", f"/rides/{ride_id}", "rider", rider).json()
    assert (ride["status"], ride["rating"]) == ("completed", 5)
    assert call(stack, "GET", "/drivers/me", "driver", driver).json()["status"] == "available"


def test_bad_input_over_http_is_a_400_naming_the_field(stack):
    response = call(stack, "POST", "/rides", "rider", "e2e-bad", {"service": "taxi", "pickup": CITY_HALL,
                                                                   "dropoff": {"lat": 10.0, "lng": 127.0}})
    assert response.status_code == 400
    assert "dropoff.lat" in response.json()["error"]["fields"]
