"""Types of the consensus module."""

from __future__ import annotations

from dataclasses import dataclass

from btt_chain.primitives.codec import HASH, U64, ListOf, Nested, Struct

from ..consensus.power import PowerEntry

MAX_TABLE = 1000
"""The power table's bound: the session set's bound."""


@dataclass(frozen=True)
class EpochSchedule(Struct):
    """Who may lead the slots of one epoch: the power table and the seed that draws one leader per slot."""

    epoch: int
    seed: bytes
    table: tuple[PowerEntry, ...]

    WIRE = (("epoch", U64), ("seed", HASH), ("table", ListOf(Nested(PowerEntry), MAX_TABLE)))

    @property
    def total_weight(self) -> int:
        return sum(e.weight for e in self.table)


@dataclass(frozen=True)
class RevealState(Struct):
    """A session key's hash chain as far as blocks have revealed it: the next reveal must hash to `last`."""

    last: bytes
    count: int
    """Reveals so far on this chain; the key's next block reveals preimage number count + 1."""
    generation: int = 0
    """Which of the key's hash chains this is: 0 at first registration, one more at each rotation or
    re-registration (a chain whose reveals are public is never used again)."""

    WIRE = (("last", HASH), ("count", U64), ("generation", U64))
