"""Hostile requests for every operation of an OpenAPI document, what they must get, and a raw HTTP sender.

`cases()` turns the document into a fixed list of `Case`s (no randomness but a seeded `random.Random`): bodies too
deep, too big, of the wrong type or with loose and out-of-range values in every field; forged and foreign cursors;
odd path segments; tokens whose claims have odd shapes; oversized headers. `send()` speaks HTTP with `http.client`
so paths go out byte for byte (requests/urllib3 would resolve `..` and refuse some of them), and a connection the
server drops is told apart from an answer. `problems()` says what is wrong with an answer, by API.md.
"""

import base64
import contextlib
import copy
import http.client
import json
import random
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization

from devstack.keys import AUDIENCE, ISSUER, KEY_ID, DevKeys

HTTP_METHODS = ("get", "put", "post", "delete", "patch")
MIB = 1024 * 1024
EDGE_DATES = {"date.0001": "0001-01-01T00:00:00Z", "date.1969": "1969-12-31T23:59:59Z",
              "date.9999-01:00": "9999-12-31T23:59:59-01:00", "date.2100": "2100-01-01T00:00:00Z",
              "date.number": 1700000000}
EDGE_DAYS = {"day.0001": "0001-01-01", "day.1969": "1969-12-31", "day.9999": "9999-12-31", "day.2100": "2100-01-01",
             "day.number": "1700000000"}
LOOSE_INTEGERS = {"int.1e16": 10**16, "int.-1e16": -(10**16), "int.1e400": 10**400, "int.true": True,
                  "int.string": "100000", "int.float": 12.0, "int.NaN": float("nan")}
ODD_NUMBERS = {"number.NaN": float("nan"), "number.Infinity": float("inf"), "number.1e400": "__RAW__1e400"}
ODD_STRINGS = {"string.control": "ctl\u0000\u0001\u0007\u001b[31m\u007f\u2028\r\n", "string.surrogate": "x\ud800y",
               "string.100KB": "x" * 100 * 1024}
ODD_LIMITS = {"limit.0": "0", "limit.-1": "-1", "limit.1e20": str(10**20), "limit.abc": "abc"}
ODD_IDS = {"path.empty": "", "path.2KB": "i" * 2048, "path.nul": "a%00b", "path.dotdot": "..",
           "path.dotdot-encoded": "%2E%2E", "path.unicode": quote("한글-🚕"), "path.bad-utf8": "%FF%FE"}
# (class, claims to change, claims to drop, must be a 401 on protected routes: API.md's Auth)
ODD_CLAIMS = [
    ("claims.role-list", {"role": ["{role}"]}, (), True),
    ("claims.role-object", {"role": {"name": "{role}"}}, (), True),
    ("claims.role-number", {"role": 7}, (), True), ("claims.role-null", {"role": None}, (), False),
    ("claims.groups-nested", {"cognito:groups": [["{role}"]]}, ("role",), True),
    ("claims.groups-object", {"cognito:groups": {"0": "{role}"}}, ("role",), True),
    ("claims.groups-string", {"cognito:groups": "{role}"}, ("role",), False),
    ("claims.sub-trailing-space", {"sub": "hostile-{role} "}, (), True),
    ("claims.sub-leading-space", {"sub": " hostile-{role}"}, (), True),
    ("claims.sub-nul", {"sub": "hostile\u0000{role}"}, (), True),
    ("claims.sub-newline", {"sub": "hostile\n{role}"}, (), True),
    ("claims.sub-number", {"sub": 12345}, (), True), ("claims.sub-list", {"sub": ["hostile-{role}"]}, (), True),
    ("claims.approver-string", {"approver": "true"}, (), False), ("claims.exp-1e20", {"exp": 10**20}, (), False),
    ("claims.exp-1e400", {"exp": 10**400}, (), False), ("claims.exp-infinity", {"exp": float("inf")}, (), False),
    ("claims.exp-string", {"exp": "never"}, (), False),
]
# Values a 400 names as the whole body (`fields: {"body": "malformed JSON"}`), not as the field they sit in.
MALFORMED = {"int.NaN", "number.NaN", "number.Infinity", "number.1e400", "string.surrogate"}
# Fields the base request needs to be valid that the document's schema does not tell.
BASE_FIELDS = {"ClaimIn": {"loss_krw": 100_000, "evidence": ["receipt"]},
               "RideRequest": {"pickup": {"lat": 37.5665, "lng": 126.978},
                               "dropoff": {"lat": 37.4979, "lng": 127.0276}}}
