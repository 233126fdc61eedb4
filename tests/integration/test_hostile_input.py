"""A hostile client, through the HTTP API: forged and foreign cursors, bodies over the limits, dates at the edges
of time, loose types in a program's params, intakes that could never take a claim, odd path segments and tokens
whose claims have odd shapes. Each gets API.md's 4xx naming the field at fault; none gets a 500 or a crash.
"""

import base64
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote

import pytest

from chalicelib.core.clock import iso
from devstack.keys import AUDIENCE, ISSUER
from tests.integration.actors import DAY, Desk, declare, program

# Without a Lambda context powertools' idempotency warns on every first use of a key; chalicelib expects it.
pytestmark = pytest.mark.filterwarnings("ignore:Couldn't determine the remaining time left")

ADMIN, RIDER, BUSINESS = ("admin", "ops-1"), ("rider", "rider-1"), ("business", "cafe-1")
DRIVER, OTHER_DRIVER = ("driver", "taxi-1"), ("driver", "taxi-2")
CITY_HALL, GANGNAM = {"lat": 37.5663, "lng": 126.9779}, {"lat": 37.4979, "lng": 127.0276}
MIB = 1024 * 1024


def error_of(response) -> dict:
    """API.md's error body, and nothing else."""
    assert response.headers["Content-Type"] == "application/json", response.body
    assert set(response.json_body) == {"error"}, response.body
    return response.json_body["error"]


def refused_on(response, status: int, field: str | None = None) -> dict:
    assert response.status_code == status, response.body[:500]
    error = error_of(response)
    if field is not None:
        assert field in error.get("fields", {}), error
    return error


@pytest.fixture
def incident(api, frozen_clock) -> str:
    return declare(api, frozen_clock.now() - timedelta(minutes=30))


@pytest.fixture
def claims_program(api, incident, frozen_clock) -> str:
    now = frozen_clock.now()
    return program(api, incident, "business_claims", {"intake_opens_at": iso(now),
                                                      "intake_closes_at": iso(now + 30 * DAY),
                                                      "budget_krw": 50_000_000})["program_id"]


# --- cursors ----------------------------------------------------------------------------------------------

def three_notices(desk: Desk) -> tuple[str, tuple]:
    for n in range(3):
        desk.ok(201, "post", "/notices", body={"title": f"notice {n}", "body": "x"})
        desk.clock.advance(minutes=1)
    return "/notices", DRIVER


def three_inquiries(desk: Desk) -> tuple[str, tuple]:
    for n in range(3):
        desk.ok(201, "post", "/inquiries", DRIVER, {"category": "fare", "text": f"question {n}"})
        desk.clock.advance(minutes=1)
    return "/inquiries", DRIVER


def three_claims(desk: Desk) -> tuple[str, tuple]:
    program_id = desk.program()
    for _ in range(3):
        desk.file(program_id)
    return f"/programs/{program_id}/claims", ADMIN


def audited_actions(desk: Desk) -> tuple[str, tuple]:
    three_notices(desk)
    return "/audit", ADMIN


def three_payments(desk: Desk) -> tuple[str, tuple]:
    program_id = desk.program()
    desk.approved_claims(program_id, [100_000, 200_000, 400_000])
    assert desk.pay(program_id)["status"] == "paid"
    return f"/ledger?program_id={program_id}", ADMIN


def get(api, path: str, who: tuple, **query):
    separator = "&" if "?" in path else "?"
    return api("get", path + separator + "&".join(f"{k}={quote(str(v))}" for k, v in query.items()), who)


def page(api, path: str, who: tuple, **query) -> dict:
    answer = get(api, path, who, **query)
    assert answer.status_code == 200, answer.body
    return answer.json_body


def every_page(api, path: str, who: tuple, limit: int) -> list[dict]:
    items, cursor = [], None
    while True:
        answer = page(api, path, who, limit=limit, **({"cursor": cursor} if cursor else {}))
        items += answer["items"]
        if not (cursor := answer["next"]):
            return items


