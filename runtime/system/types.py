"""Types of the system module."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from btt_chain.primitives.codec import AMOUNT, U64, U64_MAX, U128_MAX, Struct


@dataclass(frozen=True)
class AccountInfo(Struct):
    """One account: its nonce and balances. `frozen` is the part of `free` that locks hold (vesting, votes)."""

    nonce: int = 0
    free: int = 0
    reserved: int = 0
    frozen: int = 0

    WIRE = (("nonce", U64), ("free", AMOUNT), ("reserved", AMOUNT), ("frozen", AMOUNT))

    # The state's most written and read value (every transfer encodes three and decodes two): the wire conversions
    # below are the generic ones unrolled; anything they do not accept goes the generic way, which names the fault.
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
