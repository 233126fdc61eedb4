"""The WebSocket API's handlers ($connect, $default, $disconnect) and the notice fan-out task.

Chalice's Blueprints do not wrap WebSocket handlers (a Blueprint has no `websocket_api`), so app.py registers
these three functions on the app itself with `on_ws_connect` / `on_ws_message` / `on_ws_disconnect`.
"""

import json

from chalicelib.core import clock
from chalicelib.core.api import ApiBlueprint
from chalicelib.core.errors import AppError
from chalicelib.core.lazy import lazy_module
from chalicelib.core.observability import logger

service = lazy_module("chalicelib.realtime.service")

realtime = ApiBlueprint(__name__)


def websocket_connect(event):
    """$connect: admit a rider or driver whose token verifies; refuse the handshake (401/403) otherwise."""
    raw = event.to_dict()
    try:
        caller = service.connect(event.connection_id, event.domain_name, event.stage,
                                 raw.get("queryStringParameters"), raw.get("headers"), clock.now())
    except AppError as exc:
        logger.info("connection refused", extra={"status": exc.status, "reason": exc.message})
        return {"statusCode": exc.status, "headers": {"Content-Type": "application/json"},
                "body": json.dumps(exc.body())}
    logger.info("connected", extra={"connection_id": event.connection_id, "role": caller.role})
    return {"statusCode": 200}


def websocket_message(event):
    """$default: a client's message (`ping`, a driver's `location`)."""
    service.receive(event.connection_id, event.domain_name, event.stage, event.body, clock.now())
    return {"statusCode": 200}


def websocket_disconnect(event):
    """$disconnect: the connection closed; forget it."""
    service.disconnect(event.connection_id)
    return {"statusCode": 200}


@realtime.task("realtime-notice")  # service.NOTICE_TASK (not imported at cold start)
def push_notice_chunk(payload: dict) -> None:
    """Push a published notice to one page of connected drivers, and queue the next page."""
    service.push_notice_chunk(payload, clock.now())
