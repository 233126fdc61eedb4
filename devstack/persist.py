"""The local stack's data on disk: a snapshot, and a journal of every change since, replayed on start.

The embedded AWS (moto) keeps its state in memory. `Store` keeps a copy in a data folder:

- `journal-<n>.log`, append-only. After each DynamoDB write moto answered 2xx (PutItem, UpdateItem,
  DeleteItem, BatchWriteItem, TransactWriteItems), the items it wrote are recorded as they now are (or as
  deleted), in the order moto applied the writes (DynamoDB requests are served one at a time, see
  `cloud.one_request_at_a_time`). Replaying is a plain put per item: no condition or transaction is
  evaluated again, and replaying twice gives the same items. (PartiQL writes are recorded as requests.)
  After every other request the SQS queues are compared with what the journal knows, and the difference
  is recorded by message id (sent, deleted, moved to the dead-letter queue, received once more), so
  messages keep their ids and receive counts whichever request, or move inside moto, changed them.
- Records are buffered and written with one write + fsync every `FLUSH_S` by a background thread, so a
  SIGKILL or a power cut loses at most the last fraction of a second. Each record is framed with its
  length and a CRC-32: a half-written tail is detected on start and dropped, never replayed.
- `snapshot.json`: every item of every table and every message of every queue, written (to a temporary
  file, fsynced, renamed) after start-up, when the journal has grown past `COMPACT_BYTES`, and on a clean
  stop. It names the journal that continues it; older journals are then deleted.

On start the stack is deployed from infra/ as always (the template fixes every table, queue and topic
name), then the snapshot and the journals after it are loaded into moto, before the API starts. Topics and
the stack come from infra/ on every start; SNS subscriptions made by hand are not kept. Messages that were
in flight when the stack stopped are visible again at once: their receiver (the stack's own queue pump)
stopped with it.
"""

import base64
import fcntl
import json
import os
import shutil
import struct
import threading
import time
import zlib
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import requests

from devstack.cloud import REGION

ACCOUNT_ID = "123456789012"  # moto's default account: the local stack's
FLUSH_S = 0.2
COMPACT_BYTES = 16 * 1024 * 1024
FRAME = struct.Struct(">II")  # payload length, CRC-32 of the payload
SNAPSHOT = "snapshot.json"
PARTIQL_WRITES = {"ExecuteStatement", "BatchExecuteStatement", "ExecuteTransaction"}  # journaled as requests
DYNAMODB_WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems", *PARTIQL_WRITES}


def frame(record: dict[str, Any]) -> bytes:
    """One journal record as written: length, checksum, JSON."""
    payload = json.dumps(record, separators=(",", ":"), default=_binary).encode()
    return FRAME.pack(len(payload), zlib.crc32(payload)) + payload


def read_journal(path: Path) -> tuple[list[dict[str, Any]], int]:
    """The whole records of the journal at `path`, and the byte length they take (a torn tail excluded)."""
    data = path.read_bytes()
    records, offset = [], 0
    while offset + FRAME.size <= len(data):
        length, checksum = FRAME.unpack_from(data, offset)
        payload = data[offset + FRAME.size: offset + FRAME.size + length]
        if len(payload) < length or zlib.crc32(payload) != checksum:
            break
        try:
            records.append(json.loads(payload))
        except ValueError:
            break
        offset += FRAME.size + length
    return records, offset


def _binary(value: Any) -> str:
    if isinstance(value, bytes):  # DynamoDB's wire format carries binary as base64
        return base64.b64encode(value).decode()
    raise TypeError(f"cannot journal {type(value).__name__}")


class DataInUse(RuntimeError):
    """Another local stack runs on the same data folder."""


