"""Storage items of the staking module."""

from __future__ import annotations

from btt_chain.primitives.codec import ACCOUNT, AMOUNT, U64
from runtime.overlay import Overlay

from ..items import ID_KEY, StorageMap, StorageValue, u64_from_key, u64_key
from ..staking.types import U256, Deposit, StakerInfo

M = "staking"


def _deposit_key(k: tuple[bytes, int]) -> bytes:
    return k[0] + u64_key(k[1])


def _deposit_from_key(b: bytes) -> tuple[bytes, int]:
    return b[:32], u64_from_key(b[32:])


next_deposit_id: StorageValue[int] = StorageValue(M, "next_deposit_id", U64, default=0)
deposits: StorageMap[Deposit] = StorageMap(M, "deposits", Deposit, _deposit_key, _deposit_from_key,
                                           key_types=(ACCOUNT, ID_KEY))
"""Deposits by (owner, id): an owner's deposits sit under one key prefix."""
deposit_owner: StorageMap[bytes] = StorageMap(M, "deposit_owner", ACCOUNT, u64_key, u64_from_key)
stakers: StorageMap[StakerInfo] = StorageMap(M, "stakers", StakerInfo, default=StakerInfo(),
                                                     key_types=(ACCOUNT,))
total_staked: StorageValue[int] = StorageValue(M, "total_staked", AMOUNT, default=0)
reward_per_token: StorageValue[int] = StorageValue(M, "reward_per_token", U256(), default=0)
"""Fee share per staked base unit, scaled by REWARD_SCALE, summed over the pot's growth."""
pot_accounted: StorageValue[int] = StorageValue(M, "pot_accounted", AMOUNT, default=0)
"""The staker_rewards balance already counted into the accumulator (less what was claimed since)."""


def deposits_of(state: Overlay, owner: bytes) -> list[Deposit]:
    """Every deposit of `owner` not yet withdrawn, by id."""
    prefix = deposits.prefix + owner
    return [deposits.codec.decode(raw) for _, raw in state.iterate(prefix)]
