"""Roles read by other modules: is an account a verifier or an oracle, who the representatives are."""

from __future__ import annotations

from runtime.overlay import Overlay

from ..items import str_key
from ..roles import errors, storage
from ..roles.types import ACTIVITIES, MAX_REPRESENTATIVES


def is_verifier(state: Overlay, who: bytes) -> bool:
    return storage.verifiers.contains(state, who)


def is_oracle(state: Overlay, activity: str, who: bytes) -> bool:
    """False for an unknown activity as well."""
    return activity in ACTIVITIES and storage.oracles.contains(state, (activity, who))


def representatives(state: Overlay) -> tuple[bytes, ...]:
    return storage.representatives.get(state)


def oracles_of(state: Overlay, activity: str) -> tuple[bytes, ...]:
    """Every oracle appointed for `activity`, in key order."""
    prefix = storage.oracles.prefix + str_key(activity)
    return tuple(key[len(prefix) :] for key, _ in state.iterate(prefix))


def verifiers(state: Overlay) -> tuple[bytes, ...]:
    """Every appointed asset verifier, in key order."""
    return tuple(who for who, _ in storage.verifiers.items(state))


def institutions(state: Overlay) -> dict[bytes, int]:
    """The founding institutions house from genesis: account -> voting weight (base units)."""
    return dict(storage.institutions.items(state))


def institution_share_bps(state: Overlay) -> tuple[int, ...]:
    """The decentralisation schedule from genesis: the institutions' share in bps by year, year 1 first."""
    return storage.institution_share_bps.get(state)


def check_activity(activity: str) -> None:
    if activity not in ACTIVITIES:
        raise errors.UnknownActivity(f"{activity!r} is not one of {', '.join(ACTIVITIES)}")


def check_representatives(accounts: tuple[bytes, ...]) -> None:
    """Refuse a list that repeats an account or is longer than the house allows."""
    if len(accounts) > MAX_REPRESENTATIVES:
        raise errors.TooManyRepresentatives(f"{len(accounts)} accounts, at most {MAX_REPRESENTATIVES}")
    if len(set(accounts)) != len(accounts):
        dup = next(a for i, a in enumerate(accounts) if a in accounts[:i])
        raise errors.DuplicateRepresentative(f"account {dup.hex()} is listed more than once")
