"""Storage of the session module."""

from __future__ import annotations

from btt_chain.primitives.codec import ListOf, Nested
from runtime.items import StorageValue
from runtime.overlay import Overlay
from runtime.session.types import ValidatorInfo

M = "session"

validators: StorageValue[tuple[ValidatorInfo, ...]] = StorageValue(
    M, "validators", ListOf(Nested(ValidatorInfo), 1000), default=()
)


def active_validators(state: Overlay) -> tuple[ValidatorInfo, ...]:
    return validators.get(state)


def reward_payee(state: Overlay, session_key: bytes) -> bytes | None:
    """The account that receives the author's rewards for blocks signed with `session_key`."""
    for v in validators.get(state):
        if v.session_key == session_key:
            return v.payee
    return None
