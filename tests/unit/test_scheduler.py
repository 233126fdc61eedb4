"""The local scheduler fires each scheduled function at its own rate."""

from chalice import Chalice, Rate

from devstack.scheduler import Scheduler, scheduled_event


def tiny_app(calls: list[str]) -> Chalice:
    app = Chalice("tiny")

    @app.schedule(Rate(1, unit=Rate.MINUTES))
    def every_minute(event):
        calls.append(f"minute:{event.detail_type}")

    @app.schedule(Rate(5, unit=Rate.MINUTES))
    def every_five(event):
        calls.append("five")

    return app


def test_each_schedule_fires_once_per_period():
    calls: list[str] = []
    scheduler = Scheduler(tiny_app(calls))
    start = min(s.due for s in scheduler.schedules) - 60
    for minute in range(1, 11):
        scheduler.fire_due(start + minute * 60)
    assert calls.count("minute:Scheduled Event") == 10
    assert calls.count("five") == 2


def test_a_failing_function_does_not_stop_the_others():
    app = Chalice("failing")
    ran = []

    @app.schedule(Rate(1, unit=Rate.MINUTES))
    def broken(event):
        raise RuntimeError("boom")

    @app.schedule(Rate(1, unit=Rate.MINUTES))
    def healthy(event):
        ran.append(True)

    logged = []
    scheduler = Scheduler(app, log=logged.append)
    assert scheduler.fire_due(max(s.due for s in scheduler.schedules)) == ["broken", "healthy"]
    assert ran == [True]
    assert "broken failed" in logged[0]


def test_the_event_looks_like_eventbridges():
    from datetime import UTC, datetime

    event = scheduled_event("detect_outages", datetime(2022, 10, 15, 6, 33, tzinfo=UTC))
    assert event["detail-type"] == "Scheduled Event"
    assert event["time"] == "2022-10-15T06:33:00Z"
    assert event["resources"][0].endswith("rule/detect_outages")