def forgeries_of(cursor: str) -> dict[str, str]:
    """What a client might send instead of the cursor it was given."""
    inner, _, seal = cursor.rpartition(".")
    made_up = base64.urlsafe_b64encode(json.dumps(
        {"source": 0, "key": {"day": {"S": "2022-10-15"}, "audit_id": {"S": "audit_made_up"}}}).encode()).decode()
    return {
        "garbage": "not-a-cursor!",
        "a made-up key": made_up.rstrip("="),
        "a made-up key under a real seal": f"{made_up.rstrip('=')}.{seal}",
        "the seal stripped": inner,
        "the seal altered": f"{inner}.{seal[:-1]}{'A' if seal[-1:] != 'A' else 'B'}",
        "the real cursor twice": f"{cursor}.{cursor}",
    }


@pytest.mark.parametrize("fill", [three_notices, three_inquiries, three_claims, audited_actions, three_payments],
                         ids=["notices", "inquiries", "claims", "audit", "ledger"])
def test_a_list_pages_with_the_cursors_it_hands_out_and_refuses_any_other(api, app, frozen_clock, fill):
    path, who = fill(Desk(api, app, frozen_clock))
    whole = page(api, path, who, limit=200)
    assert whole["next"] is None
    assert len(whole["items"]) >= 3

    assert every_page(api, path, who, limit=2) == whole["items"]

    cursor = page(api, path, who, limit=2)["next"]
    for forgery, forged in forgeries_of(cursor).items():
        answer = get(api, path, who, limit=2, cursor=forged)
        assert refused_on(answer, 400, "cursor")["code"] == "invalid_input", forgery


def test_a_cursor_handed_to_one_driver_does_not_page_another_drivers_inquiries(api, frozen_clock):
    for who in (DRIVER, OTHER_DRIVER, DRIVER, OTHER_DRIVER, DRIVER):
        assert api("post", "/inquiries", who, {"category": "app", "text": f"from {who[1]}"}).status_code == 201
        frozen_clock.advance(minutes=1)
    mine = page(api, "/inquiries", DRIVER, limit=1)["next"]

    refused_on(get(api, "/inquiries", OTHER_DRIVER, limit=1, cursor=mine), 400, "cursor")
    refused_on(get(api, "/inquiries", ("admin", DRIVER[1]), limit=1, cursor=mine), 400, "cursor")
    rest = page(api, "/inquiries", DRIVER, limit=10, cursor=mine)["items"]
    assert [i["driver_id"] for i in rest] == [DRIVER[1]] * 2


def test_a_cursor_is_good_only_for_the_route_and_filters_it_was_issued_for(api, frozen_clock):
    for n in range(4):
        assert api("post", "/inquiries", DRIVER, {"category": "fare", "text": f"question {n}"}).status_code == 201
        frozen_clock.advance(minutes=1)
    for inquiry in page(api, "/inquiries", ADMIN)["items"][:2]:
        assert api("post", f"/inquiries/{inquiry['inquiry_id']}/answer", ADMIN, {"text": "ok"}).status_code == 200
    open_ones = page(api, "/inquiries", ADMIN, status="open", limit=1)["next"]

    refused_on(get(api, "/inquiries", ADMIN, status="answered", cursor=open_ones), 400, "cursor")
    refused_on(get(api, "/inquiries", ADMIN, cursor=open_ones), 400, "cursor")
    refused_on(get(api, "/notices", ADMIN, cursor=open_ones), 400, "cursor")
    refused_on(get(api, "/audit", ADMIN, cursor=open_ones), 400, "cursor")
    next_page = page(api, "/inquiries", ADMIN, status="open", limit=5, cursor=open_ones)["items"]
    assert [i["status"] for i in next_page] == ["open"], "the same list with another page size still pages"


# --- bodies over the limits -------------------------------------------------------------------------------

@pytest.fixture
def body_routes(claims_program, incident) -> dict[str, tuple[str, tuple, dict]]:
    """Each route under test -> (path, caller, a valid body)."""
    return {
        "rides": ("/rides", RIDER, {"service": "taxi", "pickup": CITY_HALL, "dropoff": GANGNAM}),
        "claims": (f"/programs/{claims_program}/claims", BUSINESS,
                   {"business_id": "cafe-1", "business_name": "Cafe", "loss_krw": 100_000, "channel": "web"}),
        "programs": ("/programs", ADMIN, {"name": "Support", "incident_id": incident, "kind": "business_claims",
                                          "params": {"intake_opens_at": "2022-10-16T00:00:00Z",
                                                     "intake_closes_at": "2022-11-16T00:00:00Z",
                                                     "budget_krw": 1_000_000}}),
    }


