"""Storage items of the system module."""

from __future__ import annotations

from btt_chain.primitives.codec import AMOUNT, HASH, U64
from runtime.items import StorageMap, StorageValue, u64_from_key, u64_key
from runtime.system.types import AccountInfo

M = "system"

account: StorageMap[AccountInfo] = StorageMap(M, "account", AccountInfo, default=AccountInfo())
block_hash: StorageMap[bytes] = StorageMap(M, "block_hash", HASH, u64_key, u64_from_key)
"""Hashes of recent blocks by number, for mortal extrinsics; block 0 is the genesis hash."""
number: StorageValue[int] = StorageValue(M, "number", U64, default=0)
slot: StorageValue[int] = StorageValue(M, "slot", U64, default=0)
timestamp_ms: StorageValue[int] = StorageValue(M, "timestamp_ms", U64, default=0)
total_issuance: StorageValue[int] = StorageValue(M, "total_issuance", AMOUNT, default=0)
total_burned: StorageValue[int] = StorageValue(M, "total_burned", AMOUNT, default=0)
genesis_supply: StorageValue[int] = StorageValue(M, "genesis_supply", AMOUNT, default=0)
genesis_time_ms: StorageValue[int] = StorageValue(M, "genesis_time_ms", U64, default=0)
chain_spec_hash: StorageValue[bytes] = StorageValue(M, "chain_spec_hash", HASH)
"""blake2b-256 of the canonical chain-spec JSON: the genesis hash commits to every genesis figure."""
