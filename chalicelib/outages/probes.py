"""Probing components over HTTP(S): concurrently, with a timeout, never following redirects, and never
connecting to link-local or metadata addresses (checked again at probe time against DNS rebinding)."""

import http.client
import socket
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from urllib.parse import urlsplit

from chalicelib.outages import rules

MAX_PARALLEL = 16
GRACE_S = 0.5


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect is answered as the 3xx it is: not healthy


_opener = urllib.request.build_opener(_NoRedirects)


def resolved_address_problem(url: str) -> str | None:
    """Why the URL's host resolves somewhere we must not connect, or None (unresolvable hosts fail the probe)."""
    host = urlsplit(url).hostname or ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return None
    return next((problem for ip in addresses if (problem := rules.address_problem(ip))), None)


def probe(url: str, timeout_s: float) -> tuple[int | None, str]:
    """(HTTP status or None, what happened) of one GET; any network failure is a failed check, never an error."""
    problem = resolved_address_problem(url)
    if problem:
        return None, f"refused: {problem}"
    try:
        with _opener.open(urllib.request.Request(url, headers={"User-Agent": "o2o-outage-detector"}),
                          timeout=timeout_s) as answer:
            return answer.status, f"HTTP {answer.status}"
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code}"
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
        return None, f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"[:200]


def probe_all(urls: dict[str, str], timeout_s: float) -> dict[str, tuple[int | None, str]]:
    """Probe every component at once; returns name -> (status, detail)."""
    if not urls:
        return {}
    pool = ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(urls)))
    futures = {name: pool.submit(probe, url, timeout_s) for name, url in urls.items()}
    # urllib's timeout bounds each socket read, not the answer: a target trickling bytes is cut off here.
    deadline = time.monotonic() + timeout_s + GRACE_S
    answers = {}
    for name, future in futures.items():
        try:
            answers[name] = future.result(timeout=max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            answers[name] = (None, f"no complete answer within {timeout_s} s")
    pool.shutdown(wait=False, cancel_futures=True)
    return answers
