"""Events of the consensus module."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from btt_chain.primitives.codec import HASH, U64
from runtime.events import Event


@dataclass(frozen=True)
class EpochStarted(Event):
    """The first block of `epoch`: its schedule has `leaders` weighted validators and this seed."""

    MODULE: ClassVar[str] = "consensus"
    epoch: int
    leaders: int
    seed: bytes
    WIRE = (("epoch", U64), ("leaders", U64), ("seed", HASH))


@dataclass(frozen=True)
class HashChainRotated(Event):
    """`session_key` now reveals from its hash chain number `generation`, starting at this commitment."""

    MODULE: ClassVar[str] = "consensus"
    session_key: bytes
    generation: int
    commitment: bytes
    WIRE = (("session_key", HASH), ("generation", U64), ("commitment", HASH))


EVENTS = (
    EpochStarted,
    HashChainRotated,
)
"""Fixed variant indices in the metadata: append only, never reorder or remove."""
