"""The local stack's journal: what moto accepted is replayed after a crash, and a torn tail is dropped, not replayed.

A moto server records into a `Store` as `make run`'s does; "a crash" is a copy of the data folder taken while the
store is still running (nothing closed, no last snapshot), and the restart restores that copy into an empty moto.
"""

import logging
import shutil

import boto3
import pytest
import requests
from moto.server import ThreadedMotoServer

from devstack import cloud
from devstack.launcher import free_port
from devstack.persist import Journal, Store, frame, read_journal

STACK = "o2o-journal-test"


def test_a_journal_cut_anywhere_in_its_last_record_gives_back_the_whole_records_before_it(tmp_path):
    journal = Journal(tmp_path / "journal.log")
    records = [{"n": n, "text": "기록 " * n} for n in range(1, 4)]
    for record in records:
        journal.append(record)
    journal.close()
    whole = (tmp_path / "journal.log").read_bytes()
    last_starts = len(whole) - len(frame(records[-1]))
    assert read_journal(tmp_path / "journal.log") == (records, len(whole))
    for cut in range(last_starts, len(whole)):
        (tmp_path / "journal.log").write_bytes(whole[:cut])
        assert read_journal(tmp_path / "journal.log") == (records[:-1], last_starts), cut


def test_a_flipped_byte_in_a_record_ends_the_journal_there(tmp_path):
    path = tmp_path / "journal.log"
    path.write_bytes(frame({"n": 1}) + frame({"n": 2}) + frame({"n": 3}))
    damaged = bytearray(path.read_bytes())
    damaged[len(frame({"n": 1})) + 10] ^= 0xFF
    path.write_bytes(bytes(damaged))
    assert read_journal(path) == ([{"n": 1}], len(frame({"n": 1})))


@pytest.fixture
def moto(monkeypatch):
    """A moto server whose requests go through `cloud.one_request_at_a_time(store)`; `moto.start(store)`."""
    werkzeug_log = logging.getLogger("werkzeug")
    log_level = werkzeug_log.level
    werkzeug_log.setLevel(logging.ERROR)  # no access log line per request
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    stack = {}

    class Moto:
        url = endpoint

        def start(self, store: Store) -> dict[str, str]:
            """Empty moto, the stack deployed, `store` restored into it and recording; returns the restore summary."""
            if "recording" in stack:
                stack.pop("recording").__exit__(None, None, None)
            stack["recording"] = cloud.one_request_at_a_time(store)
            store.dynamodb_lock = stack["recording"].__enter__()
            requests.post(f"{endpoint}/moto-api/reset", timeout=10)
            cloud.deploy(stack_name=STACK)
            restored = store.restore(endpoint)
            store.start()
            return restored

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield Moto()
    finally:
        if "recording" in stack:
            stack["recording"].__exit__(None, None, None)
        server.stop()
        werkzeug_log.setLevel(log_level)


def test_after_a_crash_the_stack_gets_back_what_moto_accepted_and_drops_a_torn_last_record(tmp_path, moto):
    data, crashed = tmp_path / "data", tmp_path / "crashed"
    store = Store(data).open()
    moto.start(store)
    dynamodb = boto3.client("dynamodb", endpoint_url=moto.url)
    sqs = boto3.client("sqs", endpoint_url=moto.url)
    rides, ledger = f"{STACK}-rides", f"{STACK}-ledger"
    work = sqs.get_queue_url(QueueName=f"{STACK}-work")["QueueUrl"]
    ride_key = _key(dynamodb, rides, "ride-1")
    dynamodb.put_item(TableName=rides, Item={**ride_key, "status": {"S": "requested"}, "expires_at": {"N": "1700"}})
    dynamodb.update_item(TableName=rides, Key=ride_key, UpdateExpression="SET #s = :s",
                         ExpressionAttributeNames={"#s": "status"}, ExpressionAttributeValues={":s": {"S": "done"}})
    entries = [_key(dynamodb, ledger, f"entry-{n}") for n in range(3)]
    dynamodb.transact_write_items(TransactItems=[{"Put": {"TableName": ledger, "Item": key}} for key in entries])
    dynamodb.delete_item(TableName=ledger, Key=entries[0])
    refused = dynamodb.exceptions.ConditionalCheckFailedException
    with pytest.raises(refused):
        dynamodb.put_item(TableName=ledger, Item=entries[1], ConditionExpression="attribute_not_exists(#k)",
                          ExpressionAttributeNames={"#k": next(iter(entries[1]))})
    kept, taken = (sqs.send_message(QueueUrl=work, MessageBody=body)["MessageId"] for body in ("kept", "taken"))
    received = sqs.receive_message(QueueUrl=work, MaxNumberOfMessages=10, VisibilityTimeout=300)["Messages"]
    in_flight, done = (next(m for m in received if m["MessageId"] == mid) for mid in (kept, taken))
    sqs.delete_message(QueueUrl=work, ReceiptHandle=done["ReceiptHandle"])
    store._journal.flush()  # what the background flusher does every 0.2 s
    shutil.copytree(data, crashed)
    journal = next(crashed.glob("journal-*.log"))
    with open(journal, "ab") as file:  # the kill came in the middle of writing one more record
        file.write(frame({"items": [[rides, _key(dynamodb, rides, "ride-2"), None]]})[:20])

    restored = moto.start(Store(crashed).open())

    assert restored["torn_bytes"] == 20
    assert dynamodb.get_item(TableName=rides, Key=ride_key)["Item"] == {
        **ride_key, "status": {"S": "done"}, "expires_at": {"N": "1700"}}
    assert sorted(_scan(dynamodb, ledger)) == sorted(str(sorted(key.items())) for key in entries[1:])
    again = sqs.receive_message(QueueUrl=work, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
    assert [(m["MessageId"], m["Body"], m["Attributes"]["ApproximateReceiveCount"]) for m in again] == [
        (kept, "kept", "2")]
    assert in_flight["Body"] == "kept"
    assert read_journal(next(crashed.glob("journal-*.log")))[1] == 0  # the restart compacted the journal


def _key(dynamodb, table: str, value: str) -> dict:
    """The table's key with every key attribute set to `value` (all key attributes of infra/ are strings)."""
    schema = dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]
    return {part["AttributeName"]: {"S": value} for part in schema}


def _scan(dynamodb, table: str) -> list[str]:
    return [str(sorted(item.items())) for item in dynamodb.scan(TableName=table)["Items"]]
