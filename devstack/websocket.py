"""The local API Gateway WebSocket API: a WebSocket server that calls the app's handlers as API Gateway does,
and the `@connections` management API the app's boto3 `apigatewaymanagementapi` client posts to.

- a client connects to `ws://127.0.0.1:$WS_PORT` (or `.../{stage}`); the server invokes the `$connect`
  handler with the event API Gateway sends (connection id, domain name, stage, request context, query
  string, headers) and upgrades only when it answers 2xx; otherwise the handshake gets that status and body;
- each text frame is a `$default` event (the only message route the app declares); a close is `$disconnect`;
- `POST /{stage}/@connections/{id}` sends the body to the client, `GET` describes the connection,
  `DELETE` closes it; a connection that is not open is `410 GoneException`, as on AWS.

One asyncio loop in a thread serves both; the handlers (blocking boto3 and PynamoDB calls) run on a thread
pool, so a handler that posts back to its own connection (a `pong`) never waits on the loop it runs under.
"""

import asyncio
import base64
import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSMsgType, web
from chalice.app import Chalice
from chalice.local import LambdaContext

MAX_FRAME_BYTES = 128 * 1024  # API Gateway: a WebSocket message is at most 128 KB
HANDLER_THREADS = 16
ROUTE_KEYS = ("$connect", "$default", "$disconnect")


def connection_id() -> str:
    """An id shaped like API Gateway's (12 random bytes, base64: `L0SM9cOFvHcCIhw=`)."""
    return base64.b64encode(os.urandom(10)).decode()


def _now_ms() -> int:
    return int(time.time() * 1000)


