"""Migrations of the evidence module's records."""

from __future__ import annotations

from btt_chain.primitives.codec import U64
from runtime.overlay import Overlay

from ..evidence import storage
from ..items import StorageMap
from ..migration import Migration
from ..session import storage as session

REPORTS_V0: StorageMap[int] = StorageMap(storage.M, "reports", U64, key_size=41, register_entry=False)
"""Storage version 0's record (spec 11): offence key with the signing session key first -> block reported in."""


def reports_by_account(state: Overlay, cursor: bytes, limit: int) -> tuple[bytes | None, int]:
    """Version 0 -> 1: every reported offence is kept under its account (`offences`), which `session.key_owner`
    names for the session key spec 11 kept it under (a key no record names is taken as the account itself: the
    report then still stops the same offence being punished twice). Runs after the session migration. Each step
    moves up to `limit` reports (moved ones leave `reports`, so the next step starts from the first left)."""
    moved = 0
    for key, block in list(REPORTS_V0.items(state))[:limit]:
        owner = session.key_owner.get(state, key[:32]) or key[:32]
        storage.offences.put(state, owner + key[32:], block)
        REPORTS_V0.remove(state, key)
        moved += 1
    left = any(True for _ in REPORTS_V0.items(state))
    return (b"\x01" if left else None), moved


def _count(state: Overlay) -> int:
    return sum(1 for _ in REPORTS_V0.items(state))


REPORTS_BY_ACCOUNT = Migration(
    "evidence", 0, 1, "evidence: reported offences kept by account", reports_by_account, item_weight=40,
    count=_count,
)
