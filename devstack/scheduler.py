"""A local EventBridge: fires each scheduled function of the app at its rate."""

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chalice.app import Chalice, Rate, ScheduledEventConfig
from chalice.local import LambdaContext

SECONDS = {Rate.MINUTES: 60, Rate.HOURS: 3600, Rate.DAYS: 86400}


@dataclass
class Schedule:
    """One scheduled function and when it runs next (monotonic seconds)."""

    name: str
    period_s: float
    due: float


def schedules(app: Chalice, start: float) -> list[Schedule]:
    """The app's scheduled functions; each first fires one period after `start`."""
    found = []
    for source in app.event_sources:
        if isinstance(source, ScheduledEventConfig):
            rate = source.schedule_expression
            if not isinstance(rate, Rate):
                raise ValueError(f"the local scheduler runs Rate schedules only; {source.name} has {rate!r}")
            period = rate.value * SECONDS[rate.unit]
            found.append(Schedule(source.name, period, start + period))
    return found


def scheduled_event(name: str, at: datetime) -> dict[str, Any]:
    """The EventBridge 'Scheduled Event' a rule sends to its target."""
    return {"version": "0", "id": f"local-{name}-{int(at.timestamp())}", "detail-type": "Scheduled Event",
            "source": "aws.events", "account": "123456789012", "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": "ap-northeast-2", "resources": [f"arn:aws:events:ap-northeast-2:123456789012:rule/{name}"],
            "detail": {}}


def clock_is_stopped() -> bool:
    from chalicelib.core import clock

    return isinstance(clock.current_clock(), clock.FrozenClock)


class Scheduler(threading.Thread):
    """Runs due schedules in a background thread until `stop()`."""

    def __init__(self, app: Chalice, log=print, tick_s: float = 1.0):
        super().__init__(name="scheduler", daemon=True)
        self.app = app
        self.log = log
        self.tick_s = tick_s
        self.schedules = schedules(app, time.monotonic())
        self._stopped = threading.Event()

    def run(self) -> None:
        while not self._stopped.wait(self.tick_s):
            self.fire_due(time.monotonic())

    def fire_due(self, now: float) -> list[str]:
        """Invoke every schedule that is due at `now`; returns the names fired.

        While the app's clock is stopped (PUT /dev/clock, a replay such as `make demo`) time does not pass,
        so nothing is due: the replay runs its jobs itself.
        """
        fired = []
        if clock_is_stopped():
            return fired
        for schedule in self.schedules:
            if now >= schedule.due:
                schedule.due = now + schedule.period_s
                fired.append(schedule.name)
                self.invoke(schedule.name)
        return fired

    def invoke(self, name: str) -> Any:
        event = scheduled_event(name, datetime.now(UTC))
        try:
            return self.app.handler_map[name](event, LambdaContext(name, memory_size=512))
        except Exception as exc:  # a failing job must not stop the scheduler, as in AWS
            self.log(f"scheduled function {name} failed: {exc!r}")
            return None

    def stop(self) -> None:
        self._stopped.set()
