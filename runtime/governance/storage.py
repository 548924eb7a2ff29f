"""Storage of the governance module."""

from __future__ import annotations

from btt_chain.primitives.codec import ACCOUNT, HASH, U64, Nested
from runtime.governance.types import Referendum, VoteLock, VoteRecord
from runtime.items import ID_KEY, StorageMap, StorageValue, u64_from_key, u64_key

M = "governance"

referenda: StorageMap[Referendum] = StorageMap(M, "referenda", Nested(Referendum), u64_key, u64_from_key)
next_id: StorageValue[int] = StorageValue(M, "next_id", U64, default=0)

open_referenda: StorageMap[bytes] = StorageMap(M, "open", HASH, u64_key, u64_from_key)
"""Referenda voting or waiting for enactment (the value is unused): each block checks these for closing."""

votes: StorageMap[VoteRecord] = StorageMap(M, "votes", Nested(VoteRecord),
                                              key_types=(ID_KEY, ACCOUNT))
"""(referendum id u64, account) -> the account's vote."""

locks: StorageMap[VoteLock] = StorageMap(M, "locks", Nested(VoteLock), key_types=(ACCOUNT,))
"""Account -> the free balance its votes lock."""


def vote_key(ref_id: int, who: bytes) -> bytes:
    return u64_key(ref_id) + who
