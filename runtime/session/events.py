"""Events of the session module."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from btt_chain.primitives.codec import ACCOUNT, HASH, U64
from runtime.events import Event


@dataclass(frozen=True)
class SessionKeysSet(Event):
    """`who` set new session keys: the set queued at the next epoch's start carries them, so `session_key` signs
    blocks and votes from `from_epoch` on, and the old key stops there."""

    MODULE: ClassVar[str] = "session"
    who: bytes
    session_key: bytes
    from_epoch: int
    WIRE = (("who", ACCOUNT), ("session_key", HASH), ("from_epoch", U64))


EVENTS = (
    SessionKeysSet,
)
"""Fixed variant indices in the metadata: append only, never reorder or remove."""
