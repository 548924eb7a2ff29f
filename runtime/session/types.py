"""Types of the session module."""

from __future__ import annotations

from dataclasses import dataclass

from btt_chain.primitives.codec import ACCOUNT, AMOUNT, HASH, Struct


@dataclass(frozen=True)
class ValidatorInfo(Struct):
    account: bytes
    """Whose reserved balance is the bond."""
    session_key: bytes
    """The ed25519 key that signs blocks (and, later, votes)."""
    bond: int
    payee: bytes
    """Where the author's share of fees goes (Substrate's reward destination); the account itself by default."""
    WIRE = (("account", ACCOUNT), ("session_key", HASH), ("bond", AMOUNT), ("payee", ACCOUNT))
