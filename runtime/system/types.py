"""Types of the system module."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from btt_chain.primitives.codec import AMOUNT, U32, U64, U64_MAX, U128_MAX, Bytes, Struct
from btt_chain.primitives.errors import DecodeError

NONCE_MAX = 2**32 - 1
"""FRAME's nonce is a u32."""
NEW_LOGIC = 1 << 127
"""`pallet_balances::ExtraFlags`: the "new logic" bit every current FRAME account carries."""
_ACCOUNT_LAYOUT = struct.Struct("<IIII16s16s16s16s")
_ACCOUNT_WORDS = struct.Struct("<IIIIQQQQQQ16s")
"""The same 80 bytes with each u128 balance as its low and high u64 (cheaper to read than `int.from_bytes`)."""


@dataclass(frozen=True, init=False)
class AccountInfo(Struct):
    """One account: its nonce and balances. `frozen` is the part of `free` that locks hold (vesting, votes).

    Stored as FRAME's `frame_system::AccountInfo` with `pallet_balances::types::AccountData` (80 bytes: nonce,
    consumers, providers, sufficients as u32; free, reserved, frozen, flags as u128), what every Substrate wallet
    reads at `System.Account`: providers is 1 (a stored account exists), consumers 1 while something holds part of
    it (reserved or frozen), sufficients 0, flags the new-logic bit. Decoding refuses any other value of those."""

    nonce: int = 0
    free: int = 0
    reserved: int = 0
    frozen: int = 0

    WIRE = (("nonce", U64), ("free", AMOUNT), ("reserved", AMOUNT), ("frozen", AMOUNT))

    def __init__(self, nonce: int = 0, free: int = 0, reserved: int = 0, frozen: int = 0) -> None:
        # what the generated frozen __init__ does, writing the instance dict directly (a transfer builds five)
        fields = self.__dict__
        fields["nonce"] = nonce
        fields["free"] = free
        fields["reserved"] = reserved
        fields["frozen"] = frozen

    # The state's most written and read value (every transfer encodes three and decodes two): the conversions below
    # are unrolled; anything they do not accept goes the generic way, which names the fault.
    def encode(self) -> bytes:
        """The 80 bytes, computed each time: an account is written once per value (a fresh one per change), so
        keeping the encoding on it, as `Struct.encode` does, costs more than it saves."""
        return self.encode_scale()

    def encode_scale(self) -> bytes:
        nonce, free, reserved, frozen = self.nonce, self.free, self.reserved, self.frozen
        # for ints, `x >> n == 0` is `0 <= x < 2**n`, and an OR of the balances is negative if any one is
        if not (type(nonce) is int and type(free) is int and type(reserved) is int and type(frozen) is int
                and nonce >> 32 == 0 and (free | reserved | frozen) >> 128 == 0):
            raise DecodeError(f"AccountInfo out of range: {self!r}")
        if reserved or frozen:
            return _ACCOUNT_LAYOUT.pack(
                nonce, 1, 1, 0, free.to_bytes(16, "little"), reserved.to_bytes(16, "little"),
                frozen.to_bytes(16, "little"), _FLAGS,
            )
        return _ACCOUNT_LAYOUT.pack(nonce, 0, 1, 0, free.to_bytes(16, "little"), _ZERO_U128, _ZERO_U128, _FLAGS)

    encode_stored = encode_scale
    """What `runtime.items.ValueCodec` writes for an account, `AccountInfo.encode_stored(account)`: `encode()`
    with one call less."""

    @classmethod
    def decode_at(cls, data: bytes, pos: int) -> tuple[AccountInfo, int]:
        end = pos + 80
        if end > len(data):
            raise DecodeError(f"AccountInfo: expected 80 bytes, found {max(0, len(data) - pos)}")
        return AccountInfo.decode_stored(data[pos:end]), end

    @staticmethod
    def decode_stored(data: bytes) -> AccountInfo:
        """The account whose encoding is exactly `data` (`runtime.items.ValueCodec` decodes stored values with it):
        what `decode_at(data, 0)` gives, refusing trailing bytes as every stored value does."""
        if len(data) != 80:
            if len(data) < 80:
                raise DecodeError(f"AccountInfo: expected 80 bytes, found {len(data)}")
            AccountInfo.decode_stored(data[:80])  # a fault in the account is named before the bytes after it
            raise DecodeError(f"{len(data) - 80} trailing bytes after a stored ")
        (nonce, consumers, providers, sufficients, free_lo, free_hi, reserved_lo, reserved_hi, frozen_lo, frozen_hi,
         flags) = _ACCOUNT_WORDS.unpack(data)
        reserved = reserved_lo | reserved_hi << 64
        frozen = frozen_lo | frozen_hi << 64
        if consumers != (1 if (reserved or frozen) else 0) or providers != 1 or sufficients or flags != _FLAGS:
            raise DecodeError("AccountInfo: consumers, providers, sufficients or flags are not what the balances say")
        return AccountInfo(nonce, free_lo | free_hi << 64, reserved, frozen)

    @classmethod
    def scale_type(cls, reg: Any) -> int:
        """The metadata's type: FRAME's `frame_system::AccountInfo` (the bytes `encode_scale` writes)."""
        from ..metadata import frame_types

        return frame_types.account_info(reg)

    def to_wire(self) -> list[Any]:
        nonce, free, reserved, frozen = self.nonce, self.free, self.reserved, self.frozen
        if (type(nonce) is int and type(free) is int and type(reserved) is int and type(frozen) is int
                and 0 <= nonce <= U64_MAX and 0 <= free <= U128_MAX and 0 <= reserved <= U128_MAX
                and 0 <= frozen <= U128_MAX):
            return [nonce, free.to_bytes(16, "big"), reserved.to_bytes(16, "big"), frozen.to_bytes(16, "big")]
        return super().to_wire()

    def replace(self, **changes: Any) -> AccountInfo:
        if changes.keys() <= _ACCOUNT_FIELDS:
            get = changes.get
            return AccountInfo(get("nonce", self.nonce), get("free", self.free), get("reserved", self.reserved),
                               get("frozen", self.frozen))
        return super().replace(**changes)  # raises on a name that is not a field

    @classmethod
    def from_wire(cls, wire: Any) -> AccountInfo:
        if type(wire) is list and len(wire) == 4:
            nonce, free, reserved, frozen = wire
            if (type(nonce) is int and 0 <= nonce <= U64_MAX and type(free) is bytes and len(free) == 16
                    and type(reserved) is bytes and len(reserved) == 16 and type(frozen) is bytes
                    and len(frozen) == 16):
                return cls(nonce, int.from_bytes(free, "big"), int.from_bytes(reserved, "big"),
                           int.from_bytes(frozen, "big"))
        return super().from_wire(wire)

    @property
    def total(self) -> int:
        return self.free + self.reserved

    @property
    def spendable(self) -> int:
        return max(0, self.free - self.frozen)


_ACCOUNT_FIELDS = frozenset(("nonce", "free", "reserved", "frozen"))
_FLAGS = NEW_LOGIC.to_bytes(16, "little")
_ZERO_U128 = bytes(16)


@dataclass(frozen=True)
class ScheduledSpec(Struct):
    """A spec governance scheduled (`system.schedule_spec`): block `at` is the first to run under its rules."""

    spec: int
    at: int
    WIRE = (("spec", U32), ("at", U32))


@dataclass(frozen=True)
class MigrationCursor(Struct):
    """Where the migrations of an upgrade stand while they span blocks: the spec they bring the state to, which of
    its migrations runs (its index in the spec's list), that migration's own cursor (empty: from its start) and the
    items it did so far, the block the upgrade took effect in."""

    spec: int
    index: int
    cursor: bytes
    since: int
    items: int = 0
    WIRE = (("spec", U32), ("index", U32), ("cursor", Bytes(max_len=1024)), ("since", U32), ("items", U32))
