"""A thing's life as a table: each action, the states it may be taken from, and the state it leads to.

Every domain writes its statuses as a StrEnum and its moves as one `Moves` table in its rules.py; the domain
turns a refused move into its own error, in its own words.
"""

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Generic, TypeVar

S = TypeVar("S", bound=StrEnum)


class Moves(Generic[S]):
    """action -> (the states it may be taken from, the state it leads to)."""

    def __init__(self, states: type[S], table: Mapping[str, tuple[Iterable[S], S]]):
        self.states = states
        self.table = {action: (frozenset(sources), target) for action, (sources, target) in table.items()}

    def after(self, current: S | str, action: str) -> S | None:
        """The state `action` leads to from `current`; None when it is not allowed there, or not an action at all.

        A string that is no state of this thing raises ValueError: stored data is wrong, not the caller.
        """
        sources, target = self.table.get(action, (frozenset(), None))
        return target if self.states(current) in sources else None