class Journal:
    """An append-only file of framed records, written and fsynced by a background thread every `FLUSH_S`."""

    def __init__(self, path: Path, flush_s: float = FLUSH_S):
        self.path = path
        self.flush_s = flush_s
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self.size = os.fstat(self._fd).st_size
        self._pending: list[bytes] = []
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._flusher = threading.Thread(target=self._flush_every, name="journal-flush", daemon=True)
        self._flusher.start()

    def append(self, record: dict[str, Any]) -> None:
        """Queue `record` for the next flush."""
        framed = frame(record)
        with self._lock:
            self._pending.append(framed)
            self.size += len(framed)

    def flush(self) -> None:
        """Write what is queued and fsync it."""
        with self._lock:
            pending, self._pending = self._pending, []
            if pending:
                os.write(self._fd, b"".join(pending))
                os.fsync(self._fd)

    def _flush_every(self) -> None:
        while not self._stopped.wait(self.flush_s):
            self.flush()

    def close(self) -> None:
        """Flush, stop the flusher and close the file."""
        self._stopped.set()
        self._flusher.join()
        self.flush()
        os.close(self._fd)


class Store:
    """The data folder of one local stack: restore it into moto, then keep it up to date."""

    def __init__(self, folder: Path, reset: bool = False, compact_bytes: int = COMPACT_BYTES, log=print):
        self.folder = Path(folder)
        self.reset = reset
        self.compact_bytes = compact_bytes
        self.log = log
        self.dynamodb_lock: Any = nullcontext()  # set to the lock that serialises DynamoDB requests
        self._queues_lock = threading.Lock()
        self._known: dict[str, dict[str, int]] = {}  # queue name -> message id -> receive count, as journaled
        self._journal: Journal | None = None
        self._generation = 0
        self._compacting = threading.Lock()

    # -- start-up -------------------------------------------------------------------------------------

    def restore(self, aws_endpoint: str) -> dict[str, Any]:
        """Load the snapshot and replay the journals after it into moto; returns what was restored."""
        started = time.monotonic()
        snapshot = self._read_snapshot()
        self._generation = snapshot.get("journal", 0)
        items = _load_tables(snapshot.get("dynamodb", {}))
        messages = _load_queues(snapshot.get("sqs", {}))
        replayed, torn, diverged = 0, 0, 0
        with requests.Session() as http:
            for path in self._journals():
                records, good = read_journal(path)
                torn += path.stat().st_size - good
                for record in records:
                    diverged += not _replay(http, aws_endpoint, record)
                replayed += len(records)
        self._known = queue_view()
        if diverged:
            self.log(f"local data: {diverged} journaled DynamoDB writes were refused on replay")
        if torn:
            self.log(f"local data: dropped a torn journal tail of {torn} bytes (a write cut short by a kill)")
        return {"items": items, "messages": messages, "journal_records": replayed, "torn_bytes": torn,
                "seconds": round(time.monotonic() - started, 2)}

    def start(self) -> None:
        """Write a snapshot of the restored state and start journaling every change."""
        self.snapshot()

    # -- recording ------------------------------------------------------------------------------------

    def dynamodb_written(self, action: str, body: bytes, region: str) -> None:
        """A DynamoDB request moto answered 2xx; called while DynamoDB requests are serialised.

        The journal gets the items the request wrote as they are now (None for a deleted one), not the
        request: replaying is then a plain put per item, with no conditions or transactions to evaluate again.
        """
        if self._journal is None or action not in DYNAMODB_WRITES or region != REGION:
            return
        try:
            record = {"ddb": action, "body": body.decode()} if action in PARTIQL_WRITES else \
                {"items": _written_items(action, json.loads(body))}
        except Exception as exc:  # moto has answered: the request must not fail now; replay it as a request
            self.log(f"local data: journaling {action} as a request ({exc!r})")
            record = {"ddb": action, "body": body.decode()}
        self._journal.append(record)
        self._compact_if_large()

    def queues_may_have_changed(self) -> None:
        """After a request other than DynamoDB: journal how the queues differ from what is journaled."""
        with self._queues_lock:
            journal = self._journal
            if journal is None:
                return
            for name, messages in _queue_messages().items():
                known = self._known.setdefault(name, {})
                added = [_message_record(m) for mid, m in messages.items() if mid not in known]
                gone = [mid for mid in known if mid not in messages]
                received = {mid: m.approximate_receive_count for mid, m in messages.items()
                            if mid in known and known[mid] != m.approximate_receive_count}
                if added or gone or received:
                    journal.append({"sqs": name, "add": added, "del": gone, "recv": received})
                    for mid in gone:
                        del known[mid]
                    known.update({m["id"]: m["count"] for m in added})
                    known.update(received)
        self._compact_if_large()

    # -- snapshots ------------------------------------------------------------------------------------

    def snapshot(self) -> None:
        """Write every item and message to the snapshot and start the next journal (drops older ones)."""
        with self._compacting:
            with self.dynamodb_lock, self._queues_lock:  # nothing changes while the state is copied
                state = {"dynamodb": _table_items(), "sqs": _queue_records()}
                old = self._journal
                self._generation += 1
                self._journal = Journal(self._journal_path(self._generation))
                state["journal"] = self._generation
            if old is not None:
                old.close()
            _write_atomically(self.folder / SNAPSHOT, json.dumps(state, separators=(",", ":"), default=_binary))
            for path in self.folder.glob("journal-*.log"):
                if _generation_of(path) < self._generation:
                    path.unlink()

    def close(self) -> None:
        """On a clean stop: a last snapshot, so the next start has no journal to replay."""
        if self._journal is not None:
            self.snapshot()
            self._journal.close()
            self._journal = None

    def _compact_if_large(self) -> None:
        if self._journal is not None and self._journal.size > self.compact_bytes and not self._compacting.locked():
            threading.Thread(target=self.snapshot, name="journal-compaction", daemon=True).start()

    def open(self) -> "Store":
        """Take the folder (DataInUse if another stack has it) and empty it if asked to; before `restore`."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self._folder_lock = os.open(self.folder / ".lock", os.O_WRONLY | os.O_CREAT, 0o600)  # held until exit
        try:
            fcntl.flock(self._folder_lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DataInUse(f"another local stack is running on the data in {self.folder}") from None
        if self.reset:
            for path in self.folder.iterdir():
                if path.name != ".lock":
                    shutil.rmtree(path) if path.is_dir() else path.unlink()
        return self

    def _read_snapshot(self) -> dict[str, Any]:
        path = self.folder / SNAPSHOT
        return json.loads(path.read_text()) if path.exists() else {}

    def _journal_path(self, generation: int) -> Path:
        return self.folder / f"journal-{generation:06d}.log"

    def _journals(self) -> list[Path]:
        """The journals that continue the snapshot, oldest first."""
        return sorted(p for p in self.folder.glob("journal-*.log") if _generation_of(p) >= self._generation)


def _generation_of(path: Path) -> int:
    return int(path.stem.split("-", 1)[1])


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_suffix(".tmp")
    with open(temporary, "w") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


# -- moto's state ---------------------------------------------------------------------------------------

def _dynamodb():
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[ACCOUNT_ID][REGION]


def _sqs():
    from moto.sqs.models import sqs_backends

    return sqs_backends[ACCOUNT_ID][REGION]


def _written_keys(action: str, request: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(table, key or whole item) of every item a write request names."""
    if action == "PutItem":
        return [(request["TableName"], request["Item"])]
    if action in ("UpdateItem", "DeleteItem"):
        return [(request["TableName"], request["Key"])]
    if action == "BatchWriteItem":
        return [(table, (write.get("PutRequest") or {}).get("Item") or write["DeleteRequest"]["Key"])
                for table, writes in request["RequestItems"].items() for write in writes]
    named = [op for entry in request["TransactItems"] for kind, op in entry.items() if kind != "ConditionCheck"]
    return [(op["TableName"], op.get("Item") or op["Key"]) for op in named]