def send(client, token, who: tuple, path: str, raw: bytes):
    return client.http.post(path, headers={**token(who[0], who[1]), "Content-Type": "application/json"}, body=raw)


@pytest.mark.parametrize("route", ["rides", "claims", "programs"])
def test_a_body_over_one_mib_is_413_payload_too_large_with_the_error_body(client, token, body_routes, route):
    path, who, valid = body_routes[route]

    answer = send(client, token, who, path, json.dumps({**valid, "note": "x" * MIB}).encode())

    assert answer.status_code == 413, answer.body
    error = error_of(answer)
    assert error["code"] == "payload_too_large"
    assert set(error) == {"code", "message"}
    padding = MIB - len(json.dumps({**valid, "note": ""}))
    at_the_limit = json.dumps({**valid, "note": "x" * padding}).encode()
    assert len(at_the_limit) == MIB
    assert refused_on(send(client, token, who, path, at_the_limit), 400, "note")["code"] == "invalid_input"


NUMBER_AT = {"rides": ("pickup", "lat"), "claims": ("loss_krw",), "programs": ("params", "budget_krw")}


def placed(valid: dict, at: tuple[str, ...], raw: bytes) -> bytes:
    """`valid` with the JSON text `raw` (not always valid JSON: `NaN`) as the value at `at`."""
    body = json.loads(json.dumps(valid))
    parent = body
    for name in at[:-1]:
        parent = parent[name]
    parent[at[-1]] = "__RAW__"
    return json.dumps(body).encode().replace(b'"__RAW__"', raw)


def hostile_bodies(route: str, valid: dict) -> list[tuple[bytes, set[str]]]:
    """(raw body, the fields one of which the 400 must name) for one route."""
    at, field = NUMBER_AT[route], ".".join(NUMBER_AT[route])
    bodies = [(placed(valid, ("nested",), b"[" * 10_000 + b"]" * 10_000), {"body"}),
              (placed(valid, ("nested",), b'{"a": ' * 10_000 + b"1" + b"}" * 10_000), {"body"}),
              (placed(valid, at, b"1" + b"0" * 16), {field}),
              (placed(valid, at, b"-1" + b"0" * 16), {field}),
              *((placed(valid, at, word), {"body", field}) for word in (b"NaN", b"Infinity", b"-Infinity", b"1e400"))]
    if route == "claims":
        bodies.append((placed(valid, at, b"-1"), {"loss_krw"}))
    if route == "programs":
        tiers = [{"max_loss_krw": 300_000, "payout_krw": -1}]
        bodies.append((placed(valid, ("params", "tiers"), json.dumps(tiers).encode()), {"params.tiers.0.payout_krw"}))
    return bodies


@pytest.mark.parametrize("route", ["rides", "claims", "programs"])
def test_deep_json_and_numbers_no_field_can_hold_are_a_400_naming_the_field_never_a_500(client, token, body_routes,
                                                                                        route):
    path, who, valid = body_routes[route]
    for raw, named in hostile_bodies(route, valid):
        answer = send(client, token, who, path, raw)
        assert answer.status_code == 400, (raw[:120], answer.status_code, answer.body[:300])
        assert named & set(error_of(answer)["fields"]), (raw[:120], answer.body[:300])
    assert send(client, token, who, path, json.dumps(valid).encode()).status_code == 201, "nothing was half-written"


# --- dates at the edges of time ---------------------------------------------------------------------------

EDGES = ["0001-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "9999-12-31T23:59:59-01:00", "2100-01-01T00:00:00Z",
         "1999-12-31T23:59:59Z", "1666000000"]
DAYS_OUT_OF_RANGE = ["0001-01-01", "1969-12-31", "2100-01-01", "9999-12-31"]


@dataclass
class DateInput:
    """Where a route takes a date: in the body (`body_with`) or in the query (`{}` in `path`)."""

    method: str
    path: str
    who: tuple
    field: str
    normal: str
    body_with: Callable[[object], dict] | None = None

    def send(self, api, value):
        if self.body_with is None:
            return api(self.method, self.path.format(quote(str(value))), self.who)
        return api(self.method, self.path, self.who, self.body_with(value))

    def refused_values(self) -> list:
        if self.body_with is None:
            return [*EDGES, *DAYS_OUT_OF_RANGE] if self.field == "day" else EDGES
        return [*EDGES, 1_666_000_000]  # a JSON number is no date either


