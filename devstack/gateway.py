"""What API Gateway adds in front of the app, for the local server and the test client.

In AWS, the GatewayResponses of infra/resources.json give the gateway's own refusals (no token,
a token the authorizer denied, an unknown route) API.md's error body. Chalice's local gateway
answers those with its own bodies; this module applies the same GatewayResponses instead.

The local server also keeps API Gateway's quotas for REST APIs (request line and headers within
10,240 bytes, a payload within 10 MB, refused before it is read), answers every refusal of the
HTTP layer itself in API.md's error body rather than http.server's HTML page, and holds bursts
of hundreds of clients connecting at once.
"""

import json
import re
import socket
import time
from functools import lru_cache
from http import HTTPStatus

from chalice.local import (
    ChaliceRequestHandler,
    ForbiddenError,
    LocalGatewayException,
    NotAuthorizedError,
    ThreadedHTTPServer,
)
from chalice.test import Client, HTTPResponse, TestHTTPClient

from devstack.cloud import load_template


@lru_cache(maxsize=1)
def gateway_responses() -> dict[str, tuple[int, bytes]]:
    """ResponseType -> (status, body) from the template's AWS::ApiGateway::GatewayResponse resources."""
    answers = {}
    for resource in load_template()["Resources"].values():
        if resource.get("Type") == "AWS::ApiGateway::GatewayResponse":
            props = resource["Properties"]
            answers[props["ResponseType"]] = (int(props["StatusCode"]),
                                              props["ResponseTemplates"]["application/json"].encode())
    return answers


def response_type(error: LocalGatewayException) -> str:
    """Which of API Gateway's response types the local gateway's refusal stands for."""
    if isinstance(error, NotAuthorizedError):
        return "UNAUTHORIZED"
    if isinstance(error, ForbiddenError):
        if error.headers.get("x-amzn-ErrorType") == "AccessDeniedException":
            return "ACCESS_DENIED"
        return "MISSING_AUTHENTICATION_TOKEN"
    return "DEFAULT_5XX"


def gateway_answer(error: LocalGatewayException) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body API Gateway would send for `error`."""
    status, body = gateway_responses().get(response_type(error), (error.CODE, error.body or b""))
    headers = {k: v for k, v in error.headers.items() if k.lower() != "content-type"}
    headers["Content-Type"] = "application/json"
    return status, headers, body


MAX_HEAD_BYTES = 10_240  # API Gateway (REST): the request line and header names and values together
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway: 10 MB
MAX_CHUNK_LINE_BYTES = 4096
# After a refusal, what the client still sends is read and dropped before the connection closes: closing
# with unread bytes makes the kernel reset it, and the client may then lose the answer.
LINGER_MAX_BYTES = 64 * 1024 * 1024
LINGER_IDLE_S, LINGER_TOTAL_S = 1.0, 10.0

ERRORS = {  # status -> (API.md code, message) for the refusals the HTTP layer makes itself
    400: ("bad_request", "The request is not valid HTTP/1.1."),
    413: ("payload_too_large", f"The request body is over {MAX_PAYLOAD_BYTES:,} bytes."),
    414: ("uri_too_long", f"The request line is over {MAX_HEAD_BYTES:,} bytes."),
    431: ("request_header_fields_too_large",
          f"The request line and headers are over {MAX_HEAD_BYTES:,} bytes, or there are over 100 headers."),
    501: ("not_implemented", "The method or transfer coding is not supported."),
    505: ("http_version_not_supported", "Only HTTP/1.0 and HTTP/1.1 are supported."),
}
DIGITS = re.compile(r"[0-9]+")
CHUNK_SIZE = re.compile(rb"[0-9a-fA-F]{1,15}")


class Refusal(Exception):
    """A request the gateway answers itself with `status`, without passing it on."""

    def __init__(self, status: int, message: str | None = None):
        self.status = status
        self.message = message or ERRORS[status][1]
        super().__init__(self.message)


def error_body(status: int, message: str | None = None) -> bytes:
    """API.md's error body for an answer of the HTTP layer: the code by status, a message for a person."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    code, default = ERRORS.get(status, (re.sub(r"\W+", "_", phrase.lower()).strip("_"), phrase + "."))
    return json.dumps({"error": {"code": code, "message": message or default}}).encode()


def head_bytes(request_line: str, headers) -> int:
    """What API Gateway counts against its 10,240 bytes: the request line, header names and values."""
    return len(request_line) + sum(len(name) + len(value) for name, value in headers.items())


def body_framing(headers) -> int | None:
    """The body's announced length, None for a chunked body; Refusal for a framing the gateway refuses.

    One Content-Length of digits (repeats must agree), or `Transfer-Encoding: chunked` alone: anything
    else could be read two ways (request smuggling), so it is refused rather than guessed.
    """
    codings = headers.get_all("Transfer-Encoding") or []
    lengths = headers.get_all("Content-Length") or []
    if codings:
        if lengths:
            raise Refusal(400, "Content-Length and Transfer-Encoding together.")
        if ",".join(codings).strip().lower() != "chunked":
            raise Refusal(501, "Only the chunked transfer coding is supported.")
        return None
    if not lengths:
        return 0
    length = lengths[0].strip()
    if len(set(lengths)) > 1 or not DIGITS.fullmatch(length):
        raise Refusal(400, "Content-Length is not one non-negative integer.")
    significant = length.lstrip("0") or "0"  # int() refuses strings of thousands of digits
    if len(significant) > len(str(MAX_PAYLOAD_BYTES)) or int(significant) > MAX_PAYLOAD_BYTES:
        raise Refusal(413)
    return int(significant)


