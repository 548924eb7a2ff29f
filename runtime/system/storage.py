"""Storage items of the system module."""

from __future__ import annotations

from typing import Any

from btt_chain.primitives.codec import ACCOUNT, AMOUNT, HASH, U32, U64, Field
from btt_chain.primitives.errors import DecodeError
from runtime.items import HashedMap, StorageMap, StorageValue
from runtime.storage_schema import StorageEntry, register
from runtime.system.types import AccountInfo

M = "system"

account: StorageMap[AccountInfo] = HashedMap(M, "account", AccountInfo, ACCOUNT, "Blake2_128Concat",
                                             default=AccountInfo())
"""FRAME's `System.Account`: Blake2_128Concat(AccountId32) -> AccountInfo (what every Substrate wallet reads)."""
block_hash: StorageMap[bytes] = HashedMap(M, "block_hash", HASH, U32, "Twox64Concat")
"""Hashes of recent blocks by number, for mortal extrinsics; block 0 is the genesis hash."""
number: StorageValue[int] = StorageValue(M, "number", U32, default=0)
slot: StorageValue[int] = StorageValue(M, "slot", U64, default=0)
timestamp_ms: StorageValue[int] = StorageValue(M, "timestamp_ms", U64, default=0)
total_issuance: StorageValue[int] = StorageValue(M, "total_issuance", AMOUNT, default=0)
total_burned: StorageValue[int] = StorageValue(M, "total_burned", AMOUNT, default=0)
genesis_supply: StorageValue[int] = StorageValue(M, "genesis_supply", AMOUNT, default=0)
genesis_time_ms: StorageValue[int] = StorageValue(M, "genesis_time_ms", U64, default=0)
chain_spec_hash: StorageValue[bytes] = StorageValue(M, "chain_spec_hash", HASH)
"""blake2b-256 of the canonical chain-spec JSON: the genesis hash commits to every genesis figure."""


class FrameValue(Field):
    """A value the metadata gives as one of FRAME's types (`frame_types.<maker>`), that btt keeps outside the state
    and the RPC layer serves at its key for any block (`btt_chain/rpc/virtual_storage.py`)."""

    def __init__(self, name: str, maker: str) -> None:
        self.name = name
        self.maker = maker

    def scale_type(self, reg: Any) -> int:
        from runtime.metadata import frame_types

        return getattr(frame_types, self.maker)(reg)  # type: ignore[no-any-return]

    def encode_scale(self, value: Any) -> bytes:
        if value != ():
            raise DecodeError(f"{self.name} is kept beside the blocks, not written to the state")
        return b"\x00"  # the default: an empty Vec


register(StorageEntry(M, "events", (), (), FrameValue("Vec<EventRecord>", "event_records"), (),
                      "The events of the block (kept beside it, served at this key for any block)."))
register(StorageEntry(M, "digest", (), (), FrameValue("Digest", "digest"), (),
                      "The block's pre-runtime digest items (from its header, served at this key for any block)."))
