"""Types of the session module."""

from __future__ import annotations

from dataclasses import dataclass

from btt_chain.primitives.codec import ACCOUNT, AMOUNT, HASH, Struct


@dataclass(frozen=True)
class ValidatorInfo(Struct):
    account: bytes
    session_key: bytes
    bond: int
    WIRE = (("account", ACCOUNT), ("session_key", HASH), ("bond", AMOUNT))