# Program params are free-form in the document (`see API.md`): the kinds' params, as API.md lists them.
PROGRAM_PARAMS = {
    "business_claims": {"intake_opens_at": "{opens}", "intake_closes_at": "{closes}", "budget_krw": 10_000_000,
                        "tiers": [{"max_loss_krw": 300_000, "payout_krw": 30_000}]},
    "rider_credit": {"amount_krw": 3_000},
    "voucher": {"items": [{"name": "3,000 KRW off", "valid_days": 30}]},
}


class Signer:
    """Tokens signed with the dev key for any claims; the key is parsed once (`DevKeys.sign` parses it per token)."""

    def __init__(self, keys: DevKeys):
        self.key = serialization.load_pem_private_key(keys.ensure().private_key_path.read_bytes(), password=None)

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": KEY_ID})

    def token(self, role: str, sub: str) -> str:
        """A valid token for `sub` in `role` (admins are approvers), for an hour."""
        return self.sign(self.claims(role, sub))

    @staticmethod
    def claims(role: str, sub: str) -> dict[str, Any]:
        now = int(time.time())
        claims = {"sub": sub, "role": role, "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 3600}
        return {**claims, "approver": True} if role == "admin" else claims


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Case:
    """One hostile request and what API.md says it must get (`expect`: None, "refused", "413" or "401")."""

    label: str
    method: str
    target: str
    role: str | None
    hostility: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    field: str | None = None
    expect: str | None = None


@dataclass(frozen=True)
class Outcome:
    status: int | None
    content_type: str = ""
    body: bytes = b""
    dropped: str | None = None


def send(base: str, case: Case, timeout_s: float = 30) -> Outcome:
    """Send `case` on a fresh connection; a connection closed, reset or timed out without an answer is `dropped`."""
    where = urlsplit(base)
    connection = http.client.HTTPConnection(where.hostname, where.port, timeout=timeout_s)
    headers = {**case.headers, "Connection": "close"}
    if case.body is not None:
        headers.setdefault("Content-Type", "application/json")
    try:
        with contextlib.suppress(OSError):  # the server may answer (413) before reading all of a big body
            connection.request(case.method, case.target, body=case.body, headers=headers)
        answer = connection.getresponse()
        return Outcome(answer.status, answer.getheader("Content-Type") or "", answer.read())
    except (OSError, http.client.HTTPException) as exc:
        return Outcome(None, dropped=f"{type(exc).__name__}: {exc}"[:120])
    finally:
        connection.close()


def problems(case: Case, outcome: Outcome, base_refused: bool = False) -> dict[str, list[str]]:
    """What is wrong with `outcome`, by the test that asserts it: `crash`, `error_body` and `contract`.

    `base_refused`: the same request without its hostility got a 400 too, so the 400 need not name the field.
    """
    found: dict[str, list[str]] = {"crash": [], "error_body": [], "contract": []}
    if outcome.dropped:
        found["crash"].append(f"dropped ({outcome.dropped})")
        return found
    status = outcome.status
    if status >= 500:
        found["crash"].append(f"{status}")
    if status >= 400:
        error = error_of(outcome)
        if error is None:
            found["error_body"].append(f"not API.md's error body ({outcome.content_type or 'no content type'})")
        elif status == 400 and case.field and not error.get("fields"):
            found["error_body"].append("a 400 on a field without `fields`")
        elif status == 400 and case.field and not base_refused and all(case.field not in f for f in error["fields"]):
            found["contract"].append(f"400 `fields` do not name {case.field}")
    if case.expect == "refused" and status < 400:
        found["contract"].append(f"accepted ({status})")
    elif case.expect == "413" and (status != 413 or (error_of(outcome) or {}).get("code") != "payload_too_large"):
        found["contract"].append(f"not 413 payload_too_large ({status})")
    elif case.expect == "401" and status != 401:
        found["contract"].append(f"not 401 ({status})")
    return found


def error_of(outcome: Outcome) -> dict | None:
    """API.md's `error` object of the answer, or None when the answer is not that body (HTML, text, other JSON)."""
    if not outcome.content_type.startswith("application/json"):
        return None
    try:
        error = json.loads(outcome.body)["error"]
    except (ValueError, KeyError, TypeError):
        return None
    if not (isinstance(error, dict) and isinstance(error.get("message"), str)
            and re.fullmatch(r"[a-z][a-z0-9_]*", str(error.get("code")))
            and isinstance(error.get("fields", {}), dict)):
        return None
    return error


@dataclass
class Seed:
    """What exists on the stack before the fuzz: ids for path parameters and cursors the server issued."""

    ids: dict[str, str] = field(default_factory=dict)
    cursors: dict[tuple[str, str], str] = field(default_factory=dict)  # (operation, role) -> `next`, for seed-<role>
    notes: list[str] = field(default_factory=list)


class Generator:
    """The hostile cases of one OpenAPI document, for the callers `tokens` holds (role -> bearer token)."""

    def __init__(self, document: dict, tokens: dict[str, str], seed: Seed, signer: Signer, skip: set[str]):
        self.document, self.tokens, self.seed, self.signer, self.skip = document, tokens, seed, signer, skip
        self.random = random.Random(20221015)
        self.now = datetime.now(UTC)
        self.serial = 0

    def operations(self):
        for path, item in self.document["paths"].items():
            for method, operation in item.items():
                label = f"{method.upper()} {path}"
                if method in HTTP_METHODS and label not in self.skip:
                    yield label, method.upper(), path, operation

    def cases(self) -> list[Case]:
        every_role = [*self.tokens, None]
        found = []
        for label, method, path, operation in self.operations():
            allowed = operation.get("x-roles") if operation.get("security") else every_role
            for role in every_role:
                found.append(self.case(label, method, path, operation, role, "plain"))
                if role in allowed:
                    found.extend(self.as_caller(label, method, path, operation, role))
                else:
                    found.extend(self.as_outsider(label, method, path, operation, role))
            found.extend(self.odd_headers(label, method, path, operation, allowed[0], allowed is not every_role))
        return found

    # -- one request -------------------------------------------------------------------------------------

    def case(self, label, method, path, operation, role, hostility, *, body: Any = "base", query=None, ids=None,
             headers=None, field=None, expect=None) -> Case:
        """The operation's base request as `role`, with whatever the keyword arguments replace."""
        self.serial += 1
        values = {p["name"]: self.seed.ids.get(p["name"], "hostile-missing") for p in params(operation, "path")}
        values.update(ids or {})
        target = path.format(**values)
        base_query = {p["name"]: self.example(p["schema"], p["name"]) for p in params(operation, "query")
                      if p.get("required")}
        query = {**base_query, **(query or {})}
        if query:
            target += "?" + urlencode(query, quote_via=quote)
        sent = dict(headers if headers is not None else self.bearer(role))
        if any(p["name"] == "Idempotency-Key" for p in params(operation, "header")):
            sent["Idempotency-Key"] = f"hostile-{self.serial}"
        if body == "base":
            body = self.bodies(operation, role)[0][0] if "requestBody" in operation else None
        if body is not None and not isinstance(body, bytes):
            body = encode(body)
        return Case(label, method, target, role, hostility, sent, body, field, expect)

    def bearer(self, role: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}

    # -- what a caller of the operation sends ------------------------------------------------------------

    def as_caller(self, label, method, path, operation, role) -> list[Case]:
        one = self._one(label, method, path, operation, role)
        found = []
        if "requestBody" in operation:
            found += [one(name, body=raw, expect="refused") for name, raw in structural_bodies()]
            found += [one("body.2MiB", body=padded(2 * MIB), expect="413"),
                      one("body.1MiB+1", body=padded(MIB + 1), expect="413")]
            for base, schema in self.bodies(operation, role):
                found.append(one("body.nested-33", body=nested_inside(base), expect="refused"))
                for where, kind in leaves(schema, self.document):
                    for name, value in hostile_values(kind).items():
                        named = next(str(step) for step in reversed(where) if isinstance(step, str))
                        found.append(one(name, body=with_value(base, where, value, schema, self),
                                         field=None if name in MALFORMED else named,
                                         expect=None if kind == "string" else "refused"))
        for parameter in params(operation, "query"):
            name, schema = parameter["name"], concrete(parameter["schema"], self.document)
            if name == "cursor":
                found += [one(kind, query={"cursor": cursor}, field="cursor", expect=expect)
                          for kind, cursor, expect in self.cursors(label, role)]
            elif name == "limit":
                found += [one(kind, query={"limit": value}, field="limit", expect="refused")
                          for kind, value in ODD_LIMITS.items()]
            elif schema.get("format") in ("date-time", "date"):
                edges = EDGE_DATES if schema["format"] == "date-time" else EDGE_DAYS
                found += [one(f"query.{kind}", query={name: str(value)}, field=name, expect="refused")
                          for kind, value in edges.items()]
        for parameter in params(operation, "path"):
            found += [one(kind, ids={parameter["name"]: value}, expect=path_expectation(path, parameter, kind))
                      for kind, value in ODD_IDS.items()]
        return found

    def as_outsider(self, label, method, path, operation, role) -> list[Case]:
        """A few of the worst requests from a caller the operation refuses: refused before they hurt."""
        one = self._one(label, method, path, operation, role, expect="refused")
        found = []
        if "requestBody" in operation:
            found += [one("body.deep-array-10000", body=b"[" * 10_000 + b"]" * 10_000),
                      one("body.2MiB", body=padded(2 * MIB))]
        if any(p["name"] == "cursor" for p in params(operation, "query")):
            found.append(one("cursor.random-b64", query={"cursor": self.random_b64(48)}))
        if params(operation, "path"):
            parameter = params(operation, "path")[0]
            found.append(one("path.empty", ids={parameter["name"]: ""},
                             expect=path_expectation(path, parameter, "path.empty")))
        return found

    def odd_headers(self, label, method, path, operation, role, protected: bool) -> list[Case]:
        one = self._one(label, method, path, operation, role)
        found = []
        for name, changes, dropped, must_401 in ODD_CLAIMS:
            claims = self.signer.claims(role or "rider", f"hostile-{role or 'rider'}")
            claims.update({key: fill(value, role or "rider") for key, value in changes.items()})
            for key in dropped:
                claims.pop(key, None)
            found.append(one(name, headers={"Authorization": f"Bearer {self.signer.sign(claims)}"},
                             expect="401" if must_401 and protected else None))
        big = "h" * 11 * 1024
        # API Gateway refuses a request line and headers over 10,240 bytes, whoever calls
        found += [one("header.11KB", headers={**self.bearer(role), "X-Hostile": big}, expect="refused"),
                  one("header.70KB", headers={**self.bearer(role), "X-Hostile": big * 7}, expect="refused"),
                  one("header.11KB-bearer", headers={"Authorization": f"Bearer {big}"}, expect="refused")]
        return found

    def _one(self, label, method, path, operation, role, **defaults):
        def one(hostility, **changes):
            return self.case(label, method, path, operation, role, hostility, **{**defaults, **changes})
        return one

    # -- values ------------------------------------------------------------------------------------------

    def cursors(self, label: str, role: str) -> list[tuple[str, str, str]]:
        """(class, cursor, expectation): forged ones, and real ones issued for another list."""
        b64 = self.b64json
        forged = [("cursor.random-b64", self.random_b64(48)), ("cursor.b64-json-foreign", b64({"pk": "x", "sk": 1})),
                  ("cursor.b64-json-keys", b64({"source": 99, "key": {"ride_id": "x", "bogus": {"S": "y"}}})),
                  ("cursor.b64-json-list", b64([1, 2, 3])), ("cursor.padded-garbage", "Zm9v===garbage=="),
                  ("cursor.forged-seal", f"{b64({'source': 0, 'key': None})}.{self.random_b64(32)}"),
                  ("cursor.long", self.random_b64(8192))]
        found = [(kind, cursor, "refused") for kind, cursor in forged]
        own = self.seed.cursors.get((label, role))
        if own:
            found.append(("cursor.other-caller", own, "refused" if role != "admin" else None))
        foreign = sorted(cursor for (other, _), cursor in self.seed.cursors.items() if other != label)
        if foreign:
            found.append(("cursor.other-route", foreign[0], "refused"))
        return found

    def random_b64(self, size: int) -> str:
        return base64.urlsafe_b64encode(self.random.randbytes(size)).decode().rstrip("=")[:size]

    @staticmethod
    def b64json(value) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    def bodies(self, operation: dict, role: str | None) -> list[tuple[Any, dict]]:
        """Valid-looking bodies of the operation, each with the schema its fields are walked by."""
        schema = concrete(operation["requestBody"]["content"]["application/json"]["schema"], self.document)
        if schema.get("title") == "ProgramIn":
            found = []
            for kind, program_params in PROGRAM_PARAMS.items():
                body = {"name": "Hostile", "incident_id": self.seed.ids.get("incident_id", "inc_missing"),
                        "kind": kind, "params": self.filled(program_params)}
                found.append((body, schema_of(body)))
            return found
        body = {**self.example(schema, "", role=role), **BASE_FIELDS.get(schema.get("title"), {})}
        if schema.get("title") == "ComponentIn":
            body = {"name": f"hostile-{self.serial}", "heartbeat_timeout_s": 60}
        return [(body, schema)]

    def filled(self, value):
        opens, closes = iso(self.now - timedelta(hours=1)), iso(self.now + timedelta(days=14))
        return json.loads(json.dumps(value).replace("{opens}", opens).replace("{closes}", closes))

    def example(self, schema: dict, name: str, role: str | None = None, required_only: bool = True):
        """A valid-looking value for `schema` (field `name`), using the seeded ids where a field names one."""
        schema = concrete(schema, self.document)
        if name == "business_id":
            return f"hostile-{role}"
        if name in self.seed.ids:
            return self.seed.ids[name]
        kind = schema.get("type")
        if "enum" in schema:
            return schema["enum"][0]
        if kind == "object":
            wanted = schema.get("required", []) if required_only else schema.get("properties", {})
            return {key: self.example(schema["properties"][key], key, role) for key in wanted}
        if kind == "array":
            return [self.example(schema.get("items", {}), name, role)] * max(1, schema.get("minItems", 1))
        if kind == "integer":
            return schema.get("minimum", schema.get("exclusiveMinimum", 0) + 1)
        if kind == "number":
            low, high = schema.get("minimum", 0), schema.get("maximum", 2)
            return round((low + high) / 2, 4)
        if kind == "boolean":
            return False
        if schema.get("format") == "date-time":
            later = timedelta(days=30) if "close" in name else timedelta(days=2)
            return iso(self.now + (timedelta(hours=-2) if "start" in name or "open" in name else later))
        if schema.get("format") == "date":
            return self.now.date().isoformat()
        if name == "components":
            return self.seed.ids.get("component", "hostile-comp")
        return "hostile"


def path_expectation(path: str, parameter: dict, kind: str) -> str | None:
    """Odd ids are refused; but an empty last segment is the list route (`/incidents/` is `/incidents`)."""
    return None if kind == "path.empty" and path.endswith(f"{{{parameter['name']}}}") else "refused"


def params(operation: dict, where: str) -> list[dict]:
    return [p for p in operation.get("parameters", []) if p["in"] == where]


def concrete(schema: dict, document: dict) -> dict:
    """`schema` with `$ref` resolved and `anyOf` narrowed to its first option that is not null."""
    while True:
        if "$ref" in schema:
            schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
        elif "anyOf" in schema:
            schema = next(s for s in schema["anyOf"] if s.get("type") != "null")
        else:
            return schema


def leaves(schema: dict, document: dict, where: tuple = (), depth: int = 0):
    """(path, kind) of every integer, number, date-time and free-text string field under `schema`."""
    schema = concrete(schema, document)
    kind = schema.get("type")
    if depth > 6:
        return
    if kind == "object":
        for key, child in schema.get("properties", {}).items():
            yield from leaves(child, document, (*where, key), depth + 1)
    elif kind == "array":
        yield from leaves(schema.get("items", {}), document, (*where, 0), depth + 1)
    elif kind in ("integer", "number"):
        yield where, kind
    elif kind == "string" and schema.get("format") == "date-time":
        yield where, "date-time"
    elif kind == "string" and "enum" not in schema and where:
        yield where, "string"


def hostile_values(kind: str) -> dict[str, Any]:
    return {"integer": LOOSE_INTEGERS, "number": ODD_NUMBERS, "date-time": EDGE_DATES, "string": ODD_STRINGS}[kind]


def schema_of(value) -> dict:
    """A schema for a literal value (program params are free-form in the document)."""
    if isinstance(value, dict):
        return {"type": "object", "properties": {k: schema_of(v) for k, v in value.items()}}
    if isinstance(value, list):
        return {"type": "array", "items": schema_of(value[0])}
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return {"type": "integer"}
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT.*Z", value):
        return {"type": "string", "format": "date-time"}
    return {"type": "string"}


def with_value(base, where: tuple, value, schema: dict, generator: Generator):
    """A copy of `base` with `value` at `where`, the containers on the way made from the schema if missing."""
    body = copy.deepcopy(base)
    node, node_schema = body, concrete(schema, generator.document)
    for step in where[:-1]:
        node_schema = concrete(node_schema["items"] if isinstance(step, int) else node_schema["properties"][step],
                               generator.document)
        if isinstance(step, int):
            if not node:
                node.append(generator.example(node_schema, ""))
        elif step not in node or not isinstance(node[step], dict | list):
            node[step] = generator.example(node_schema, str(step))
        node = node[step]
    if isinstance(where[-1], int):
        node[:] = [value]
    else:
        node[where[-1]] = value
    return body


def structural_bodies() -> list[tuple[str, bytes]]:
    return [("body.deep-array-10000", b"[" * 10_000 + b"]" * 10_000),
            ("body.deep-object-10000", b'{"a":' * 10_000 + b"1" + b"}" * 10_000),
            ("body.not-json", b"{not json"), ("body.array", b"[]"), ("body.number", b"42"), ("body.string", b'"x"'),
            ("body.NaN", b"NaN"), ("body.Infinity", b"Infinity"), ("body.empty", b"")]


def padded(size: int) -> bytes:
    """A JSON object of exactly `size` bytes."""
    return b'{"text": "' + b"x" * (size - 12) + b'"}'


def nested_inside(base) -> dict:
    """`base` with arrays nested so that the document is 33 levels deep (inside `params` when there is one)."""
    body = copy.deepcopy(base)
    if isinstance(body.get("params"), dict):
        body["params"]["nested"] = nest(31)
    else:
        body["nested"] = nest(32)
    return body


def nest(levels: int):
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value


def encode(value) -> bytes:
    return json.dumps(value).replace('"__RAW__1e400"', "1e400").encode()


def fill(value, role: str):
    return json.loads(json.dumps(value).replace("{role}", role)) if value is not None else None

