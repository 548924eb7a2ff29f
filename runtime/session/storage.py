"""Storage of the session module."""

from __future__ import annotations

from btt_chain.primitives.codec import ListOf, Nested
from runtime.items import StorageValue
from runtime.overlay import Overlay
from runtime.session.types import ValidatorInfo

M = "session"
MAX_VALIDATORS = 1000
"""The bound of either set (the bonds module never queues more)."""

validators: StorageValue[tuple[ValidatorInfo, ...]] = StorageValue(
    M, "validators", ListOf(Nested(ValidatorInfo), MAX_VALIDATORS), default=()
)
"""The set active in the epoch of the last block: the queued set of the epoch before, minus validators the
evidence module removed since (slashed to nothing)."""

queued: StorageValue[tuple[ValidatorInfo, ...]] = StorageValue(
    M, "queued", ListOf(Nested(ValidatorInfo), MAX_VALIDATORS), default=()
)
"""The set of the next epoch, fixed at the first block of this one (the genesis set at genesis). The consensus
module's `following` schedule is drawn from exactly these validators, and finality counts votes for the
checkpoint of epoch e against this item in the checkpoint block's post-state. Never empty; a validator slashed
to no active bond leaves it at once (unless it is the last one)."""


def active_validators(state: Overlay) -> tuple[ValidatorInfo, ...]:
    return validators.get(state)


def queued_validators(state: Overlay) -> tuple[ValidatorInfo, ...]:
    return queued.get(state)


def reward_payee(state: Overlay, session_key: bytes) -> bytes | None:
    """The account that receives the author's rewards for blocks signed with `session_key`."""
    for v in validators.get(state):
        if v.session_key == session_key:
            return v.payee
    return None
