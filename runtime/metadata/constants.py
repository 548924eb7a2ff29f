"""Pallet constants: chain and genesis figures the metadata publishes (`api.consts.system.ss58Prefix`, ...).

`chain_constants(state, ...)` reads them from a block's state: each is the figure the chain enforces at that block
(a parameter governance may change), so the metadata served at a block never disagrees with its rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from btt_chain.primitives.codec import AMOUNT, U8, U16, U32, U64, Field

from ..balances.logic import ED_PARAM
from ..consensus import storage as consensus
from ..metadata.frame_constants import (
    DB_WEIGHT,
    OPERATIONAL_FEE_MULTIPLIER,
    BlockLengthField,
    BlockWeightsField,
    DbWeightField,
    RuntimeVersionField,
)
from ..params.storage import get_params
from ..system.logic import BLOCK_HASH_COUNT
from ..version import RuntimeVersion, runtime_version

if TYPE_CHECKING:
    from runtime.dispatch import Runtime
    from runtime.overlay import Overlay

MAX_WEIGHT_PARAM = "block.max_weight"
"""The weight of extrinsics one block may hold (the executive refuses one past it)."""
MAX_BYTES_PARAM = "block.max_bytes"
"""The encoded bytes of extrinsics one block may hold."""


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
class BlockLimits:
    """What one block may hold, as the executive enforces it."""

    max_weight: int
    """Param `block.max_weight`."""
    max_bytes: int
    """Param `block.max_bytes`."""


@dataclass(frozen=True)
class ChainConstants:
    """The figures every Substrate client reads from the metadata, and any more a chain wants to publish.

    System's `BlockWeights` and `BlockLength` (the block's limits), `BlockHashCount` (u32: how far back a mortal
    extrinsic's birth block may be; clients cap their era period with it), `DbWeight`, `Version` (the
    `RuntimeVersion`, what polkadot-api builds CheckSpecVersion and CheckTxVersion from) and `SS58Prefix` (u16: the
    address format); Balances' `ExistentialDeposit` (u128); TransactionPayment's `OperationalFeeMultiplier` (u8);
    Timestamp's `MinimumPeriod` (u64 ms: half the slot, as FRAME's Aura and BABE chains set it, so polkadot.js derives
    the block time as twice it). Each pallet's in FRAME's order."""

    ss58_prefix: int
    block_hash_count: int
    existential_deposit: int
    version: RuntimeVersion
    limits: BlockLimits
    slot_ms: int = 0
    """The slot length in ms (`consensus.slot_ms`): blocks are at least this far apart."""
    more: Mapping[str, tuple[Constant, ...]] = field(default_factory=dict)
    """btt module name -> further constants of that pallet (after the standard ones)."""

    def of(self, module: str) -> tuple[Constant, ...]:
        """The constants of one pallet (by btt module name), in order."""
        standard: dict[str, tuple[Constant, ...]] = {
            "system": (
                Constant("BlockWeights", BlockWeightsField(), self.limits.max_weight,
                         "Block & extrinsics weights: base values and limits."),
                Constant("BlockLength", BlockLengthField(), self.limits.max_bytes, "The maximum length of a block (in "
                         "bytes)."),
                Constant("BlockHashCount", U32, self.block_hash_count, "Maximum number of block number to block hash "
                         "mappings to keep (oldest pruned first)."),
                Constant("DbWeight", DbWeightField(), DB_WEIGHT, "The weight of runtime database operations the "
                         "runtime can invoke."),
                Constant("Version", RuntimeVersionField(), self.version, "Get the chain's in-code version."),
                Constant("SS58Prefix", U16, self.ss58_prefix, "The designated SS58 prefix of this chain."),
            ),
            "balances": (
                Constant("ExistentialDeposit", AMOUNT, self.existential_deposit,
                         "The minimum amount required to keep an account open."),
            ),
            "timestamp": (
                Constant("MinimumPeriod", U64, self.slot_ms // 2, "The minimum period between blocks, halved: blocks "
                         "are a slot apart at least."),
            ),
            "transaction_payment": (
                Constant("OperationalFeeMultiplier", U8, OPERATIONAL_FEE_MULTIPLIER, "A fee multiplier for "
                         "`Operational` extrinsics to compute \"virtual tip\" to boost their `priority` (none here)."),
            ),
        }
        return standard.get(module, ()) + tuple(self.more.get(module, ()))


def chain_constants(state: Overlay, ss58_prefix: int, runtime: Runtime) -> ChainConstants:
    """The constants as `state` (a block's) holds them: the existential deposit and the block's limits are
    parameters, read there; the runtime's version and `BlockHashCount` are the runtime's."""
    existential_deposit, max_weight, max_bytes = get_params(state, (ED_PARAM, MAX_WEIGHT_PARAM, MAX_BYTES_PARAM))
    return ChainConstants(ss58_prefix, BLOCK_HASH_COUNT, existential_deposit, runtime_version(runtime),
                          BlockLimits(max_weight, max_bytes), consensus.slot_ms.get(state))
