"""Who is offered a ride depends only on ring distance, time available and eligibility: a property test."""

import dataclasses
import inspect
from datetime import UTC, datetime, timedelta

import h3
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.drivers.rules import Candidate, cell_of, rank_candidates, weigh_candidates
from chalicelib.rides.rules import in_words, judge, passed_over_nearer

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
    assert {f.name for f in dataclasses.fields(Candidate)} == {"driver_id", "cell", "available_since", "affiliation"}
