"""Types of the treasury module: which module accounts governance may spend from, and milestone burns."""

from __future__ import annotations

from dataclasses import dataclass

from btt_chain.primitives.codec import AMOUNT, BOOL, Struct

SPEND_SOURCES = ("ecosystem_fund", "community_incentives")
"""Module accounts `treasury.spend` may pay grants from."""
STRATEGIC_RESERVE = "strategic_reserve"
"""Frozen whole at genesis; only `treasury.release_strategic_reserve` unfreezes it."""
FOUNDATION = "foundation"
"""Holds the Foundation allocation under a milestone vesting schedule; milestone burns come out of it."""
MAX_MILESTONE_NAME = 64
"""Longest milestone name (the `execute_milestone_burn` argument and the storage key)."""


@dataclass(frozen=True)
class Milestone(Struct):
    """One milestone burn from the genesis file."""

    amount: int
    """Base units burned from the Foundation allocation when the milestone is executed."""
    executed: bool = False
    """Burned already: at genesis, or by an executed referendum. Each milestone burns once."""

    WIRE = (("amount", AMOUNT), ("executed", BOOL))
