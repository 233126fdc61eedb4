"""Notifications to people (drivers, riders, businesses) through the notifications SNS topic.

One topic carries every audience; subscribers (push gateways, SMS, e-mail) pick theirs with SNS
filter policies on the message attributes (`kind`, `service`, `region`, `driver_id`, ...).
"""

import json
from typing import Any

from chalicelib.core.aws import client
from chalicelib.core.config import get_settings
from chalicelib.core.observability import count


def notify(kind: str, message: dict[str, Any], **attributes: str | None) -> str:
    """Publish `message` for the audience named by `attributes`; returns the SNS message id."""
    message_attributes = {name: {"DataType": "String", "StringValue": value}
                          for name, value in {"kind": kind, **attributes}.items() if value}
    answer = client("sns").publish(TopicArn=get_settings().notifications_topic_arn,
                                   Message=json.dumps({"kind": kind, **message}, default=str),
                                   MessageAttributes=message_attributes)
    count("NotificationsSent")
    return answer["MessageId"]


def notify_each(kind: str, messages: list[tuple[dict[str, Any], dict[str, str | None]]]) -> int:
    """Publish one message per (message, attributes) pair, ten per SNS call; returns how many were sent."""
    sns, topic = client("sns"), get_settings().notifications_topic_arn
    for start in range(0, len(messages), 10):
        entries = [{"Id": str(n), "Message": json.dumps({"kind": kind, **message}, default=str),
                    "MessageAttributes": {name: {"DataType": "String", "StringValue": value}
                                          for name, value in {"kind": kind, **attributes}.items() if value}}
                   for n, (message, attributes) in enumerate(messages[start:start + 10])]
        sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=entries)
    count("NotificationsSent", len(messages))
    return len(messages)
