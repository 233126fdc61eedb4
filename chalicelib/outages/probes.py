"""Probing components over HTTP(S): concurrently, with a timeout, never following redirects, and never
connecting to link-local or metadata addresses.

The host is resolved once and every address it resolves to is checked; the connection then goes to a checked
address, so there is no second lookup for DNS rebinding to answer differently. The Host header and, for https,
SNI and the certificate check still use the URL's host name."""

import http.client
import socket
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from chalicelib.outages import rules

MAX_PARALLEL = 16
GRACE_S = 0.5
HEADERS = {"User-Agent": "o2o-outage-detector", "Connection": "close"}
Address = tuple[Any, ...]  # one socket.getaddrinfo answer: (family, type, proto, canonname, sockaddr)


class Refused(Exception):
    """The probe must not connect: the URL, or an address its host resolves to, is refused."""


def checked_addresses(host: str, port: int) -> list[Address]:
    """Resolve the host once and check every address it resolves to. Raises Refused when any is refused (a name
    answering with a good and a bad address is not trusted either), OSError when it does not resolve."""
    addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    for *_, sockaddr in addresses:
        if problem := rules.address_problem(sockaddr[0]):
            raise Refused(problem)
    return addresses


def _connect(addresses: list[Address], timeout_s: float | None) -> socket.socket:
    error = OSError("the host resolved to no address")
    for family, kind, proto, _, sockaddr in addresses:
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(timeout_s)
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            sock.close()
            error = exc
    raise error


@cache
def _tls() -> ssl.SSLContext:
    return ssl.create_default_context()


class _CheckedHTTP(http.client.HTTPConnection):
    """HTTP to an address checked beforehand (no lookup of its own); the Host header names the URL's host."""

    def __init__(self, host: str, port: int, addresses: list[Address], timeout_s: float):
        super().__init__(host, port, timeout=timeout_s)
        self.addresses = addresses

    def connect(self) -> None:
        self.sock = _connect(self.addresses, self.timeout)


class _CheckedHTTPS(http.client.HTTPSConnection):
    """HTTPS to an address checked beforehand; SNI and the certificate check use the URL's host."""

    def __init__(self, host: str, port: int, addresses: list[Address], timeout_s: float):
        super().__init__(host, port, timeout=timeout_s, context=_tls())
        self.addresses = addresses

    def connect(self) -> None:
        self.sock = _tls().wrap_socket(_connect(self.addresses, self.timeout), server_hostname=self.host)


def probe(url: str, timeout_s: float) -> tuple[int | None, str]:
    """(HTTP status or None, what happened) of one GET; any network failure is a failed check, never an error.
    A URL or resolved address the rules refuse is a failed check that never connects; a 3xx is not followed."""
    try:
        if problem := rules.probe_url_problem(url, https_only=False):  # also for components registered long ago
            raise Refused(problem)
        parts = urlsplit(url)
        host = rules.normalised_host(parts.hostname or "") or ""
        https = parts.scheme == "https"
        port = parts.port or (443 if https else 80)
        connection = (_CheckedHTTPS if https else _CheckedHTTP)(host, port, checked_addresses(host, port), timeout_s)
        try:
            connection.request("GET", (parts.path or "/") + (f"?{parts.query}" if parts.query else ""), headers=HEADERS)
            status = connection.getresponse().status
        finally:
            connection.close()
        return status, f"HTTP {status}"
    except Refused as exc:
        return None, f"refused: {exc}"
    except (http.client.HTTPException, OSError, ValueError) as exc:
        return None, f"{type(exc).__name__}: {exc}"[:200]


def probe_all(urls: dict[str, str], timeout_s: float) -> dict[str, tuple[int | None, str]]:
    """Probe every component at once; returns name -> (status, detail)."""
    if not urls:
        return {}
    pool = ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(urls)))
    futures = {name: pool.submit(probe, url, timeout_s) for name, url in urls.items()}
    # The socket timeout bounds each read, not the answer: a target trickling bytes is cut off here.
    deadline = time.monotonic() + timeout_s + GRACE_S
    answers = {}
    for name, future in futures.items():
        try:
            answers[name] = future.result(timeout=max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            answers[name] = (None, f"no complete answer within {timeout_s} s")
    pool.shutdown(wait=False, cancel_futures=True)
    return answers
