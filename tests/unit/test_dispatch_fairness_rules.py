"""Who is offered a ride depends only on ring distance, time available and eligibility: a property test."""

import dataclasses
import inspect
from datetime import UTC, datetime, timedelta

import h3
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.drivers.rules import Candidate, cell_of, rank_candidates, weigh_candidates
from chalicelib.rides.rules import (
    availability_counts,
    available_by_hour,
    day_ranges,
    decision_counts,
    fairness_report,
    in_words,
    judge,
    merged,
    passed_over_nearer,
    request_counts,
    trip_band,
    window_hours,
)

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
PICKUP = cell_of(37.5663, 126.9779)
CELLS = sorted(h3.grid_disk(PICKUP, 7))  # ring 7 is beyond the dispatch radius: never offered
AFFILIATIONS = st.sampled_from(["independent", "Kakao T Blue", "Macaron", "UT", "a" * 40])

candidates = st.lists(
    st.builds(lambda n, cell, minutes, affiliation: Candidate(f"d{n}", cell, T0 - timedelta(minutes=minutes),
                                                              affiliation),
              st.integers(0, 30), st.sampled_from(CELLS), st.integers(0, 600), AFFILIATIONS),
    max_size=12, unique_by=lambda c: c.driver_id)


def chosen(found: list[Candidate], excluded: set[str]) -> str | None:
    ranked = rank_candidates(PICKUP, found, excluded)
    return ranked[0].driver_id if ranked else None


@settings(max_examples=300, deadline=None)
@given(candidates, st.data())
def test_changing_any_drivers_affiliation_never_changes_who_is_offered(found, data):
    excluded = set(data.draw(st.lists(st.sampled_from([c.driver_id for c in found]), unique=True))) if found else set()
    relabelled = [dataclasses.replace(c, affiliation=data.draw(AFFILIATIONS)) for c in found]
    assert chosen(relabelled, excluded) == chosen(found, excluded)
    assert [c.driver_id for c in rank_candidates(PICKUP, relabelled, excluded)] == [
        c.driver_id for c in rank_candidates(PICKUP, found, excluded)]


@settings(max_examples=300, deadline=None)
@given(candidates)
def test_the_offered_driver_is_the_nearest_and_among_them_the_longest_available(found):
    winner = chosen(found, set())
    reachable = [c for c in found if h3.grid_distance(PICKUP, c.cell) <= 6]
    if not reachable:
        assert winner is None
        return
    best = min((h3.grid_distance(PICKUP, c.cell), c.available_since) for c in reachable)
    offered = next(c for c in found if c.driver_id == winner)
    assert (h3.grid_distance(PICKUP, offered.cell), offered.available_since) == best


@settings(max_examples=200, deadline=None)
@given(candidates)
def test_no_decision_passes_over_a_nearer_eligible_driver(found):
    weighed = weigh_candidates(PICKUP, found, set())
    if weighed:
        judged = judge(weighed, weighed[0].candidate.driver_id, set())
        assert passed_over_nearer(judged) == 0
        for j in judged[1:]:
            assert "Kakao" not in in_words(j.outcome, j.reason, j.ring_distance, j.offered_ring, j.waited_less_s)


def test_rating_acceptance_history_trip_length_and_fare_are_not_even_inputs_of_the_choice():
    assert list(inspect.signature(rank_candidates).parameters) == ["pickup_cell", "candidates", "excluded"]
    assert list(inspect.signature(weigh_candidates).parameters) == ["pickup_cell", "candidates", "excluded"]
    assert {f.name for f in dataclasses.fields(Candidate)} == {"driver_id", "cell", "available_since", "affiliation",
                                                             "services"}


# --- the fairness report's counters and their sums --------------------------------------------------------


