"""Types of the bonds module."""

from __future__ import annotations

from dataclasses import dataclass

from btt_chain.primitives.codec import ACCOUNT, AMOUNT, HASH, U64, ListOf, Nested, Struct

MAX_UNLOCKING_CHUNKS = 32
"""Unlocking chunks one ledger may hold; withdraw or rebond to make room."""


@dataclass(frozen=True)
class UnlockChunk(Struct):
    amount: int
    unlock_at_ms: int
    """Block timestamp from which `withdraw_unbonded` releases the chunk."""
    WIRE = (("amount", AMOUNT), ("unlock_at_ms", U64))


@dataclass(frozen=True)
class BondLedger(Struct):
    active: int
    """Bonded and counted for the validator set and provider weight."""
    unlocking: tuple[UnlockChunk, ...]
    """Unbonding, oldest first; still reserved and still slashable until withdrawn."""
    WIRE = (("active", AMOUNT), ("unlocking", ListOf(Nested(UnlockChunk), MAX_UNLOCKING_CHUNKS)))

    @property
    def unlocking_total(self) -> int:
        return sum(c.amount for c in self.unlocking)

    @property
    def total(self) -> int:
        """Everything this ledger holds in reserve (active and unlocking)."""
        return self.active + self.unlocking_total


@dataclass(frozen=True)
class ValidatorRegistration(Struct):
    session_key: bytes
    """The ed25519 key that signs blocks and votes."""
    hash_chain_commitment: bytes
    """Head of the validator's hash chain (zero for genesis validators)."""
    payee: bytes
    """Where the author's share of fees goes."""
    WIRE = (("session_key", HASH), ("hash_chain_commitment", HASH), ("payee", ACCOUNT))
