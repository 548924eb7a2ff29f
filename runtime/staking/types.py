"""Types of the staking module."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from btt_chain.primitives import scale
from btt_chain.primitives.codec import ACCOUNT, AMOUNT, U64, Field, Struct, UInt
from btt_chain.primitives.errors import DecodeError

if TYPE_CHECKING:
    from ..metadata.registry import Registry

U8 = UInt(8)
U256_MAX = 2**256 - 1


class U256(Field):
    """Unsigned 256-bit integer (the fee-share accumulator needs the headroom): SCALE `u256`, 32 little-endian bytes."""

    name = "u256"

    def to_wire(self, value: Any) -> Any:
        if type(value) is not int or not 0 <= value <= U256_MAX:
            raise DecodeError(f"u256 out of range: {value!r}")
        return value.to_bytes(32, "big")

    def from_wire(self, wire: Any) -> Any:
        if type(wire) is not bytes or len(wire) != 32:
            raise DecodeError("expected a u256 as 32 bytes")
        return int.from_bytes(wire, "big")

    def encode_scale(self, value: Any) -> bytes:
        if type(value) is not int or not 0 <= value <= U256_MAX:
            raise DecodeError(f"u256 out of range: {value!r}")
        return value.to_bytes(32, "little")

    def decode_scale(self, data: bytes, pos: int) -> tuple[Any, int]:
        return scale.decode_uint(data, pos, 32)

    SCALE_TYPE_NAME = "u256"

    def scale_type(self, reg: Registry) -> int:
        """Its type in the metadata (`runtime.metadata.types`): `u256`."""
        return reg.primitive("u256")


@dataclass(frozen=True)
class Deposit(Struct):
    """One term deposit: principal reserved from `owner` until `unlock_ms`."""

    id: int
    owner: bytes
    tier: int
    """Index into TIERS (0 = 30d ... 4 = 1095d)."""
    amount: int
    """Principal in base units."""
    start_ms: int
    unlock_ms: int
    """start_ms plus the tier's lock length; principal and yield are claimable from then on."""

    WIRE = (
        ("id", U64),
        ("owner", ACCOUNT),
        ("tier", U8),
        ("amount", AMOUNT),
        ("start_ms", U64),
        ("unlock_ms", U64),
    )


@dataclass(frozen=True)
class StakerInfo(Struct):
    """One account's fee-share position: its stake weight and the accumulator it was last settled at."""

    staked: int = 0
    """Principal of every deposit not yet withdrawn."""
    reward_snapshot: int = 0
    """The reward-per-staked-token accumulator at the last settlement."""
    pending: int = 0
    """Fee share settled but not yet claimed, in base units."""

    WIRE = (("staked", AMOUNT), ("reward_snapshot", U256()), ("pending", AMOUNT))


@dataclass(frozen=True)
class Tier:
    """A tier's figures, read from the parameters store."""

    index: int
    name: str
    lock_ms: int
    yield_bps: int
    minimum: int
    burn_bps: int


@dataclass(frozen=True)
class Benefits:
    """What an account's running deposits give it; the best tier it holds decides."""

    fee_discount_bps: int = 0
    compute_priority: bool = False
    governance_multiplier_bps: int = 10_000
    special_access: bool = False
