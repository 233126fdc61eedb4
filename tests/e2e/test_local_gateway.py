"""The local gateway in front of the real local stack: API Gateway's limits, API.md's error body for every
refusal the HTTP layer makes itself, and many clients connecting at once.

Each test speaks raw HTTP/1.1 over a socket, so what the server does with the bytes is exactly what is sent.
"""

import http.client
import json
import socket
import threading
from collections import Counter
from urllib.parse import urlsplit

import pytest
import requests

from tests.e2e.conftest import bearer

pytestmark = pytest.mark.e2e

CLIENTS = 200
MIB = 1024 * 1024
THIRTY_MB = 30 * MIB
TIMEOUT_S = 30  # a guard against a hang, not a measurement


def address(stack) -> tuple[str, int]:
    url = urlsplit(stack["base"])
    return url.hostname, url.port


def exchange(stack, head: bytes, body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    """Send `head` (request line and headers, without the blank line) and `body`; the answer read back."""
    with socket.create_connection(address(stack), timeout=TIMEOUT_S) as sock:
        sock.sendall(head + b"\r\n\r\n" + body)
        return read_answer(sock)


def read_answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    response = http.client.HTTPResponse(sock)
    response.begin()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()


def error_code(status: int, headers: dict[str, str], body: bytes) -> str:
    """The code of API.md's error body, after checking the answer is one."""
    assert headers["content-type"] == "application/json", (status, headers, body[:200])
    error = json.loads(body)["error"]
    assert isinstance(error["message"], str)
    assert error["message"]
    return error["code"]


def test_two_hundred_clients_connecting_at_once_are_all_answered(stack):
    start = threading.Barrier(CLIENTS)
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def client():
        start.wait()
        try:
            with socket.create_connection(address(stack), timeout=TIMEOUT_S) as sock:
                sock.sendall(b"GET /health HTTP/1.1\r\nHost: local\r\nConnection: close\r\n\r\n")
                status, _, body = read_answer(sock)
                outcome = str(status) if json.loads(body).get("status") == "ok" else f"{status} {body[:80]!r}"
        except ConnectionResetError:
            outcome = "reset"
        except ConnectionRefusedError:
            outcome = "refused"
        except (OSError, http.client.HTTPException) as exc:
            outcome = type(exc).__name__
        with lock:
            outcomes[outcome] += 1

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(f"\n{CLIENTS} concurrent connections: {dict(outcomes)}")
    assert outcomes == {"200": CLIENTS}


def test_headers_over_api_gateways_10240_bytes_get_431_and_headers_within_reach_the_app(stack):
    head = b"GET /health HTTP/1.1\r\nHost: local\r\nConnection: close\r\nX-Padding: "
    status, _, body = exchange(stack, head + b"a" * 9000)
    assert status == 200
    assert json.loads(body)["status"] == "ok"
    status, headers, body = exchange(stack, head + b"a" * 11 * 1024)
    assert status == 431
    assert error_code(status, headers, body) == "request_header_fields_too_large"


def test_a_header_line_over_64_kib_gets_431_with_the_error_body(stack):
    status, headers, body = exchange(stack, b"GET /health HTTP/1.1\r\nHost: local\r\nX-Padding: " + b"a" * 70 * 1024)
    assert status == 431
    assert error_code(status, headers, body) == "request_header_fields_too_large"


def test_more_than_a_hundred_headers_get_431_with_the_error_body(stack):
    head = b"GET /health HTTP/1.1\r\nHost: local" + b"".join(b"\r\nX-H%d: v" % n for n in range(101))
    status, headers, body = exchange(stack, head)
    assert status == 431
    assert error_code(status, headers, body) == "request_header_fields_too_large"


@pytest.mark.parametrize("query_bytes", [11 * 1024, 70 * 1024])
def test_a_long_request_line_gets_414_with_the_error_body(stack, query_bytes):
    head = b"GET /health?q=" + b"a" * query_bytes + b" HTTP/1.1\r\nHost: local"
    status, headers, body = exchange(stack, head)
    assert status == 414
    assert error_code(status, headers, body) == "uri_too_long"


def test_a_30_mb_body_gets_413_and_the_client_reads_it(stack):
    answer = requests.post(f"{stack['base']}/rides", data=b"x" * THIRTY_MB, timeout=TIMEOUT_S,
                           headers={"Content-Type": "application/json"})
    assert answer.status_code == 413
    assert error_code(answer.status_code, {"content-type": answer.headers["Content-Type"]},
                      answer.content) == "payload_too_large"


def test_a_30_mb_body_is_refused_before_it_is_sent(stack):
    # Only 2 MiB of the 30 MB announced are sent: the answer must come without waiting for the rest.
    with socket.create_connection(address(stack), timeout=TIMEOUT_S) as sock:
        sock.sendall(b"POST /rides HTTP/1.1\r\nHost: local\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n" % THIRTY_MB + b"x" * (2 * MIB))
        status, headers, body = read_answer(sock)
    assert status == 413
    assert error_code(status, headers, body) == "payload_too_large"


def test_a_30_mb_body_announced_with_expect_100_continue_is_refused_without_continue(stack):
    with socket.create_connection(address(stack), timeout=TIMEOUT_S) as sock:
        sock.sendall(b"POST /rides HTTP/1.1\r\nHost: local\r\nContent-Type: application/json\r\n"
                     b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % THIRTY_MB)
        first_line = sock.makefile("rb").readline()
    assert first_line.startswith(b"HTTP/1.1 413 ")


def test_a_chunked_body_over_10_mb_gets_413(stack):
    chunk = b"x" * MIB
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(11)) + b"0\r\n\r\n"
    status, headers, body = exchange(stack, b"POST /rides HTTP/1.1\r\nHost: local\r\n"
                                            b"Content-Type: application/json\r\nTransfer-Encoding: chunked",
                                     chunks)
    assert status == 413
    assert error_code(status, headers, body) == "payload_too_large"


@pytest.mark.parametrize("length", [b"abc", b"-1", b"+5", b"5, 6"])
def test_a_content_length_that_is_not_a_length_gets_400(stack, length):
    status, headers, body = exchange(stack, b"POST /rides HTTP/1.1\r\nHost: local\r\n"
                                            b"Content-Type: application/json\r\nContent-Length: " + length,
                                     b"{}")
    assert status == 400
    assert error_code(status, headers, body) == "bad_request"


def test_an_unknown_method_gets_the_error_body_not_html(stack):
    status, headers, body = exchange(stack, b"BREW /health HTTP/1.1\r\nHost: local")
    assert status == 501
    assert error_code(status, headers, body) == "not_implemented"


def test_a_chunked_body_reaches_the_app_as_the_same_body_with_a_length_would(stack):
    body = json.dumps({"pickup": {"lat": 0, "lng": 0}, "dropoff": {"lat": 37.5, "lng": 127.0}}).encode()
    head = (b"POST /rides HTTP/1.1\r\nHost: local\r\nContent-Type: application/json\r\nConnection: close\r\n"
            b"Authorization: " + bearer("rider")["Authorization"].encode())
    with_length = exchange(stack, head + b"\r\nContent-Length: %d" % len(body), body)
    chunked = exchange(stack, head + b"\r\nTransfer-Encoding: chunked",
                       b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
    assert with_length[0] == 400
    assert "pickup.lat" in json.loads(with_length[2])["error"]["fields"]
    assert (chunked[0], json.loads(chunked[2])) == (with_length[0], json.loads(with_length[2]))
