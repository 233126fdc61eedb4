"""Who a caller is on a ride is their role and their id together: a rider's id in a driver's token (or the
other way round) is somebody else, who may neither see the ride nor cancel it."""

SEOUL_CITY_HALL = {"lat": 37.5663, "lng": 126.9779}
GANGNAM = {"lat": 37.4979, "lng": 127.0276}


def ride_offered_to(api, driver: str, rider: str) -> str:
    me = ("driver", driver)
    assert api("put", "/drivers/me", me, {"name": driver, "services": ["taxi"]}).status_code == 200
    assert api("post", "/drivers/me/status", me, {"status": "online", **SEOUL_CITY_HALL}).status_code == 200
    wanted = {"service": "taxi", "pickup": SEOUL_CITY_HALL, "dropoff": GANGNAM}
    created = api("post", "/rides", ("rider", rider), wanted)
    assert (created.status_code, created.json_body["driver_id"]) == (201, driver)
    return created.json_body["ride_id"]


def test_a_driver_token_with_the_riders_id_can_neither_see_nor_cancel_the_riders_ride(api):
    ride_id = ride_offered_to(api, "driver-1", rider="kim")

    assert api("get", f"/rides/{ride_id}", ("driver", "kim")).status_code == 404
    assert api("post", f"/rides/{ride_id}/cancel", ("driver", "kim"), {"reason": "not mine"}).status_code == 403

    seen = api("get", f"/rides/{ride_id}", ("rider", "kim"))
    assert (seen.status_code, seen.json_body["status"], seen.json_body["driver_id"]) == (200, "offered", "driver-1")


def test_a_rider_token_with_the_drivers_id_can_neither_see_nor_cancel_the_drivers_ride(api):
    ride_id = ride_offered_to(api, "lee", rider="rider-1")
    assert api("post", f"/rides/{ride_id}/accept", ("driver", "lee")).status_code == 200

    assert api("get", f"/rides/{ride_id}", ("rider", "lee")).status_code == 404
    assert api("post", f"/rides/{ride_id}/cancel", ("rider", "lee"), {}).status_code == 403

    seen = api("get", f"/rides/{ride_id}", ("driver", "lee"))
    assert (seen.status_code, seen.json_body["status"]) == (200, "accepted")
    assert api("get", "/drivers/me", ("driver", "lee")).json_body["status"] == "busy"
