"""Offer delivery over the real-time channel, measured over the real local stack, next to polling.

A driver is online and connected by WebSocket; a rider asks for a ride OFFERS times (cancelling each
once offered, so the driver is free for the next). For each offer: the time from the POST /rides answer
(and from the request being sent) to the driver's receipt of `ride.offered`, read on a listener thread.
A push is sent before the POST answers, so "after the answer" is often below zero: the offer was there first.
Polling GET /drivers/me/offers every POLL_S sees an offer POLL_S / 2 after it is made on average (at worst POLL_S).
"""

import json
import statistics
import tempfile
import threading
import time
from pathlib import Path

import requests
import websocket

from devstack.keys import DevKeys
from devstack.launcher import local_stack

OFFERS = 200
POLL_S = 2.0
KEEPALIVE_S = 9 * 60  # API Gateway closes a connection idle for 10 minutes
RECONNECT_S = 2 * 3600  # ... and any connection after 2 hours
PICKUP, DROPOFF = {"lat": 37.5663, "lng": 126.9779}, {"lat": 37.4979, "lng": 127.0276}


def _percentiles(values: list[float]) -> tuple[float, float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[int(0.95 * (len(ordered) - 1))], ordered[-1]


def measure(stack: dict, offers: int = OFFERS) -> dict:
    """Latencies (ms) of `offers` offers: from the POST answer and from the request to the driver's receipt."""
    keys = DevKeys()
    driver = {"Authorization": f"Bearer {keys.token('driver', 'bench-driver')}"}
    rider = {"Authorization": f"Bearer {keys.token('rider', 'bench-rider')}"}
    base = stack["base"]
    requests.put(f"{base}/drivers/me", json={"name": "Bench", "services": ["taxi"]}, headers=driver).raise_for_status()
    requests.post(f"{base}/drivers/me/status", json={"status": "online", **PICKUP},
                  headers=driver).raise_for_status()
    client = websocket.create_connection(f"{stack['ws']}/?token={keys.token('driver', 'bench-driver')}", timeout=30)
    arrivals: dict[str, float] = {}
    arrived = threading.Condition()

    def listen() -> None:
        while True:
            try:
                message = json.loads(client.recv())
            except (websocket.WebSocketException, OSError, ValueError):
                return
            if message.get("type") == "ride.offered":
                with arrived:
                    arrivals[message["ride_id"]] = time.perf_counter()
                    arrived.notify_all()

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    session = requests.Session()
    after_answer, after_request = [], []
    for n in range(offers + 1):  # the first warms the stack (imports, clients) and is not counted
        sent = time.perf_counter()
        created = session.post(f"{base}/rides", json={"service": "taxi", "pickup": PICKUP, "dropoff": DROPOFF},
                               headers=rider)
        answered = time.perf_counter()
        ride = created.json()
        if ride.get("driver_id") != "bench-driver":
            raise RuntimeError(f"the ride was not offered to the bench driver: {ride}")
        with arrived:
            arrived.wait_for(lambda ride_id=ride["ride_id"]: ride_id in arrivals, timeout=10)
        if n:
            after_answer.append((arrivals[ride["ride_id"]] - answered) * 1000)
            after_request.append((arrivals[ride["ride_id"]] - sent) * 1000)
        session.post(f"{base}/rides/{ride['ride_id']}/cancel", json={}, headers=rider).raise_for_status()
    client.close()
    return {"after_answer": _percentiles(after_answer), "after_request": _percentiles(after_request),
            "offers": offers}


def main() -> None:
    with tempfile.TemporaryDirectory() as folder, local_stack(Path(folder) / "stack.log") as stack:
        figures = measure(stack)
    polling_requests = 3600 / POLL_S
    keepalive = 2 * 3600 / KEEPALIVE_S  # a ping and its pong
    print(f"Offer delivery over the local stack ({figures['offers']} offers, ms)")
    print(f"{'way':<44}{'p50':>10}{'p95':>10}{'max':>10}")
    for label, key in (("WebSocket push, from the POST /rides answer", "after_answer"),
                       ("WebSocket push, from the POST /rides request", "after_request")):
        p50, p95, most = figures[key]
        print(f"{label:<44}{p50:>10.1f}{p95:>10.1f}{most:>10.1f}")
    print(f"{f'polling every {POLL_S:g} s (expected, no network)':<44}{POLL_S * 500:>10.0f}{POLL_S * 950:>10.0f}"
          f"{POLL_S * 1000:>10.0f}")
    print()
    print("Requests per driver-hour, with no ride at all")
    print(f"  polling GET /drivers/me/offers every {POLL_S:g} s   {polling_requests:>8,.0f} HTTP requests")
    print(f"  WebSocket (ping every {KEEPALIVE_S // 60} min, reconnect every {RECONNECT_S // 3600} h)"
          f"   {keepalive:>5.1f} messages + {3600 / RECONNECT_S:.1f} connects")
    print("  each ride adds 10 pushed messages (driver: offer + 4 updates; rider: 5 updates)")


if __name__ == "__main__":
    main()
