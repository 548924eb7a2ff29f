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
"""Session key -> the account it ever signed for, for good (Substrate's historical session's key owner): written
whenever a key is registered (`bonds.register_validator`), set (`session.set_keys`: the old key and the new one),
or left (`bonds.deregister_validator`, or a slash that deregisters), so an offence signed with a key its validator
has since rotated away from or left with is still that account's. A key owned by one account is never taken by
another (`bonds.logic.check_session_key`). Genesis writes the genesis validators' keys. Storage version 1: spec 11
wrote only rotations here; `session.migrations` recorded every other key a set or a registration held."""


def owner_of_key(state: Overlay, session_key: bytes) -> bytes | None:
    """The account a session key signs (or signed) for; None for a key this chain never saw."""
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
