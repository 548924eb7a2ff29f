"""Genesis of the treasury module: the milestone burns, those burned at genesis already marked executed."""

from __future__ import annotations

from collections.abc import Iterable

from runtime.overlay import Overlay

from ..treasury import storage
from ..treasury.types import MAX_MILESTONE_NAME, Milestone


def build(state: Overlay, milestones: Iterable[tuple[str, int, bool]], burned_at_genesis: int) -> None:
    """Store each (name, amount, at_genesis). ValueError for an empty, long or repeated name, a zero amount,
    or genesis milestones that add up to more than the genesis burns."""
    at_genesis = 0
    for name, amount, done in milestones:
        if not name or len(name) > MAX_MILESTONE_NAME:
            raise ValueError(f"milestone name {name!r} must have 1 to {MAX_MILESTONE_NAME} characters")
        if storage.milestones.contains(state, name):
            raise ValueError(f"milestone {name!r} appears twice")
        if amount <= 0:
            raise ValueError(f"milestone {name!r} burns nothing")
        storage.milestones.put(state, name, Milestone(amount, done))
        at_genesis += amount if done else 0
    if at_genesis > burned_at_genesis:
        raise ValueError(f"milestones burned at genesis total {at_genesis}, more than the genesis burns")
