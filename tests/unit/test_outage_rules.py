from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from chalicelib.outages.rules import (
    Thresholds,
    Tracker,
    Transition,
    address_problem,
    duration_s,
    error_rate_healthy,
    heartbeat_healthy,
    incident_resolved_at,
    joins_incident,
    observe,
    probe_healthy,
    probe_url_problem,
)

FIRE = datetime(2024, 5, 1, 6, 33, 0, tzinfo=UTC)  # the first failed check on the morning of the fire
MINUTE = timedelta(minutes=1)
FRESH = Tracker()
DEFAULTS = Thresholds()


def at(minutes: int) -> datetime:
    return FIRE + minutes * MINUTE


def run(checks: list[bool], tracker: Tracker = FRESH, thresholds: Thresholds = DEFAULTS, start: int = 0):
    """Feed checks one minute apart; return the final tracker and every transition emitted (with its check index)."""
    transitions: list[tuple[int, Transition]] = []
    for i, healthy in enumerate(checks):
        tracker, transition = observe(tracker, healthy, at(start + i), thresholds)
        if transition is not None:
            transitions.append((i, transition))
    return tracker, transitions


def down_tracker() -> Tracker:
    tracker, transitions = run([False, False, False])
    assert tracker.state == "down"
    assert len(transitions) == 1
    return tracker


# --- the detector: up -> down ---


def test_a_fresh_tracker_is_up_with_no_streaks():
    assert Tracker() == Tracker(state="up", fail_streak=0, ok_streak=0, first_fail_at=None, first_ok_at=None)


def test_healthy_checks_on_an_up_component_emit_nothing_and_keep_it_up():
    tracker, transitions = run([True] * 10)
    assert tracker == Tracker(state="up")
    assert transitions == []


def test_one_failure_starts_a_failing_streak_at_its_own_time():
    tracker, transition = observe(Tracker(), False, at(0))
    assert transition is None
    assert tracker == Tracker(state="up", fail_streak=1, first_fail_at=at(0))


def test_a_second_failure_keeps_the_first_failure_time():
    tracker, _ = run([False, False])
    assert tracker.fail_streak == 2
    assert tracker.first_fail_at == at(0)


def test_two_failures_then_a_success_opens_nothing_and_resets_the_streak():
    tracker, transitions = run([False, False, True])
    assert transitions == []
    assert tracker == Tracker(state="up")


def test_three_failures_in_a_row_go_down_at_the_first_failure_to_the_second():
    t1 = datetime(2024, 5, 1, 6, 33, 0, tzinfo=UTC)
    t2 = datetime(2024, 5, 1, 6, 34, 0, tzinfo=UTC)
    t3 = datetime(2024, 5, 1, 6, 35, 0, tzinfo=UTC)
    tracker, first = observe(Tracker(), False, t1)
    tracker, second = observe(tracker, False, t2)
    tracker, third = observe(tracker, False, t3)
    assert first is None
    assert second is None
    assert third == Transition("failed", datetime(2024, 5, 1, 6, 33, 0, tzinfo=UTC))
    assert tracker.state == "down"


def test_the_failing_streak_after_a_reset_starts_at_the_new_first_failure():
    _, transitions = run([False, False, True, False, False, False])
    assert transitions == [(5, Transition("failed", at(3)))]


def test_further_failures_while_down_emit_nothing_and_stay_down():
    tracker, transitions = run([False] * 30, tracker=down_tracker(), start=3)
    assert transitions == []
    assert tracker.state == "down"


@pytest.mark.parametrize("first_healthy", [True, False])
def test_flapping_for_twenty_checks_never_goes_down(first_healthy):
    checks = [(i % 2 == 0) == first_healthy for i in range(20)]
    tracker, transitions = run(checks)
    assert transitions == []
    assert tracker.state == "up"


def test_flapping_with_two_failures_between_successes_never_goes_down():
    tracker, transitions = run([False, False, True] * 7)
    assert transitions == []
    assert tracker.state == "up"


# --- the detector: down -> up ---


def test_going_down_starts_a_clean_down_tracker():
    assert down_tracker() == Tracker(state="down")


def test_recovery_needs_three_healthy_checks_in_a_row_at_the_first_healthy_one():
    tracker = down_tracker()
    tracker, first = observe(tracker, True, at(10))
    tracker, second = observe(tracker, True, at(11))
    assert first is None
    assert second is None
    assert tracker == Tracker(state="down", ok_streak=2, first_ok_at=at(10))
    tracker, third = observe(tracker, True, at(12))
    assert third == Transition("recovered", at(10))
    assert tracker == Tracker(state="up")