@pytest.fixture
def date_inputs(api, incident, claims_program, frozen_clock) -> dict[str, DateInput]:
    now = frozen_clock.now()
    assert api("post", "/components", ADMIN, {"name": "web", "heartbeat_timeout_s": 60}).status_code == 201
    opens, closes = iso(now), iso(now + 30 * DAY)

    def claims(**params):
        return {"name": "Claims", "incident_id": incident, "kind": "business_claims",
                "params": {"intake_opens_at": opens, "intake_closes_at": closes, "budget_krw": 1_000_000, **params}}

    def campaign(**moments):
        return {"title": "How was the outage for you?", "question": "Tell us", "opens_at": opens, "closes_at": closes,
                **moments}

    return {
        "incident": DateInput("post", "/incidents", ADMIN, "started_at", iso(now - timedelta(hours=1)),
                              lambda v: {"components": ["web"], "started_at": v, "summary": "fire"}),
        "notice": DateInput("post", "/notices", ADMIN, "publish_at", iso(now + DAY),
                            lambda v: {"title": "t", "body": "b", "publish_at": v}),
        "campaign-opens": DateInput("post", "/feedback-campaigns", ADMIN, "opens_at", opens,
                                    lambda v: campaign(opens_at=v)),
        "campaign-closes": DateInput("post", "/feedback-campaigns", ADMIN, "closes_at", closes,
                                     lambda v: campaign(closes_at=v)),
        "program-opens": DateInput("post", "/programs", ADMIN, "params.intake_opens_at", opens,
                                   lambda v: claims(intake_opens_at=v)),
        "program-closes": DateInput("post", "/programs", ADMIN, "params.intake_closes_at", closes,
                                    lambda v: claims(intake_closes_at=v)),
        "extension": DateInput("post", f"/programs/{claims_program}/extend", ADMIN, "intake_closes_at",
                               iso(now + 60 * DAY), lambda v: {"intake_closes_at": v}),
        "earnings-from": DateInput("get", "/drivers/me/earnings?to=2022-10-15T06:00:00Z&from={}", DRIVER, "from",
                                   "2022-10-15T00:00:00Z"),
        "earnings-to": DateInput("get", "/drivers/me/earnings?from=2022-10-15T00:00:00Z&to={}", DRIVER, "to",
                                 "2022-10-15T06:00:00Z"),
        "audit-day": DateInput("get", "/audit?day={}", ADMIN, "day", "2022-10-15"),
    }


@pytest.mark.parametrize("where", ["incident", "notice", "campaign-opens", "campaign-closes", "program-opens",
                                   "program-closes", "extension", "earnings-from", "earnings-to", "audit-day"])
def test_a_date_outside_2000_to_2099_or_a_number_is_a_400_naming_the_field_and_a_normal_one_works(api, date_inputs,
                                                                                                  where):
    date_input = date_inputs[where]
    for value in date_input.refused_values():
        answer = date_input.send(api, value)
        assert answer.status_code == 400, (value, answer.status_code, answer.body[:300])
        assert date_input.field in error_of(answer)["fields"], (value, answer.body[:300])
    worked = date_input.send(api, date_input.normal)
    assert worked.status_code in (200, 201), worked.body


# --- a program's params are as strict as a body -----------------------------------------------------------

@pytest.mark.parametrize(("params", "field"), [
    ({"budget_krw": True}, "params.budget_krw"),
    ({"budget_krw": "100000"}, "params.budget_krw"),
    ({"budget_krw": 12.0}, "params.budget_krw"),
    ({"intake_opens_at": 1_666_000_000}, "params.intake_opens_at"),
    ({"tiers": [{"max_loss_krw": "300000", "payout_krw": 30_000}]}, "params.tiers.0.max_loss_krw"),
])
def test_loosely_typed_program_params_are_a_400_naming_the_param(api, incident, frozen_clock, params, field):
    now = frozen_clock.now()
    sent = {"intake_opens_at": iso(now), "intake_closes_at": iso(now + 30 * DAY), "budget_krw": 1_000_000, **params}
    answer = api("post", "/programs", ADMIN, {"name": "Claims", "incident_id": incident, "kind": "business_claims",
                                              "params": sent})
    assert list(refused_on(answer, 400, field)["fields"]) == [field]


