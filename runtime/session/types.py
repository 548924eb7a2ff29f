"""Types of the session module."""

from __future__ import annotations

from dataclasses import dataclass

from btt_chain.primitives.codec import AMOUNT, HASH, Struct


@dataclass(frozen=True)
class ValidatorInfo(Struct):
    account: bytes
    session_key: bytes
    bond: int
    WIRE = (("account", HASH), ("session_key", HASH), ("bond", AMOUNT))