def test_a_failure_while_recovering_resets_the_healthy_streak():
    tracker, transitions = run([True, True, False], tracker=down_tracker(), start=10)
    assert transitions == []
    assert tracker == Tracker(state="down")


def test_the_healthy_streak_after_a_reset_starts_at_the_new_first_healthy_check():
    _, transitions = run([True, True, False, True, True, True], tracker=down_tracker(), start=10)
    assert transitions == [(5, Transition("recovered", at(13)))]


@pytest.mark.parametrize("first_healthy", [True, False])
def test_fail_ok_alternation_while_down_never_resolves(first_healthy):
    checks = [(i % 2 == 0) == first_healthy for i in range(20)]
    tracker, transitions = run(checks, tracker=down_tracker(), start=3)
    assert transitions == []
    assert tracker.state == "down"


def test_a_whole_outage_emits_exactly_one_failed_and_one_recovered():
    checks = [True] * 3 + [False] * 5 + [True, False] * 4 + [True] * 3 + [True] * 5
    tracker, transitions = run(checks)
    assert transitions == [(5, Transition("failed", at(3))), (18, Transition("recovered", at(16)))]
    assert tracker == Tracker(state="up")


def test_a_threshold_of_one_goes_down_and_up_on_a_single_check():
    once = Thresholds(fail_after=1, recover_after=1)
    tracker, failed = observe(Tracker(), False, at(0), once)
    assert failed == Transition("failed", at(0))
    tracker, recovered = observe(tracker, True, at(1), once)
    assert recovered == Transition("recovered", at(1))
    assert tracker.state == "up"


def test_a_threshold_of_five_needs_five_in_a_row_each_way():
    five = Thresholds(fail_after=5, recover_after=5)
    tracker, transitions = run([False] * 4, thresholds=five)
    assert transitions == []
    tracker, transitions = run([False], tracker=tracker, thresholds=five, start=4)
    assert transitions == [(0, Transition("failed", at(0)))]
    tracker, transitions = run([True] * 4, tracker=tracker, thresholds=five, start=10)
    assert transitions == []
    tracker, transitions = run([True], tracker=tracker, thresholds=five, start=14)
    assert transitions == [(0, Transition("recovered", at(10)))]
    assert tracker.state == "up"


def test_the_default_thresholds_are_three_three_and_one_hour():
    assert Thresholds() == Thresholds(fail_after=3, recover_after=3, join_window=timedelta(hours=1))


@pytest.mark.parametrize("kwargs", [{"fail_after": 0}, {"recover_after": 0}, {"join_window": timedelta(seconds=-1)}])
def test_thresholds_that_make_no_sense_are_refused(kwargs):
    with pytest.raises(ValueError, match="thresholds"):
        Thresholds(**kwargs)


def test_observe_refuses_a_naive_check_time():
    with pytest.raises(ValueError, match="timezone-aware"):
        observe(Tracker(), False, datetime(2024, 5, 1, 6, 33))


def test_observe_refuses_an_unknown_tracker_state():
    with pytest.raises(ValueError, match="unknown tracker state"):
        observe(Tracker(state="sideways"), True, at(0))


def test_observe_does_not_change_the_tracker_it_was_given():
    tracker = Tracker(state="up", fail_streak=2, first_fail_at=at(0))
    observe(tracker, False, at(2))
    assert tracker == Tracker(state="up", fail_streak=2, first_fail_at=at(0))


# --- heartbeats ---


def test_a_heartbeat_exactly_timeout_old_is_healthy():
    assert heartbeat_healthy(at(0), at(-60), 90, at(0) + timedelta(seconds=90))


def test_a_heartbeat_one_second_past_the_timeout_is_unhealthy():
    assert not heartbeat_healthy(at(0), at(-60), 90, at(0) + timedelta(seconds=91))


def test_a_component_that_never_beat_is_judged_from_its_registration_time():
    registered = at(0)
    assert heartbeat_healthy(None, registered, 90, registered + timedelta(seconds=90))
    assert not heartbeat_healthy(None, registered, 90, registered + timedelta(seconds=91))


def test_a_recent_heartbeat_wins_over_an_old_registration():
    assert heartbeat_healthy(at(100), at(0), 90, at(101))


@pytest.mark.parametrize(
    ("last", "registered", "now"),
    [
        (datetime(2024, 5, 1, 6, 33), at(0), at(1)),
        (None, datetime(2024, 5, 1, 6, 33), at(1)),
        (at(0), at(0), datetime(2024, 5, 1, 6, 34)),
    ],
)
def test_heartbeat_healthy_refuses_naive_times(last, registered, now):
    with pytest.raises(ValueError, match="timezone-aware"):
        heartbeat_healthy(last, registered, 90, now)


# --- probes ---