# --- an intake that could never take a claim --------------------------------------------------------------

def test_a_program_whose_intake_has_closed_or_closes_before_it_opens_is_refused(api, incident, frozen_clock):
    now = frozen_clock.now()

    def claims_program(opens_at, closes_at):
        return api("post", "/programs", ADMIN, {"name": "Claims", "incident_id": incident, "kind": "business_claims",
                                                "params": {"intake_opens_at": iso(opens_at),
                                                           "intake_closes_at": iso(closes_at), "budget_krw": 10**6}})

    refused_on(claims_program(now - 30 * DAY, now - DAY), 400, "params.intake_closes_at")
    refused_on(claims_program(now - 30 * DAY, now), 400, "params.intake_closes_at")
    refused_on(claims_program(now + 10 * DAY, now + 5 * DAY), 400, "params.intake_closes_at")
    cash = api("post", "/programs", ADMIN, {"name": "Cash", "incident_id": incident, "kind": "message_cash",
                                            "params": {"amount_krw": 50_000, "budget_krw": 10**6,
                                                       "intake_closes_at": iso(now - DAY)}})
    refused_on(cash, 400, "params.intake_closes_at")
    assert claims_program(now - DAY, now + timedelta(seconds=1)).status_code == 201, "open now, if briefly"


# --- odd path segments ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("method", "path", "who", "body"), [
    pytest.param("post", "/programs/{}/claims", BUSINESS,
                 {"business_id": "cafe-1", "business_name": "Cafe", "loss_krw": 1, "channel": "web"}, id="claims"),
    pytest.param("post", "/programs/{}/extend", ADMIN, {"intake_closes_at": "2022-12-01T00:00:00Z"}, id="extend"),
    pytest.param("post", "/claims/{}/review", ADMIN, {"decision": "approve"}, id="review"),
    pytest.param("post", "/rides/{}/cancel", RIDER, {}, id="cancel"),
    pytest.param("post", "/notices/{}/read", DRIVER, None, id="read"),
    pytest.param("post", "/payouts/{}/approve", ("admin", "ops-2", {"approver": True}), None, id="approve"),
])
def test_an_empty_overlong_or_control_character_id_is_a_404_with_the_error_body(api, method, path, who, body):
    for odd in ("", "c" * 2048, "clm_\x01", "clm_\x7f", " clm_1"):
        answer = api(method, path.format(odd), who, body)
        assert refused_on(answer, 404)["code"] == "not_found", (odd[:10], answer.body[:200])
        assert "c" * 300 not in answer.body.decode(), "the answer does not echo a 2 KB id"


# --- tokens whose claims have odd shapes ------------------------------------------------------------------

@pytest.mark.parametrize("claims", [
    pytest.param({"role": ["admin"]}, id="role-list"),
    pytest.param({"role": {"name": "admin"}}, id="role-object"),
    pytest.param({"role": 1}, id="role-number"),
    pytest.param({"role": None, "cognito:groups": [["admin"]]}, id="groups-nested"),
    pytest.param({"role": None, "cognito:groups": ["admin", 7]}, id="groups-with-a-number"),
    pytest.param({"sub": "ops-1 "}, id="sub-trailing-space"),
    pytest.param({"sub": " ops-1"}, id="sub-leading-space"),
    pytest.param({"sub": "ops\x00-1"}, id="sub-control-character"),
])
def test_a_validly_signed_token_with_an_odd_claim_is_a_401_never_a_crash(client, dev_keys, claims):
    usual = {"sub": "ops-1", "role": "admin", "iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 600}
    odd = dev_keys.sign({k: v for k, v in {**usual, **claims}.items() if v is not None})

    answer = client.http.get("/notices", headers={"Authorization": f"Bearer {odd}"})

    assert refused_on(answer, 401)["code"] == "unauthorized"
    assert client.http.get("/notices", headers={"Authorization": f"Bearer {dev_keys.sign(usual)}"}).status_code == 200
