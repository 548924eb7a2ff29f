"""Storage of the consensus module. Imports no other runtime module, so any of them may write commitments or
take a slashed validator out of the following schedule."""

from __future__ import annotations

from btt_chain.primitives.codec import HASH, U64, Nested
from runtime.overlay import Overlay

from ..consensus.power import power_table
from ..consensus.types import EpochSchedule, RevealState
from ..items import StorageMap, StorageValue

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
"""The schedule of the epoch after it, fixed at that epoch's start from the state at the end of the one before,
over exactly the validators of `session.queued` (a slash that empties a bond takes its validator out of both)."""


def set_commitment(state: Overlay, session_key: bytes, commitment: bytes) -> int:
    """A registered, re-registered or rotating session key starts a new hash chain: generation 0 the first
    time, one more than the last one otherwise. Returns the generation."""
    old = reveals.get(state, session_key)
    generation = 0 if old is None else old.generation + 1
    reveals.put(state, session_key, RevealState(commitment, 0, generation))
    return generation


def epoch_ms(state: Overlay) -> int:
    return epoch_slots.get(state) * slot_ms.get(state)


def restrict_following(state: Overlay, account: bytes, bond: int) -> None:
    """`account` has at most `bond` actively bonded now (a slash): its row of the following schedule keeps at
    most that bond, and at 0 the row goes, unless it is the last one (a chain nobody may author stops). The
    table is rebuilt by `power_table` from its own rows' bonds and credits, so every weight stays exact; the
    epoch and seed stay. Nothing changes if `account` has no row or already no more bond."""
    schedule = following.get(state)
    if schedule is None:
        return
    rows = [(e.account, e.session_key, e.bond) for e in schedule.table]
    index = next((i for i, r in enumerate(rows) if r[0] == account), None)
    if index is None or rows[index][2] <= bond:
        return
    if bond > 0:
        rows[index] = (account, rows[index][1], bond)
    elif len(rows) > 1:
        del rows[index]
    else:
        return
    credits = {e.account: e.credit for e in schedule.table}
    following.put(state, schedule.replace(table=power_table(rows, credits)))