def _written_items(action: str, request: dict[str, Any]) -> list[list[Any]]:
    """[table, key, item now or None] for each item the request wrote."""
    backend, written = _dynamodb(), []
    for table_name, attributes in _written_keys(action, request):
        table = backend.get_table(table_name)
        key = {name: attributes[name] for name in (table.hash_key_attr, table.range_key_attr) if name}
        item = backend.get_item(table_name, key)
        written.append([table_name, key, item.to_json()["Attributes"] if item else None])
    return written


def _put_items(written: list[list[Any]]) -> None:
    backend = _dynamodb()
    for table_name, key, item in written:
        if table_name not in backend.tables:
            continue
        if item is None:
            backend.delete_item(table_name, key)
        else:
            backend.put_item(table_name, item)


def _table_items() -> dict[str, list[dict[str, Any]]]:
    return {name: [item.to_json()["Attributes"] for item in table.all_items()]
            for name, table in _dynamodb().tables.items()}


def _queue_messages() -> dict[str, dict[str, Any]]:
    return {name: {m.id: m for m in list(queue._messages)} for name, queue in _sqs().queues.items()}


def queue_view() -> dict[str, dict[str, int]]:
    """Queue name -> message id -> receive count, as moto holds them now."""
    return {name: {mid: m.approximate_receive_count for mid, m in messages.items()}
            for name, messages in _queue_messages().items()}


