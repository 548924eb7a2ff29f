"""Storage of the governance module."""

from __future__ import annotations

from collections.abc import Iterator

from btt_chain.primitives.codec import ACCOUNT, HASH, U64, Nested
from runtime.overlay import Overlay

from ..governance.types import ClosedOtherAye, ClosedTally, Referendum, VoteLock, VoteRecord
from ..items import ID_KEY, StorageMap, StorageValue, u64_from_key, u64_key

M = "governance"

referenda: StorageMap[Referendum] = StorageMap(M, "referenda", Nested(Referendum), u64_key, u64_from_key)
next_id: StorageValue[int] = StorageValue(M, "next_id", U64, default=0)

open_referenda: StorageMap[bytes] = StorageMap(M, "open", HASH, u64_key, u64_from_key)
"""Referenda voting or waiting for enactment (the value is unused): each block checks these for closing."""

closed_tallies: StorageMap[ClosedTally] = StorageMap(M, "tally_at_close", Nested(ClosedTally), u64_key, u64_from_key)
"""Referendum id -> the figures that decided it, written once when voting closes or it is cancelled (never for one
still voting): what the RPC, the CLI and the explorer show for a closed referendum."""

closed_other_ayes: StorageMap[ClosedOtherAye] = StorageMap(M, "other_aye_at_close", Nested(ClosedOtherAye), u64_key,
                                                             u64_from_key)
"""Referendum id -> each house's aye weight beyond its largest aye voters and whether it met its bar, written with
`closed_tallies` (a map of its own: that record's shape is the one spec 13 stored)."""

votes: StorageMap[VoteRecord] = StorageMap(M, "votes", Nested(VoteRecord),
                                              key_types=(ID_KEY, ACCOUNT))
"""(referendum id u64, account) -> the account's vote."""

locks: StorageMap[VoteLock] = StorageMap(M, "locks", Nested(VoteLock), key_types=(ACCOUNT,))
"""Account -> the free balance its votes lock."""


def vote_key(ref_id: int, who: bytes) -> bytes:
    return u64_key(ref_id) + who


def votes_of(state: Overlay, ref_id: int) -> Iterator[VoteRecord]:
    """Every account's current vote in referendum `ref_id` (one each), in account order."""
    for _, raw in state.iterate(votes.prefix + u64_key(ref_id)):
        yield votes.codec.decode(raw)
