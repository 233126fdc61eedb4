"""A local Lambda event source mapping: delivers SQS messages to the app's queue handlers.

As in AWS, a handler gets batches of up to its batch size; the messages it reports in
`batchItemFailures` stay on the queue and come back after a short visibility timeout (the
queue's redrive policy moves them to the dead-letter queue after its retries); the rest are deleted.
"""

import threading
from typing import Any

import boto3
from chalice.app import Chalice, SQSEventConfig
from chalice.local import LambdaContext

from devstack.cloud import REGION

RETRY_AFTER_S = 2


def queue_bindings(app: Chalice, physical_ids: dict[str, str]) -> list[tuple[SQSEventConfig, str]]:
    """Each SQS handler with the URL of its queue (named by the infra logical id in its ARN)."""
    bindings = []
    for source in app.event_sources:
        if isinstance(source, SQSEventConfig):
            logical_id = (source.queue_arn or source.queue).rsplit(":", 1)[-1]
            bindings.append((source, physical_ids[logical_id]))
    return bindings


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """The event Lambda's SQS poller hands a function."""
    return {"Records": [{
        "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
        "attributes": {"ApproximateReceiveCount": m.get("Attributes", {}).get("ApproximateReceiveCount", "1"),
                       "SentTimestamp": m.get("Attributes", {}).get("SentTimestamp", "0")},
        "messageAttributes": {}, "md5OfBody": m.get("MD5OfBody", ""), "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn, "awsRegion": REGION} for m in messages]}


class Pump(threading.Thread):
    """Polls every bound queue and invokes its handler, until `stop()`."""

    def __init__(self, app: Chalice, physical_ids: dict[str, str], log=print, hold_s: float = 0,
                 hold_task: str | None = None):
        super().__init__(name="queue-pump", daemon=True)
        self.app = app
        self.log = log
        self.hold_s = hold_s  # tests: a batch stays in flight this long after its handler ran
        self.hold_task = hold_task  # ... only a batch carrying this task, when given
        self.bindings = queue_bindings(app, physical_ids)
        self.sqs = boto3.client("sqs", region_name=REGION)
        self._stopped = threading.Event()

    def run(self) -> None:
        while not self._stopped.is_set():
            if not self.bindings:
                self._stopped.wait(1)
            for source, url in self.bindings:
                self.deliver_once(source, url)

    def deliver_once(self, source: SQSEventConfig, queue_url: str, wait_s: int = 1) -> int:
        """Receive one batch from `queue_url` (long-polling `wait_s`), run the handler, settle each message;
        returns the batch size."""
        received = self.sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=min(source.batch_size, 10),
                                            AttributeNames=["All"], WaitTimeSeconds=wait_s)
        messages = received.get("Messages", [])
        if not messages:
            return 0
        attributes = self.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]
        queue_arn = attributes["QueueArn"]
        failed = self._invoke(source.name, sqs_event(messages, queue_arn), {m["MessageId"] for m in messages})
        if self.hold_s and self._holds(messages):
            self._stopped.wait(self.hold_s)
        for message in messages:
            if message["MessageId"] in failed:
                self.sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"],
                                                   VisibilityTimeout=RETRY_AFTER_S)
            else:
                self.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        return len(messages)

    def _holds(self, messages: list[dict]) -> bool:
        if self.hold_task is None:
            return True
        return any(f'"task": "{self.hold_task}"' in message["Body"] for message in messages)

    def _invoke(self, name: str, event: dict, all_ids: set[str]) -> set[str]:
        try:
            answer = self.app.handler_map[name](event, LambdaContext(name, memory_size=512)) or {}
        except Exception as exc:  # the whole batch failed, as when a Lambda invocation errors
            self.log(f"queue handler {name} failed: {exc!r}")
            return all_ids
        return {failure["itemIdentifier"] for failure in answer.get("batchItemFailures", [])}

    def stop(self) -> None:
        self._stopped.set()