@pytest.mark.parametrize("status", [200, 204, 299])
def test_a_2xx_probe_answer_is_healthy(status):
    assert probe_healthy(status)


@pytest.mark.parametrize("status", [199, 300, 404, 500, None])
def test_a_probe_answer_outside_2xx_or_missing_is_unhealthy(status):
    assert not probe_healthy(status)


# --- the platform's own ride traffic ---


@pytest.mark.parametrize(("requested", "failed"), [(0, 0), (1, 1), (19, 19)])
def test_ride_traffic_below_the_minimum_volume_is_always_healthy(requested, failed):
    assert error_rate_healthy(requested, failed)


def test_ride_traffic_at_exactly_the_failed_share_is_healthy():
    assert error_rate_healthy(20, 10)
    assert error_rate_healthy(40, 10, max_failed_share=Decimal("0.25"))


def test_ride_traffic_above_the_failed_share_is_unhealthy():
    assert not error_rate_healthy(20, 11)
    assert not error_rate_healthy(40, 11, max_failed_share=Decimal("0.25"))


def test_the_minimum_volume_is_inclusive():
    assert not error_rate_healthy(20, 20)
    assert error_rate_healthy(20, 20, min_volume=21)
    assert not error_rate_healthy(5, 5, min_volume=5)


def test_the_failed_share_is_compared_exactly_not_in_floating_point():
    assert error_rate_healthy(30, 10, max_failed_share=Decimal(1) / Decimal(3) + Decimal("1e-20"))
    assert not error_rate_healthy(30, 11, max_failed_share=Decimal("0.3666"))


@pytest.mark.parametrize(("requested", "failed"), [(-1, 0), (10, -1), (10, 11)])
def test_impossible_ride_counts_are_refused(requested, failed):
    with pytest.raises(ValueError, match="failed"):
        error_rate_healthy(requested, failed)


# --- probe URLs ---


@pytest.mark.parametrize("https_only", [True, False])
def test_an_https_url_is_allowed(https_only):
    assert probe_url_problem("https://status.example.com/health", https_only) is None


def test_an_http_url_is_refused_when_https_only():
    assert probe_url_problem("http://status.example.com/health", https_only=True) == "URL must use https"


def test_an_http_url_is_allowed_when_not_https_only():
    assert probe_url_problem("http://status.example.com/health", https_only=False) is None


@pytest.mark.parametrize(
    "url", ["ftp://example.com/file", "file:///etc/passwd", "gopher://example.com:70/_", "example.com/health"]
)
@pytest.mark.parametrize("https_only", [True, False])
def test_schemes_other_than_http_and_https_are_refused(url, https_only):
    assert probe_url_problem(url, https_only) == "URL scheme must be http or https"


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data",
        "https://169.254.169.254/latest/meta-data",
        "http://169.254.0.1/",
        "http://[fd00:ec2::254]/",
        "http://[fe80::1]/",
        "http://[fe80::1%25eth0]/",
        "http://[::ffff:169.254.169.254]/",
        "http://0.0.0.0/",
        "http://[::]/",
    ],
)
def test_urls_aimed_at_metadata_link_local_or_unspecified_addresses_are_refused_always(url):
    assert probe_url_problem(url, https_only=False) is not None
    assert probe_url_problem(url.replace("http://", "https://", 1), https_only=True) is not None


@pytest.mark.parametrize(
    "url", ["http://2852039166/", "http://0xa9fea9fe/", "http://0251.0376.0251.0376/", "http://169.254.169.0254/"]
)
def test_numeric_hosts_that_are_not_plain_ip_addresses_are_refused(url):
    assert probe_url_problem(url, https_only=False) == "numeric host that is not a plain IP address"


def test_loopback_with_a_port_is_allowed_when_not_https_only():
    assert probe_url_problem("http://127.0.0.1:8080/health", https_only=False) is None


def test_private_addresses_and_ordinary_hostnames_are_allowed():
    assert probe_url_problem("https://10.0.3.7/health", https_only=True) is None
    assert probe_url_problem("https://[::1]:8443/health", https_only=True) is None
    assert probe_url_problem("https://api.taxi-platform.co.kr/v1/health?deep=1", https_only=True) is None


@pytest.mark.parametrize(
    "url",
    ["https://user:pw@example.com", "https://user@example.com/", "https://:pw@example.com/", "https://@example.com/"],
)
def test_urls_with_userinfo_are_refused(url):
    assert probe_url_problem(url, https_only=True) == "URL must not carry a user name or password"


@pytest.mark.parametrize(
    "url", ["not a url", "", "https://example.com/ health", "https://example.com/\nx", "https://example.com\\@evil/"]
)
def test_urls_with_spaces_controls_or_backslashes_are_refused(url):
    assert probe_url_problem(url, https_only=False) is not None