def read_chunked(rfile, limit: int = MAX_PAYLOAD_BYTES) -> bytes:
    """A chunked body from `rfile`, trailers dropped; Refusal once it grows over `limit` or is malformed."""
    body = bytearray()
    while True:
        line = rfile.readline(MAX_CHUNK_LINE_BYTES + 1)
        size = line.split(b";", 1)[0].strip()
        if len(line) > MAX_CHUNK_LINE_BYTES or not line.endswith(b"\n") or not CHUNK_SIZE.fullmatch(size):
            raise Refusal(400, "A chunk size line is malformed.")
        length = int(size, 16)
        if not length:
            break
        if len(body) + length > limit:
            raise Refusal(413)
        chunk = rfile.read(length)
        if len(chunk) < length or rfile.readline(3) not in (b"\r\n", b"\n"):
            raise Refusal(400, "A chunk ends early or without CRLF.")
        body += chunk
    trailers = 0
    while (line := rfile.readline(MAX_HEAD_BYTES + 1)) not in (b"\r\n", b"\n"):
        trailers += len(line)
        if not line or trailers > MAX_HEAD_BYTES:
            raise Refusal(431 if line else 400)
    return bytes(body)


def linger(connection: socket.socket) -> None:
    """Finish sending, then read and drop what the client still sends, within bounds, so closing is clean."""
    try:
        connection.shutdown(socket.SHUT_WR)
        deadline, dropped = time.monotonic() + LINGER_TOTAL_S, 0
        while dropped < LINGER_MAX_BYTES and (left := deadline - time.monotonic()) > 0:
            connection.settimeout(min(LINGER_IDLE_S, left))
            chunk = connection.recv(65536)
            if not chunk:
                return
            dropped += len(chunk)
    except OSError:  # the client left, or went quiet
        pass


class LocalHTTPServer(ThreadedHTTPServer):
    """Chalice's threaded local server, with a listen backlog for bursts of clients.

    socketserver listens with a backlog of 5: a few dozen clients connecting at once overflowed it, and
    the kernel dropped or reset their connections. The kernel caps the backlog at net.core.somaxconn.
    """

    request_queue_size = socket.SOMAXCONN
    daemon_threads = True  # a client holding its connection open never keeps the stack from stopping


class LocalRequestHandler(ChaliceRequestHandler):
    """Chalice's local HTTP handler, with API Gateway's limits and answering refusals as infra/ configures them."""

    # Headers and body go out in separate writes; with Nagle's algorithm the body waits for the client's
    # delayed ACK, which added ~40 ms to every local request.
    disable_nagle_algorithm = True
    _body: bytes | None = None
    _refused = False

    def parse_request(self) -> bool:
        """http.server's parsing, then API Gateway's limits; the body is read here, within them."""
        if not super().parse_request():
            return False
        try:
            length = self._admitted_length()
            body = read_chunked(self.rfile) if length is None else self.rfile.read(length)
        except Refusal as refusal:
            self.send_error(refusal.status, explain=refusal.message)
            return False
        if length is not None and len(body) < length:
            self.close_connection = True  # the client stopped sending: nobody is left to answer
            return False
        self._body = body or None
        return True

    def handle_expect_100(self) -> bool:
        """Refuse what would be refused anyway before the client sends its body, instead of `100 Continue`."""
        try:
            self._admitted_length()
        except Refusal as refusal:
            self.send_error(refusal.status, explain=refusal.message)
            return False
        return super().handle_expect_100()

    def _admitted_length(self) -> int | None:
        """The body's length if API Gateway would let the request through (None: chunked), else Refusal."""
        line = self.requestline
        if len(line) > MAX_HEAD_BYTES:
            raise Refusal(414)
        if head_bytes(line, self.headers) > MAX_HEAD_BYTES:
            raise Refusal(431)
        return body_framing(self.headers)

    def _parse_payload(self) -> tuple[dict, bytes | None]:
        return dict(self.headers), self._body

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Every refusal of the HTTP layer in API.md's error body, then close the connection cleanly."""
        self.log_error("code %d, message %s", code, explain or message or "")
        self._refused = self.close_connection = True
        body = error_body(code, explain or message)
        try:
            self.send_response(code)
            self.send_header("Connection", "close")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
        except OSError:  # the client is gone
            pass

    def finish(self) -> None:
        """After a refusal, close only once the client has stopped sending (see `linger`)."""
        super().finish()
        if self._refused:
            linger(self.connection)

    def _send_error_response(self, error: LocalGatewayException) -> None:
        status, headers, body = gateway_answer(error)
        self._send_http_response(status, headers, body)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - BaseHTTPRequestHandler's name
        """Access log as one JSON line, like the rest of the stack's logs."""
        print(json.dumps({"access": format % args, "client": self.client_address[0]}), flush=True)


class _GatewayTestHTTPClient(TestHTTPClient):
    def _error_response(self, error: LocalGatewayException) -> HTTPResponse:
        status, headers, body = gateway_answer(error)
        return HTTPResponse(headers=headers, body=body, status_code=status)


class GatewayTestClient(Client):
    """`chalice.test.Client` whose HTTP client answers gateway refusals as API Gateway would."""

    @property
    def http(self) -> TestHTTPClient:
        if self._http_client is None:
            self._http_client = _GatewayTestHTTPClient(self._app, self._chalice_config)
        return self._http_client
