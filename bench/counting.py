"""What the DynamoDB benchmarks share: counted DynamoDB calls, a cheaper moto, the deployed stack, Seoul rides.

Every DynamoDB call of any botocore client (PynamoDB's and powertools' idempotency alike) is counted by
wrapping botocore's `BaseClient._make_api_call` inside `counting_dynamodb()`, and recorded as a `Call` inside
`recorded()`. The moto patches change the emulator's cost only: what the app sends, what it gets back and
what the counts see are unchanged.
"""

import copy
import inspect
import os
import random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import botocore.client
from moto.dynamodb import models as moto_dynamodb
from moto.dynamodb.models.table import Table as MotoTable
from pynamodb.models import Model

from chalicelib.core.aws import client as aws_client
from chalicelib.core.config import get_settings
from chalicelib.core.dynamo import connection as dynamo_connection
from chalicelib.rides.schemas import RideRequest
from devstack import cloud

STACK_NAME = "o2o-mobility-bench"
SEOUL_LAT = (37.45, 37.65)
SEOUL_LNG = (126.85, 127.15)


# --- counted calls -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Call:
    """One DynamoDB round trip: what it was and how many items it read."""

    label: str
    items_read: int


def round_trips_of(calls: Sequence[Call]) -> int:
    """DynamoDB round trips of a recording: one a call."""
    return len(calls)


def items_read_of(calls: Sequence[Call]) -> int:
    """Items DynamoDB read over all the calls of a recording."""
    return sum(call.items_read for call in calls)


class Counted:
    """`round_trips` and `items_read` of a record (a dataclass) whose `calls` field holds its DynamoDB calls."""

    calls: tuple[Call, ...]

    @property
    def round_trips(self) -> int:
        return round_trips_of(self.calls)

    @property
    def items_read(self) -> int:
        return items_read_of(self.calls)


_recording: list[Call] | None = None


def _items_in(operation: str, response: dict) -> int:
    """Items DynamoDB read to answer: scanned items of a query or scan, returned items of a get."""
    if operation in ("Query", "Scan"):
        return int(response.get("ScannedCount", response.get("Count", 0)))
    if operation == "GetItem":
        return 1 if "Item" in response else 0
    if operation in ("BatchGetItem", "TransactGetItems"):
        found = response.get("Responses", {})
        return sum(len(items) for items in found.values()) if isinstance(found, dict) else len(found)
    return 0


def _label(operation: str, params: dict) -> str:
    """`Operation(table[.index])` with the stack prefix dropped, e.g. `Query(driver-spots.by_cell)`."""
    if operation.startswith("Transact"):
        return f"{operation}({len(params.get('TransactItems', []))} items)"
    table = str(params.get("TableName", "")).removeprefix(f"{STACK_NAME}-")
    index = params.get("IndexName")
    return f"{operation}({table}.{index})" if index else f"{operation}({table})"


@contextmanager
def counting_dynamodb() -> Iterator[None]:
    """Record every DynamoDB call of any botocore client into `_recording` while it is a list."""
    original = botocore.client.BaseClient._make_api_call

    def counted(client, operation: str, params: dict):
        if _recording is None or client.meta.service_model.service_name != "dynamodb":
            return original(client, operation, params)
        response = {}
        try:
            response = original(client, operation, params)
            return response
        finally:
            _recording.append(Call(_label(operation, params), _items_in(operation, response)))

    botocore.client.BaseClient._make_api_call = counted
    try:
        yield
    finally:
        botocore.client.BaseClient._make_api_call = original


@contextmanager
def recorded() -> Iterator[list[Call]]:
    """The DynamoDB calls made inside the block (counted while `counting_dynamodb()` is on)."""
    global _recording
    _recording = calls = []
    try:
        yield calls
    finally:
        _recording = None


# --- a cheaper moto ----------------------------------------------------------------------------------------

def _key_of(backend, operation: dict) -> dict:
    """The primary key a TransactWriteItems operation names."""
    if "Key" in operation:
        return operation["Key"]
    table = backend.get_table(operation["TableName"])
    return {name: operation["Item"][name] for name in (table.hash_key_attr, table.range_key_attr) if name}


