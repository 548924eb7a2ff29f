"""Types of the system module."""

from __future__ import annotations

from dataclasses import dataclass

from btt_chain.primitives.codec import AMOUNT, U64, Struct


@dataclass(frozen=True)
class AccountInfo(Struct):
    """One account: its nonce and balances. `frozen` is the part of `free` that locks hold (vesting, votes)."""

    nonce: int = 0
    free: int = 0
    reserved: int = 0
    frozen: int = 0

    WIRE = (("nonce", U64), ("free", AMOUNT), ("reserved", AMOUNT), ("frozen", AMOUNT))

    @property
    def total(self) -> int:
        return self.free + self.reserved

    @property
    def spendable(self) -> int:
        return max(0, self.free - self.frozen)
