"""Storage of the consensus module. Imports no other runtime module, so any of them may write commitments."""

from __future__ import annotations

from btt_chain.primitives.codec import HASH, U64, Nested
from runtime.consensus.types import EpochSchedule, RevealState
from runtime.items import StorageMap, StorageValue
from runtime.overlay import Overlay

M = "consensus"

epoch_slots: StorageValue[int] = StorageValue(M, "epoch_slots", U64, default=0)
"""Slots per epoch (from the chain spec); 0 means one endless epoch (test chains)."""

slot_ms: StorageValue[int] = StorageValue(M, "slot_ms", U64, default=0)

randomness: StorageValue[bytes] = StorageValue(M, "randomness", HASH, default=bytes(32))
"""Every block's reveal folded in, in order: the source of epoch seeds and of compute-job randomness."""

reveals: StorageMap[RevealState] = StorageMap(M, "reveals", Nested(RevealState))
"""Session key -> its hash chain's last revealed value (the commitment until its first block)."""

current: StorageValue[EpochSchedule] = StorageValue(M, "current", Nested(EpochSchedule))
"""The schedule of the epoch the last block was in."""

following: StorageValue[EpochSchedule] = StorageValue(M, "following", Nested(EpochSchedule))
"""The schedule of the epoch after it, fixed at that epoch's start from the state at the end of the one before."""


def set_commitment(state: Overlay, session_key: bytes, commitment: bytes) -> int:
    """A registered, re-registered or rotating session key starts a new hash chain: generation 0 the first
    time, one more than the last one otherwise. Returns the generation."""
    old = reveals.get(state, session_key)
    generation = 0 if old is None else old.generation + 1
    reveals.put(state, session_key, RevealState(commitment, 0, generation))
    return generation


def epoch_ms(state: Overlay) -> int:
    return epoch_slots.get(state) * slot_ms.get(state)
