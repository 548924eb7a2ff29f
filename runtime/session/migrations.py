"""Migrations of the session module's records."""

from __future__ import annotations

from runtime.overlay import Overlay

from ..bonds import storage as bonds
from ..migration import Migration
from ..session import storage


def _unrecorded(state: Overlay) -> dict[bytes, bytes]:
    """Session key -> account of every key a set or a registration holds and `key_owner` does not name."""
    held: dict[bytes, bytes] = {}
    for v in (*storage.validators.get(state), *storage.queued.get(state)):
        held.setdefault(v.session_key, v.account)
    for who, reg in bonds.validators.items(state):
        held.setdefault(reg.session_key, who)
    return {k: who for k, who in held.items() if storage.key_owner.get(state, k) is None}


def record_every_owner(state: Overlay, cursor: bytes, limit: int) -> tuple[bytes | None, int]:
    """Version 0 -> 1: `key_owner` names the account of every key, not only of rotated ones (spec 11 found the
    genesis validators' and newly registered keys through the sets and the registrations). A key two accounts used
    under spec 11, which did not keep a key its first account's, stays with the account recorded first. Each step
    records up to `limit` keys in key order; the keys left are found again from the state."""
    todo = sorted(_unrecorded(state).items())
    for key, who in todo[:limit]:
        storage.key_owner.put(state, key, who)
    return (b"\x01" if len(todo) > limit else None), min(limit, len(todo))


RECORD_EVERY_OWNER = Migration(
    "session", 0, 1, "session: every session key's owner recorded", record_every_owner, item_weight=40,
    count=lambda state: len(_unrecorded(state)),
)