def _queue_records() -> dict[str, list[dict[str, Any]]]:
    return {name: [_message_record(m) for m in messages.values()] for name, messages in _queue_messages().items()}


def _message_record(message) -> dict[str, Any]:
    return {"id": message.id, "body": message.body, "attributes": message.message_attributes,
            "system": message.system_attributes, "sent": message.sent_timestamp,
            "first_received": message.approximate_first_receive_timestamp,
            "count": message.approximate_receive_count, "group": message.group_id,
            "dedup": message.deduplication_id, "sequence": message.sequence_number,
            "delayed_until": message.delayed_until}


def _add_messages(queue_name: str, records: list[dict[str, Any]]) -> int:
    from moto.sqs.models import Message

    queue = _sqs().queues.get(queue_name)
    if queue is None:
        return 0
    for record in records:
        message = Message(record["id"], record["body"], record["system"] or None)
        message.message_attributes = record["attributes"]
        message.sent_timestamp = record["sent"]
        message.approximate_first_receive_timestamp = record["first_received"]
        message.approximate_receive_count = record["count"]
        message.group_id, message.deduplication_id = record["group"], record["dedup"]
        message.sequence_number, message.delayed_until = record["sequence"], record["delayed_until"]
        with queue._messages_lock:
            queue._messages.append(message)
            queue._messages_lock.notify_all()
    return len(records)


def _load_queues(queues: dict[str, list[dict[str, Any]]]) -> int:
    return sum(_add_messages(name, records) for name, records in queues.items())


def _load_tables(tables: dict[str, list[dict[str, Any]]]) -> int:
    backend = _dynamodb()
    loaded = 0
    for name, items in tables.items():
        if name in backend.tables:
            for item in items:
                backend.put_item(name, item)
            loaded += len(items)
    return loaded


def _replay(http: requests.Session, aws_endpoint: str, record: dict[str, Any]) -> bool:
    """Apply one journal record to moto; False if moto refused it (it accepted it the first time)."""
    if "items" in record:
        _put_items(record["items"])
        return True
    if "ddb" in record:
        return _dynamodb_call(http, aws_endpoint, record["ddb"], record["body"])
    queue = _sqs().queues.get(record["sqs"])
    if queue is None:
        return False
    gone = set(record["del"])
    with queue._messages_lock:
        queue._messages = [m for m in queue._messages if m.id not in gone]
        for message in queue._messages:
            if message.id in record["recv"]:
                message.approximate_receive_count = record["recv"][message.id]
    _add_messages(record["sqs"], record["add"])
    return True


def _dynamodb_call(http: requests.Session, aws_endpoint: str, action: str, body: str) -> bool:
    """A DynamoDB request to moto as boto3 would send it (moto reads the region from the credential scope)."""
    answer = http.post(aws_endpoint, data=body.encode(), timeout=60, headers={
        "X-Amz-Target": f"DynamoDB_20120810.{action}", "Content-Type": "application/x-amz-json-1.0",
        "Authorization": f"AWS4-HMAC-SHA256 Credential=local/20200101/{REGION}/dynamodb/aws4_request, "
                         "SignedHeaders=host, Signature=0"})
    return answer.status_code == 200
