"""Storage of the session module."""

from __future__ import annotations

from btt_chain.primitives.codec import ACCOUNT, HASH, ListOf, Nested
from runtime.overlay import Overlay

from ..items import StorageMap, StorageValue
from ..session.types import ValidatorInfo

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


key_owner: StorageMap[bytes] = StorageMap(M, "key_owner", ACCOUNT, key_types=(HASH,))
"""Session key -> the validator account that set it (`session.set_keys`): the old key and the new one of every
rotation, so that an offence signed with a key the validator has since rotated away from is still its own
(Substrate's historical session's key owner)."""


def owner_of_key(state: Overlay, session_key: bytes) -> bytes | None:
    """The validator account a session key signed for: the active or queued set's, else one that rotated away from
    it."""
    for v in (*validators.get(state), *queued.get(state)):
        if v.session_key == session_key:
            return v.account
    return key_owner.get(state, session_key)


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