class LocalWebsocketGateway(threading.Thread):
    """Serves the app's WebSocket API on `host:port` until `stop()`; `url` is what clients connect to."""

    def __init__(self, app: Chalice, host: str, port: int, stage: str = "api", log=print):
        super().__init__(name="websocket-gateway", daemon=True)
        self.app, self.host, self.port, self.stage, self.log = app, host, port, stage, log
        self.handlers = {route: app.handler_map[config.name] for route, config in app.websocket_handlers.items()}
        self.url = f"ws://{host}:{port}"
        self.sockets: dict[str, tuple[web.WebSocketResponse, dict]] = {}
        self._pool = ThreadPoolExecutor(HANDLER_THREADS, thread_name_prefix="ws-handler")
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._runner: web.AppRunner | None = None
        self._failure: BaseException | None = None

    def start(self) -> None:
        """Start serving; returns once the port is bound (raises what binding it raised)."""
        super().start()
        self._ready.wait(30)
        if self._failure is not None:
            raise self._failure

    def run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._serve())
        except BaseException as exc:  # the port is taken, say: start() raises it
            self._failure = exc
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self._runner.cleanup())  # closes every socket: each gets its $disconnect
        self._pool.shutdown(wait=True)
        self._loop.close()

    def stop(self) -> None:
        """Close every connection (each gets its `$disconnect`) and stop serving."""
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)

    async def _serve(self) -> None:
        routes = web.Application(client_max_size=MAX_FRAME_BYTES)
        for prefix in ("", "/{stage}"):
            routes.router.add_route("POST", prefix + "/@connections/{connection_id}", self._send_to_connection)
            routes.router.add_route("GET", prefix + "/@connections/{connection_id}", self._describe_connection)
            routes.router.add_route("DELETE", prefix + "/@connections/{connection_id}", self._delete_connection)
        routes.router.add_get("/", self._connect)
        routes.router.add_get("/{stage}", self._connect)
        self._runner = web.AppRunner(routes, access_log=None, handle_signals=False, shutdown_timeout=5)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()

    # --- the WebSocket API ------------------------------------------------------------------------------------

    async def _connect(self, request: web.Request) -> web.StreamResponse:
        socket = web.WebSocketResponse(max_msg_size=MAX_FRAME_BYTES, autoping=True)
        if not socket.can_prepare(request).ok:
            return _json(426, {"message": "Upgrade to a WebSocket connection (this is the real-time API)"})
        identity = {"connection_id": connection_id(), "connected_at": _now_ms(),
                    "source_ip": request.remote or "127.0.0.1", "user_agent": request.headers.get("User-Agent", "")}
        answer = await self._invoke("$connect", self._event("$connect", "CONNECT", identity, request))
        status = int(answer.get("statusCode", 200))
        if not 200 <= status < 300:
            return web.Response(status=status, body=answer.get("body") or "", headers=answer.get("headers") or {})
        await socket.prepare(request)
        self.sockets[identity["connection_id"]] = (socket, identity)
        try:
            async for frame in socket:
                if frame.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                    body = frame.data if frame.type == WSMsgType.TEXT else frame.data.decode("utf-8", "replace")
                    identity["last_active_at"] = _now_ms()
                    await self._invoke("$default", self._event("$default", "MESSAGE", identity, body=body))
        finally:
            self.sockets.pop(identity["connection_id"], None)
            await self._invoke("$disconnect", self._event("$disconnect", "DISCONNECT", identity,
                                                          close_code=socket.close_code or 1005))
        return socket

    def _event(self, route_key: str, event_type: str, identity: dict, request: web.Request | None = None,
               body: str | None = None, close_code: int | None = None) -> dict[str, Any]:
        """The event API Gateway hands a WebSocket route's Lambda function."""
        context = {
            "routeKey": route_key, "eventType": event_type, "connectionId": identity["connection_id"],
            "domainName": f"{self.host}:{self.port}", "stage": self.stage, "apiId": "local",
            "requestId": connection_id(), "extendedRequestId": connection_id(), "messageDirection": "IN",
            "connectedAt": identity["connected_at"], "requestTimeEpoch": _now_ms(),
            "requestTime": datetime.now(UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "identity": {"sourceIp": identity["source_ip"], "userAgent": identity["user_agent"]},
        }
        event: dict[str, Any] = {"requestContext": context, "isBase64Encoded": False}
        if request is not None:  # $connect carries the handshake's headers and query string
            event["headers"] = dict(request.headers)
            event["multiValueHeaders"] = {name: request.headers.getall(name) for name in request.headers}
            query = request.query
            event["queryStringParameters"] = {name: query[name] for name in query} or None
            event["multiValueQueryStringParameters"] = {name: query.getall(name) for name in query} or None
        if event_type == "MESSAGE":
            context["messageId"] = connection_id()
            event["body"] = body
        if close_code is not None:
            context["disconnectStatusCode"] = close_code
            context["disconnectReason"] = ""
        return event

    async def _invoke(self, route_key: str, event: dict) -> dict:
        handler = self.handlers.get(route_key)
        if handler is None:
            return {"statusCode": 200}
        context = LambdaContext(f"websocket_{route_key.strip('$')}", memory_size=512)
        try:
            return await self._loop.run_in_executor(self._pool, handler, event, context) or {}
        except Exception as exc:  # API Gateway answers a failed integration with 500 (a refused handshake)
            self.log(json.dumps({"websocket": route_key, "handler_failed": repr(exc)}))
            return {"statusCode": 500, "body": json.dumps({"message": "Internal server error"})}

    # --- the management API -----------------------------------------------------------------------------------

    async def _send_to_connection(self, request: web.Request) -> web.Response:
        open_socket = self._open(request)
        if open_socket is None:
            return _gone()
        data = await request.read()
        if len(data) > MAX_FRAME_BYTES:
            return _json(413, {"message": "Message too long"}, error_type="PayloadTooLargeException")
        socket, _ = open_socket
        try:
            await socket.send_str(data.decode()) if _is_text(data) else await socket.send_bytes(data)
        except ConnectionError:
            return _gone()
        return web.Response(status=200)

    async def _describe_connection(self, request: web.Request) -> web.Response:
        open_socket = self._open(request)
        if open_socket is None:
            return _gone()
        _, identity = open_socket
        return _json(200, {"ConnectedAt": _iso(identity["connected_at"]),
                           "LastActiveAt": _iso(identity.get("last_active_at", identity["connected_at"])),
                           "Identity": {"SourceIp": identity["source_ip"], "UserAgent": identity["user_agent"]}})

    async def _delete_connection(self, request: web.Request) -> web.Response:
        open_socket = self._open(request)
        if open_socket is None:
            return _gone()
        await open_socket[0].close(code=1000)
        return web.Response(status=204)

    def _open(self, request: web.Request) -> tuple[web.WebSocketResponse, dict] | None:
        found = self.sockets.get(request.match_info["connection_id"])
        return found if found is not None and not found[0].closed else None


def _is_text(data: bytes) -> bool:
    try:
        data.decode()
    except UnicodeDecodeError:
        return False
    return True


def _iso(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _json(status: int, body: dict, error_type: str | None = None) -> web.Response:
    headers = {"x-amzn-ErrorType": error_type} if error_type else {}
    return web.json_response(body, status=status, headers=headers)


def _gone() -> web.Response:
    return _json(410, {"message": "The connection is gone"}, error_type="GoneException")
