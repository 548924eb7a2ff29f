"""Pallet constants: chain and genesis figures the metadata publishes (`api.consts.system.ss58Prefix`, ...)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from btt_chain.primitives.codec import AMOUNT, U16, U32, Field


@dataclass(frozen=True)
class Constant:
    """One constant: FRAME-style name (`ExistentialDeposit`), type, value and a one-line doc."""

    name: str
    field: Field
    value: Any
    doc: str = ""

    def encode(self) -> bytes:
        return self.field.encode_scale(self.value)


@dataclass(frozen=True)
class ChainConstants:
    """The figures every Substrate client reads from the metadata, and any more a chain wants to publish.

    System's `BlockHashCount` (u32: how far back a mortal extrinsic's birth block may be; clients cap their era
    period with it) and `SS58Prefix` (u16: the address format), Balances' `ExistentialDeposit` (u128)."""

    ss58_prefix: int
    block_hash_count: int
    existential_deposit: int
    more: Mapping[str, tuple[Constant, ...]] = field(default_factory=dict)
    """btt module name -> further constants of that pallet (after the standard ones)."""

    def of(self, module: str) -> tuple[Constant, ...]:
        """The constants of one pallet (by btt module name), in order."""
        standard: dict[str, tuple[Constant, ...]] = {
            "system": (
                Constant("BlockHashCount", U32, self.block_hash_count, "Maximum number of block number to block hash "
                         "mappings to keep (oldest pruned first)."),
                Constant("SS58Prefix", U16, self.ss58_prefix, "The designated SS58 prefix of this chain."),
            ),
            "balances": (
                Constant("ExistentialDeposit", AMOUNT, self.existential_deposit,
                         "The minimum amount required to keep an account open."),
            ),
        }
        return standard.get(module, ()) + tuple(self.more.get(module, ()))
