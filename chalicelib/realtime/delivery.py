"""Pushing messages to open connections through API Gateway's management API (`@connections`).

Each connection carries the management endpoint of the stage it connected to (from its $connect event:
`https://{domainName}/{stage}` on AWS, the local gateway's `http://127.0.0.1:$WS_PORT/{stage}` locally), so
every function that pushes, whatever invoked it, posts where that client listens. A push never fails
the action that caused it: it runs after the action's writes committed, and a failure is logged and
counted (`PushesFailed`); a connection API Gateway reports gone (410) is forgotten (`PushesGone`).
"""

import functools
import json
from collections.abc import Callable, Iterable
from datetime import datetime
from functools import lru_cache
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.core.observability import count, logger
from chalicelib.realtime import rules
from chalicelib.realtime.models import Connection

T = TypeVar("T")
# A push is on the path of a ride action: a slow or unreachable endpoint must cost seconds, not minutes.
MANAGEMENT_CONFIG = Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 2, "mode": "standard"})


def never_failing(default: T) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Run a push; any error is logged and counted, and `default` returned instead of raised."""

    def decorate(push: Callable[..., T]) -> Callable[..., T]:
        @functools.wraps(push)
        def guarded(*args: Any, **kwargs: Any) -> T:
            try:
                return push(*args, **kwargs)
            except Exception:
                logger.exception("push failed", extra={"push": push.__name__})
                count("PushesFailed")
                return default

        return guarded

    return decorate


@lru_cache(maxsize=16)
def management_client(endpoint: str):
    """The boto3 `apigatewaymanagementapi` client of one stage's endpoint (built once per process)."""
    return boto3.session.Session().client("apigatewaymanagementapi", endpoint_url=endpoint, config=MANAGEMENT_CONFIG)


def send(endpoint: str, connection_id: str, message: dict) -> bool:
    """Post `message` (JSON) to one connection; False when it failed or the connection is gone (then forgotten)."""
    client = management_client(endpoint)
    try:
        client.post_to_connection(ConnectionId=connection_id, Data=json.dumps(message).encode())
    except client.exceptions.GoneException:
        forget(connection_id)
        count("PushesGone")
        return False
    except (BotoCoreError, ClientError) as exc:
        logger.warning("push not delivered", extra={"connection_id": connection_id, "reason": str(exc)})
        count("PushesFailed")
        return False
    count("PushesSent")
    return True


def send_to_owner(role: str, sub: str, message: dict, now: datetime) -> int:
    """Post `message` to every live connection of the caller (role, sub); returns how many got it."""
    return send_to_each(Connection.by_owner.query(rules.owner_key(role, sub)), message, now)


def send_to_each(connections: Iterable[Connection], message: dict, now: datetime) -> int:
    """Post `message` to each live connection of `connections`; returns how many got it."""
    return sum(send(c.endpoint, c.connection_id, message) for c in connections if rules.live(c.expires_at, now))


def forget(connection_id: str) -> None:
    """Delete the connection's record (it closed, or API Gateway says it is gone)."""
    Connection(connection_id).delete()
