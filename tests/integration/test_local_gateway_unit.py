"""The local gateway's HTTP layer (devstack.gateway) in front of a one-route app: how a body is framed.

A body can be announced two ways (Content-Length, chunked); anything the gateway could read two ways is
refused, so what reaches the app is exactly one body, and the next request on the connection is intact.
"""

import http.client
import io
import json
import socket

import pytest
from chalice import Chalice
from chalice.config import Config
from chalice.local import HTTPServerThread, LocalDevServer

from devstack.gateway import MAX_PAYLOAD_BYTES, LocalHTTPServer, LocalRequestHandler
from devstack.launcher import free_port

TIMEOUT_S = 30  # a guard against a hang, not a measurement


@pytest.fixture(scope="module")
def gateway():
    """(host, port) of the local gateway serving an app whose POST /echo answers the body's length."""
    app = Chalice(app_name="echo")

    @app.route("/echo", methods=["POST"], content_types=["application/octet-stream"])
    def echo():
        return {"length": len(app.current_request.raw_body or b""), "body": (app.current_request.raw_body or b"")[:20]
                .decode("latin-1")}

    port = free_port()
    thread = HTTPServerThread(lambda: LocalDevServer(app, Config.create(), "127.0.0.1", port,
                                                     handler_cls=LocalRequestHandler, server_cls=LocalHTTPServer))
    thread.start()
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except ConnectionRefusedError:
            thread.join(0.05)
    yield "127.0.0.1", port
    thread.shutdown()


class _Stream(io.BufferedReader):
    """One reader for all the answers on a connection: each HTTPResponse would buffer (and close) its own."""

    def makefile(self, mode: str):
        return self

    def close(self):
        pass


def answers(gateway, raw: bytes, count: int = 1) -> list[tuple[int, dict]]:
    """Send `raw` on one connection and read `count` answers: (status, JSON body) each."""
    with socket.create_connection(gateway, timeout=TIMEOUT_S) as sock:
        sock.sendall(raw)
        stream, read = _Stream(socket.SocketIO(sock, "rb")), []
        for _ in range(count):
            response = http.client.HTTPResponse(stream)
            response.begin()
            assert response.getheader("Content-Type") == "application/json"
            read.append((response.status, json.loads(response.read())))
        return read


def post(headers: bytes, body: bytes = b"") -> bytes:
    return (b"POST /echo HTTP/1.1\r\nHost: local\r\nContent-Type: application/octet-stream\r\n" + headers
            + b"\r\n" + body)


def test_a_chunked_body_with_extensions_and_trailers_reaches_the_app_and_the_next_request_is_intact(gateway):
    chunked = post(b"Transfer-Encoding: chunked\r\n", b"5;note=x\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n")
    then = post(b"Content-Length: 3\r\nConnection: close\r\n", b"abc")
    assert answers(gateway, chunked + then, count=2) == [(200, {"length": 11, "body": "hello world"}),
                                                          (200, {"length": 3, "body": "abc"})]


def test_a_body_of_exactly_10_mb_passes_and_one_byte_more_gets_413(gateway):
    exactly = post(b"Content-Length: %d\r\nConnection: close\r\n" % MAX_PAYLOAD_BYTES, b"x" * MAX_PAYLOAD_BYTES)
    assert answers(gateway, exactly)[0] == (200, {"length": MAX_PAYLOAD_BYTES, "body": "x" * 20})
    over = post(b"Content-Length: %d\r\n" % (MAX_PAYLOAD_BYTES + 1), b"x" * (MAX_PAYLOAD_BYTES + 1))
    status, body = answers(gateway, over)[0]
    assert (status, body["error"]["code"]) == (413, "payload_too_large")


@pytest.mark.parametrize(("headers", "status", "code"), [
    (b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n", 400, "bad_request"),
    (b"Content-Length: 3\r\nContent-Length: 30\r\n", 400, "bad_request"),
    (b"Transfer-Encoding: gzip, chunked\r\n", 501, "not_implemented"),
    (b"Content-Length: " + b"9" * 5000 + b"\r\n", 413, "payload_too_large"),
])
def test_a_body_that_could_be_read_two_ways_is_refused(gateway, headers, status, code):
    (answered, body), = answers(gateway, post(headers, b"abc"))
    assert (answered, body["error"]["code"]) == (status, code)


@pytest.mark.parametrize("chunks", [b"zz\r\nhello\r\n0\r\n\r\n", b"5\r\nhelloXX0\r\n\r\n"])
def test_a_malformed_chunked_body_gets_400(gateway, chunks):
    (status, body), = answers(gateway, post(b"Transfer-Encoding: chunked\r\n", chunks))
    assert (status, body["error"]["code"]) == (400, "bad_request")


def test_a_refusal_closes_the_connection(gateway):
    refused = post(b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n", b"abc")
    with socket.create_connection(gateway, timeout=TIMEOUT_S) as sock:
        sock.sendall(refused)
        response = http.client.HTTPResponse(sock)
        response.begin()
        response.read()
        assert response.getheader("Connection") == "close"
        assert sock.recv(1) == b""  # closed by the server, not reset


def test_a_client_still_sending_a_refused_body_is_not_reset_and_reads_the_413(gateway):
    # The 413 goes out after the headers; the 30 MB the client goes on sending are read and dropped, not
    # left unread (closing with unread bytes would reset the connection under the client).
    with socket.create_connection(gateway, timeout=TIMEOUT_S) as sock:
        sock.sendall(post(b"Content-Length: %d\r\n" % (30 * 1024 * 1024), b"x" * (30 * 1024 * 1024)))
        response = http.client.HTTPResponse(sock)
        response.begin()
        assert (response.status, json.loads(response.read())["error"]["code"]) == (413, "payload_too_large")
