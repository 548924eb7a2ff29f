"""Storage items of the system module."""

from __future__ import annotations

from typing import Any

from btt_chain.primitives.codec import ACCOUNT, AMOUNT, HASH, U32, U64, Field
from btt_chain.primitives.errors import DecodeError

from ..items import HashedMap, StorageMap, StorageValue
from ..storage_schema import StorageEntry, register
from ..system.types import AccountInfo, MigrationCursor, ScheduledSpec

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

spec_version: StorageValue[int] = StorageValue(M, "spec_version", U32)
"""The spec whose rules ran the last block (absent: `runtime.specs.FIRST_RECORDED`, every chain before specs were
recorded). The block after runs under it too unless `scheduled_spec` takes effect there (`runtime.specs`)."""
scheduled_spec: StorageValue[ScheduledSpec] = StorageValue(M, "scheduled_spec", ScheduledSpec)
"""The upgrade governance scheduled and has not cancelled: its spec runs from its block on."""
migration: StorageValue[MigrationCursor] = StorageValue(M, "migration", MigrationCursor)
"""Present while an upgrade's migrations span blocks: blocks then carry the chain's inherents only."""


class FrameValue(Field):
    """A value the metadata gives as one of FRAME's types (`frame_types.<maker>`), that btt keeps outside the state
    and the RPC layer serves at its key for any block (`btt_chain/rpc/virtual_storage.py`)."""

    def __init__(self, name: str, maker: str) -> None:
        self.name = name
        self.maker = maker

    def scale_type(self, reg: Any) -> int:
        from ..metadata import frame_types

        return getattr(frame_types, self.maker)(reg)  # type: ignore[no-any-return]

    def encode_scale(self, value: Any) -> bytes:
        if value != ():
            raise DecodeError(f"{self.name} is kept beside the blocks, not written to the state")
        return b"\x00"  # the default: an empty Vec


register(StorageEntry(M, "events", (), (), FrameValue("Vec<EventRecord>", "event_records"), (),
                      "The events of the block (kept beside it, served at this key for any block)."))
register(StorageEntry(M, "digest", (), (), FrameValue("Digest", "digest"), (),
                      "The block's pre-runtime digest items (from its header, served at this key for any block)."))
