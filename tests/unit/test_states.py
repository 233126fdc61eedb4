"""A thing's life as a table (core.states.Moves): allowed moves lead on, anything else is refused."""

from enum import StrEnum

import pytest

from chalicelib.core.states import Moves


class Light(StrEnum):
    RED = "red"
    GREEN = "green"
    AMBER = "amber"


MOVES = Moves(Light, {"go": ({Light.RED}, Light.GREEN), "slow": ({Light.GREEN}, Light.AMBER),
                      "stop": ({Light.AMBER, Light.GREEN}, Light.RED)})


@pytest.mark.parametrize(("current", "action", "after"), [
    ("red", "go", Light.GREEN), (Light.GREEN, "slow", Light.AMBER), ("green", "stop", Light.RED),
    ("amber", "stop", Light.RED)])
def test_an_allowed_move_leads_to_its_state(current, action, after):
    assert MOVES.after(current, action) is after


@pytest.mark.parametrize(("current", "action"), [("red", "slow"), ("amber", "go"), ("red", "stop"), ("red", "fly")])
def test_a_move_the_state_does_not_allow_or_no_move_at_all_is_refused(current, action):
    assert MOVES.after(current, action) is None


def test_a_state_the_thing_does_not_have_is_a_data_error():
    with pytest.raises(ValueError, match="blue"):
        MOVES.after("blue", "go")