@pytest.mark.parametrize("url", ["http://[::1", "https://example.com:99999/", "https://example.com:port/"])
def test_unparseable_urls_are_refused(url):
    assert probe_url_problem(url, https_only=False) == "URL cannot be parsed"


@pytest.mark.parametrize("url", ["https://", "https:///health", "http://:8080/"])
def test_urls_without_a_host_are_refused(url):
    assert probe_url_problem(url, https_only=False) == "URL has no host"


# --- addresses the service resolved ---


@pytest.mark.parametrize(
    "ip",
    ["169.254.169.254", "169.254.0.0", "169.254.255.255", "fe80::1", "febf::ffff", "fd00:ec2::254", "0.0.0.0", "::"],
)
def test_metadata_link_local_and_unspecified_addresses_are_refused(ip):
    assert address_problem(ip) is not None


@pytest.mark.parametrize(
    "ip", ["127.0.0.1", "10.0.0.5", "172.16.0.1", "192.168.1.10", "::1", "fd00:ec2::253", "169.253.255.255", "8.8.8.8"]
)
def test_loopback_private_and_public_addresses_are_allowed(ip):
    assert address_problem(ip) is None


def test_the_ec2_ipv6_metadata_address_is_refused_by_name():
    assert address_problem("fd00:ec2::254") == "cloud metadata address"
    assert address_problem("FD00:0EC2:0000:0000:0000:0000:0000:0254") == "cloud metadata address"


def test_an_ipv4_mapped_metadata_address_is_refused():
    assert address_problem("::ffff:169.254.169.254") is not None
    assert address_problem("::ffff:127.0.0.1") is None


def test_something_that_is_not_an_ip_is_refused():
    assert address_problem("metadata.google.internal") == "not an IP address"


# --- incidents ---


def test_a_failure_inside_the_join_window_joins_the_open_incident():
    assert joins_incident(FIRE, FIRE)
    assert joins_incident(FIRE, FIRE + timedelta(minutes=59))
    assert joins_incident(FIRE, FIRE + timedelta(hours=1))


def test_a_failure_shortly_before_the_incident_started_joins_it_too():
    assert joins_incident(FIRE, FIRE - timedelta(minutes=5))
    assert joins_incident(FIRE, FIRE - timedelta(hours=1))


def test_a_failure_outside_the_join_window_starts_its_own_incident():
    assert not joins_incident(FIRE, FIRE + timedelta(hours=1, seconds=1))
    assert not joins_incident(FIRE, FIRE - timedelta(hours=1, seconds=1))


def test_the_join_window_comes_from_the_thresholds():
    short = Thresholds(join_window=timedelta(minutes=10))
    assert joins_incident(FIRE, FIRE + timedelta(minutes=10), short)
    assert not joins_incident(FIRE, FIRE + timedelta(minutes=11), short)


def test_joins_incident_refuses_naive_times():
    with pytest.raises(ValueError, match="timezone-aware"):
        joins_incident(FIRE, datetime(2024, 5, 1, 6, 40))


def test_an_incident_with_a_component_still_down_is_not_resolved():
    assert incident_resolved_at([at(60), None, at(90)]) is None
    assert incident_resolved_at([None]) is None


def test_an_incident_resolves_at_the_latest_recovery():
    assert incident_resolved_at([at(60), at(300), at(90)]) == at(300)
    assert incident_resolved_at([at(60)]) == at(60)


def test_an_incident_with_no_components_is_not_resolved():
    assert incident_resolved_at([]) is None


def test_an_open_incident_lasts_until_now():
    assert duration_s(FIRE, None, FIRE + timedelta(hours=5, seconds=7)) == 5 * 3600 + 7


def test_a_resolved_incident_lasts_until_its_resolution_whatever_now_is():
    resolved = FIRE + timedelta(hours=3, minutes=20)
    assert duration_s(FIRE, resolved, resolved + timedelta(days=2)) == 3 * 3600 + 20 * 60


def test_duration_counts_whole_seconds_only():
    assert duration_s(FIRE, FIRE + timedelta(seconds=59, microseconds=999_999), FIRE) == 59


def test_duration_is_never_negative():
    assert duration_s(FIRE, None, FIRE - timedelta(seconds=5)) == 0


@pytest.mark.parametrize(
    ("started", "resolved", "now"),
    [
        (datetime(2024, 5, 1, 6, 33), None, at(10)),
        (FIRE, datetime(2024, 5, 1, 9, 0), at(10)),
        (FIRE, None, datetime(2024, 5, 1, 9, 0)),
    ],
)
def test_duration_refuses_naive_times(started, resolved, now):
    with pytest.raises(ValueError, match="timezone-aware"):
        duration_s(started, resolved, now)
