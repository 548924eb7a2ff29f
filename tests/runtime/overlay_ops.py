"""Shared by the overlay property tests: a random operation that opens, commits or rolls back a snapshot."""

from __future__ import annotations

from runtime.overlay import Overlay


def snapshot_op(state: Overlay, op: str) -> bool:
    """Apply `op` if it is "begin", "commit" or "rollback" (the last two only while a snapshot is open); say
    whether it was one of them."""
    if op == "begin":
        state.begin()
    elif op == "commit":
        if state.depth:
            state.commit()
    elif op == "rollback":
        if state.depth:
            state.rollback()
    else:
        return False
    return True