@contextmanager
def item_level_moto_rollback() -> Iterator[None]:
    """Make moto's TransactWriteItems back up only the items it writes, not whole tables.

    moto deep-copies every table a transaction touches so it can roll back on failure: with 100,000
    drivers that is seconds and hundreds of megabytes per transaction (the process ran out of 24 GB).
    """
    original = moto_dynamodb.DynamoDBBackend.transact_write_items
    real_copy = moto_dynamodb.copy

    class TablesAsIs:
        """`copy` for moto's module: tables are not copied, everything else is."""

        copy = staticmethod(real_copy.copy)

        @staticmethod
        def deepcopy(value, *args):
            return value if isinstance(value, MotoTable) else real_copy.deepcopy(value, *args)

    def transact_write_items(backend, transact_items: list[dict]) -> None:
        saved = []
        for item in transact_items:
            for operation in item.values():
                key = _key_of(backend, operation)
                before = backend.get_item(operation["TableName"], key)
                saved.append((operation["TableName"], key, before.to_json()["Attributes"] if before else None))
        try:
            return original(backend, transact_items)
        except Exception:
            for table_name, key, attributes in reversed(saved):
                backend.delete_item(table_name, key)
                if attributes is not None:
                    backend.put_item(table_name, copy.deepcopy(attributes))
            raise

    moto_dynamodb.copy, moto_dynamodb.DynamoDBBackend.transact_write_items = TablesAsIs, transact_write_items
    try:
        yield
    finally:
        moto_dynamodb.copy, moto_dynamodb.DynamoDBBackend.transact_write_items = real_copy, original


@contextmanager
def partition_moto_queries() -> Iterator[None]:
    """Make moto answer a query on a table's own keys from that partition key's items alone.

    moto's Table.query (without an index) sorts every item of the table on each call and then keeps one
    partition's: with 200 drivers x 24 hourly buckets that is ~65 ms per query, so the wall time would
    measure the emulator's table size.
    """
    original = MotoTable.query
    signature = inspect.signature(original)

    def query(table, *args, **kwargs):
        arguments = signature.bind(table, *args, **kwargs).arguments
        hash_key = arguments.get("hash_key")
        if arguments.get("index_name") or hash_key is None:
            return original(table, *args, **kwargs)
        found = table.items.get(hash_key)
        items = [] if found is None else list(found.values()) if table.range_key_attr else [found]
        table.all_items = lambda: items  # shadows the method for this call only
        try:
            return original(table, *args, **kwargs)
        finally:
            del table.all_items

    MotoTable.query = query
    try:
        yield
    finally:
        MotoTable.query = original


# --- the stack ---------------------------------------------------------------------------------------------

def deploy_stack() -> None:
    """The infra/ tables in moto, their names in the environment, and no stale cached clients."""
    os.environ.update(cloud.deploy(stack_name=STACK_NAME))
    get_settings.cache_clear()
    aws_client.cache_clear()
    dynamo_connection.cache_clear()
    models = list(Model.__subclasses__())
    while models:
        model = models.pop()
        model._connection = None
        models.extend(model.__subclasses__())


# --- Seoul rides -------------------------------------------------------------------------------------------

def seoul_point(rng: random.Random) -> tuple[float, float]:
    """A random position inside the Seoul box."""
    return round(rng.uniform(*SEOUL_LAT), 6), round(rng.uniform(*SEOUL_LNG), 6)


def ride_request(rng: random.Random) -> RideRequest:
    """A taxi from one random Seoul point to another."""
    (pickup_lat, pickup_lng), (dropoff_lat, dropoff_lng) = seoul_point(rng), seoul_point(rng)
    return RideRequest.model_validate({"service": "taxi", "pickup": {"lat": pickup_lat, "lng": pickup_lng},
                                       "dropoff": {"lat": dropoff_lat, "lng": dropoff_lng}})
