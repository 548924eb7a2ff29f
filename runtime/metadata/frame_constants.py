"""FRAME's constant types as fields: each encodes one of btt's figures in the shape FRAME gives the constant, and
declares that type (`scale_type`), so `ChainConstants` publishes them like any other constant.

| constant | FRAME type | btt figure |
|---|---|---|
| System.Version | `sp_version::RuntimeVersion` | `runtime.version.runtime_version(runtime)` |
| System.BlockWeights | `frame_system::limits::BlockWeights` | param `block.max_weight` |
| System.BlockLength | `frame_system::limits::BlockLength` | param `block.max_bytes` |
| System.DbWeight | `sp_weights::RuntimeDbWeight` | `DB_WEIGHT` (none) |
| TransactionPayment.OperationalFeeMultiplier | `u8` | `OPERATIONAL_FEE_MULTIPLIER` (none) |

Sources: polkadot-sdk `substrate/frame/system/src/limits.rs` (`BlockWeights::simple_max`, `BlockLength`),
`substrate/primitives/weights/src/lib.rs` (`RuntimeDbWeight`), `substrate/frame/transaction-payment/src/lib.rs`.
"""

from __future__ import annotations

from typing import Any

from btt_chain.primitives import scale
from btt_chain.primitives.codec import Field

from ..metadata import frame_types
from ..metadata.registry import Registry
from ..version import RuntimeVersion

U64_MAX = 2**64 - 1

DB_WEIGHT = (0, 0)
"""`RuntimeDbWeight {read, write}`: btt weighs each call as a whole (its storage reads and writes included in its
fixed weight), so no read or write is weighed apart."""

OPERATIONAL_FEE_MULTIPLIER = 0
"""FRAME raises an Operational extrinsic's priority by its fee times this. btt has no Operational class: every
signed extrinsic is Normal, its priority is its tip, and no fee is turned into priority."""


class _FrameConstant(Field):
    """A constant's value in a FRAME type; only encoded (constants are never decoded here)."""

    def scale_type(self, reg: Registry) -> int:
        raise NotImplementedError

    def to_wire(self, value: Any) -> Any:
        raise NotImplementedError(f"{self.name} is a metadata constant: it is only encoded")

    def from_wire(self, wire: Any) -> Any:
        raise NotImplementedError(f"{self.name} is a metadata constant: it is only encoded")

    def decode_scale(self, data: bytes, pos: int) -> tuple[Any, int]:
        raise NotImplementedError(f"{self.name} is a metadata constant: it is only encoded")


class RuntimeVersionField(_FrameConstant):
    """`System.Version`: a `RuntimeVersion`, encoded as `Core_version` returns it."""

    name = "RuntimeVersion"
    SCALE_TYPE_NAME = "RuntimeVersion"

    def scale_type(self, reg: Registry) -> int:
        return frame_types.runtime_version(reg)

    def encode_scale(self, value: Any) -> bytes:
        if not isinstance(value, RuntimeVersion):
            raise TypeError(f"System.Version holds a RuntimeVersion, not {value!r}")
        return value.encode()


def _weight(ref_time: int, proof_size: int) -> bytes:
    return scale.encode_compact(ref_time) + scale.encode_compact(proof_size)


def _option(encoded: bytes | None) -> bytes:
    return scale.encode_option(encoded)


class BlockWeightsField(_FrameConstant):
    """`System.BlockWeights` from the block's weight limit, as FRAME's `BlockWeights::simple_max(max)` lays it out:
    no base weight for a block or an extrinsic, Normal and Operational extrinsics together up to the limit (btt's
    executive refuses an extrinsic past `block.max_weight`), Mandatory ones (the `timestamp.set` inherent)
    unlimited. Proof size is neither measured nor limited: its maximum is u64::MAX."""

    name = "BlockWeights"
    SCALE_TYPE_NAME = "limits::BlockWeights"

    def scale_type(self, reg: Registry) -> int:
        return frame_types.block_weights(reg)

    def encode_scale(self, value: Any) -> bytes:
        if type(value) is not int or not 0 < value <= U64_MAX:
            raise ValueError(f"a block weight limit is a u64 above 0, not {value!r}")
        zero = _weight(0, 0)
        max_block = _weight(value, U64_MAX)
        limited = zero + _option(None) + _option(max_block) + _option(zero)  # base, max_extrinsic, max_total, reserved
        unlimited = zero + _option(None) + _option(None) + _option(None)
        return zero + max_block + limited + limited + unlimited


class BlockLengthField(_FrameConstant):
    """`System.BlockLength` from the block's size limit: the same `max` for every class (`BlockLength::max`), the
    bytes of extrinsics btt's executive admits into one block (`block.max_bytes`)."""

    name = "BlockLength"
    SCALE_TYPE_NAME = "limits::BlockLength"

    def scale_type(self, reg: Registry) -> int:
        return frame_types.block_length(reg)

    def encode_scale(self, value: Any) -> bytes:
        return scale.encode_uint(value, 4) * 3


class DbWeightField(_FrameConstant):
    """`System.DbWeight`: (read, write) weights as `RuntimeDbWeight`."""

    name = "RuntimeDbWeight"
    SCALE_TYPE_NAME = "RuntimeDbWeight"

    def scale_type(self, reg: Registry) -> int:
        return frame_types.db_weight(reg)

    def encode_scale(self, value: Any) -> bytes:
        read, write = value
        return scale.encode_uint(read, 8) + scale.encode_uint(write, 8)
