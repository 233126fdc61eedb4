"""Long work off the request path: a route enqueues a task, the work queue's handler runs it.

Each task is a function of a JSON payload that does one idempotent chunk of work (running it
twice leaves the same state), because SQS delivers at least once. A chunk that fails is
reported back to SQS alone (partial batch response); after the queue's retries it lands in the
dead-letter queue, and the `redrive-dead-letters` job puts it back when the fault is fixed.
"""

import json
from collections.abc import Callable
from typing import Any

from chalicelib.core.aws import client
from chalicelib.core.config import get_settings
from chalicelib.core.observability import count, logger

TaskFunction = Callable[[dict[str, Any]], None]

_registry: dict[str, TaskFunction] = {}


class UnknownTask(Exception):
    """A message names a task no domain registered (a deploy mismatch: keep it for redrive)."""


def register_task(name: str, run: TaskFunction) -> None:
    """Make `run(payload)` the worker for messages naming `name`."""
    _registry[name] = run


def enqueue(name: str, payloads: list[dict[str, Any]]) -> int:
    """Queue one message per payload for the task `name` (in batches of ten); returns how many."""
    if name not in _registry:
        raise UnknownTask(name)
    queue_url = get_settings().work_queue_url
    sqs = client("sqs")
    for start in range(0, len(payloads), 10):
        batch = payloads[start:start + 10]
        entries = [{"Id": str(i), "MessageBody": json.dumps({"task": name, "payload": p})} for i, p in enumerate(batch)]
        failed = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries).get("Failed", [])
        if failed:
            raise RuntimeError(f"could not queue {len(failed)} {name} messages: {failed[0].get('Message')}")
    count("TasksQueued", len(payloads))
    return len(payloads)


def run_queued_tasks(event: dict, context: Any = None) -> dict:
    """The work queue's handler: run each message's task; report the failures to SQS."""
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    return process_partial_response(event=event, record_handler=_run_record,
                                    processor=BatchProcessor(event_type=EventType.SQS), context=context)


def _run_record(record) -> None:
    message = json.loads(record.body)
    run = _registry.get(message.get("task"))
    if run is None:
        raise UnknownTask(str(message.get("task")))
    logger.append_keys(task=message["task"])
    try:
        run(message.get("payload") or {})
    except Exception:
        logger.exception("task failed; SQS will deliver it again", extra={"payload": message.get("payload")})
        raise
    count("TasksDone")


def redrive_dead_letters(max_messages: int = 1000) -> dict:
    """Move messages from the dead-letter queue back to the work queue; returns how many moved."""
    settings = get_settings()
    sqs = client("sqs")
    moved = 0
    while moved < max_messages:
        received = sqs.receive_message(QueueUrl=settings.work_dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        messages = received.get("Messages", [])
        if not messages:
            break
        for message in messages:
            sqs.send_message(QueueUrl=settings.work_queue_url, MessageBody=message["Body"])
            sqs.delete_message(QueueUrl=settings.work_dlq_url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1
    logger.info("dead letters redriven", extra={"moved": moved})
    return {"moved": moved}
