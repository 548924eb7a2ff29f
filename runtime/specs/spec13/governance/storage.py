"""Storage of the governance module."""

from __future__ import annotations

from btt_chain.primitives.codec import ACCOUNT, HASH, U64, Nested

from ..governance.types import ClosedTally, Referendum, VoteLock, VoteRecord
from ..items import ID_KEY, StorageMap, StorageValue, u64_from_key, u64_key

M = "governance"

referenda: StorageMap[Referendum] = StorageMap(M, "referenda", Nested(Referendum), u64_key, u64_from_key)
next_id: StorageValue[int] = StorageValue(M, "next_id", U64, default=0)

open_referenda: StorageMap[bytes] = StorageMap(M, "open", HASH, u64_key, u64_from_key)
"""Referenda voting or waiting for enactment (the value is unused): each block checks these for closing."""

closed_tallies: StorageMap[ClosedTally] = StorageMap(M, "tally_at_close", Nested(ClosedTally), u64_key, u64_from_key)
"""Referendum id -> the figures that decided it, written once when voting closes or it is cancelled (never for one
still voting): what the RPC, the CLI and the explorer show for a closed referendum."""

votes: StorageMap[VoteRecord] = StorageMap(M, "votes", Nested(VoteRecord),
                                              key_types=(ID_KEY, ACCOUNT))
"""(referendum id u64, account) -> the account's vote."""

locks: StorageMap[VoteLock] = StorageMap(M, "locks", Nested(VoteLock), key_types=(ACCOUNT,))
"""Account -> the free balance its votes lock."""


def vote_key(ref_id: int, who: bytes) -> bytes:
    return u64_key(ref_id) + who