def test_an_available_stretch_is_cut_at_each_utc_hour_and_credited_for_a_day_at_most():
    since = datetime(2024, 5, 1, 8, 50, tzinfo=UTC)
    assert [(at.hour, s) for at, s in available_by_hour(since, since + timedelta(minutes=80))] == [
        (8, 600), (9, 3600), (10, 600)]
    week = available_by_hour(since - timedelta(days=7), since)
    assert sum(s for _, s in week) == 24 * 3600
    assert available_by_hour(since, since) == []


def test_counters_for_the_same_item_are_summed_into_one_write():
    offered_at = T0 + timedelta(minutes=2)
    offer = decision_counts("taxi", offered_at, "Macaron", 0, 3)
    stretch = availability_counts({"taxi", "designated"}, "Macaron", T0 - timedelta(minutes=5), offered_at, 3)
    adds = merged(offer, stretch)
    assert adds[("taxi#2024-05-01#3", "09#cohort#Macaron")] == {"offers": 1, "available_s": 120}
    assert adds[("taxi#2024-05-01#3", "08#cohort#Macaron")] == {"available_s": 300}
    assert adds[("designated#2024-05-01#3", "09#cohort#Macaron")] == {"available_s": 120}
    assert adds[("taxi#2024-05-01#3", "09#all#all")] == {"decisions": 1}   # zero counters are not written
    assert request_counts("taxi", T0, "<1km", 0, True, False) == {
        ("taxi#2024-05-01#0", "09#band#<1km"): {"requests": 1, "offered": 0}}


def test_the_report_sums_the_items_of_its_hours_into_shares_and_offer_rates():
    items = [("09#all#all", {"decisions": 3, "passed_over_nearer": 0}), ("10#all#all", {"decisions": 1}),
             ("09#cohort#A#B", {"offers": 3, "available_s": 3600, "drivers": 2, "accepted": 2}),
             ("10#cohort#independent", {"offers": 1, "available_s": 5430, "completed": 1}),
             ("09#band#1-5km", {"requests": 4, "offered": 3}), ("10#band#1-5km", {"requests": 4, "offered": 3})]
    shown = fairness_report("taxi", T0, T0 + timedelta(hours=2), items)
    assert (shown["decisions"], shown["passed_over_nearer"]) == (4, 0)
    assert shown["cohorts"] == [
        {"affiliation": "A#B", "drivers": 2, "available_minutes": 60, "available_share": 0.4, "offers": 3,
         "offer_share": 0.75, "accepted": 2, "completed": 0},
        {"affiliation": "independent", "drivers": 0, "available_minutes": 90, "available_share": 0.6,
         "offers": 1, "offer_share": 0.25, "accepted": 0, "completed": 1}]
    assert shown["by_trip_length"][1] == {"band": "1-5km", "requests": 8, "offered": 6, "offer_rate": 0.75}
    assert shown["by_trip_length"][0] == {"band": "<1km", "requests": 0, "offered": 0, "offer_rate": 0.0}


def test_a_window_covers_whole_utc_hours_one_query_range_per_day():
    start, end = datetime(2024, 5, 1, 22, 15, tzinfo=UTC), datetime(2024, 5, 3, 1, 0, tzinfo=UTC)
    first, last = window_hours(start, end)
    assert (first.hour, last) == (22, end)
    assert [(day.date().isoformat(), low, high) for day, low, high in day_ranges(first, last)] == [
        ("2024-05-01", "22", "23"), ("2024-05-02", "00", "23"), ("2024-05-03", "00", "00")]
    assert window_hours(T0, T0) == (T0, T0 + timedelta(hours=1))


def test_trip_bands_by_straight_line():
    pickup = (37.5663, 126.9779)
    assert trip_band(pickup, (37.5708, 126.9779)) == "<1km"
    assert trip_band(pickup, (37.5963, 126.9779)) == "1-5km"
    assert trip_band(pickup, (37.4979, 127.0276)) == "5-20km"
    assert trip_band(pickup, (37.4563, 126.7052)) == ">20km"
