"""Migrations of the evidence module's records."""

from __future__ import annotations

from itertools import islice

from btt_chain.primitives.codec import U64
from runtime.overlay import Overlay

from ..evidence import storage
from ..items import StorageMap
from ..migration import Migration
from ..session import storage as session
from ..session.migrations import items_after

REPORTS_V0: StorageMap[int] = StorageMap(storage.M, "reports", U64, key_size=41, register_entry=False)
"""Storage version 0's record (spec 11): offence key with the signing session key first -> block reported in."""


def reports_by_account(state: Overlay, cursor: bytes, limit: int) -> tuple[bytes | None, int]:
    """Version 0 -> 1: every reported offence is kept under its account (`offences`), which `session.key_owner`
    names for the session key spec 11 kept it under (a key no record names is taken as the account itself: the
    report then still stops the same offence being punished twice). Runs after the session migration. Each step
    moves up to `limit` reports in key order from its cursor, the key of the last one moved, and returns None once
    none is left."""
    batch = list(islice(items_after(state, REPORTS_V0, cursor), limit + 1))  # read before moving any
    for key, block in batch[:limit]:
        owner = session.key_owner.get(state, key[:32]) or key[:32]
        storage.offences.put(state, owner + key[32:], block)
        REPORTS_V0.remove(state, key)
    if len(batch) <= limit:
        return None, len(batch)
    return (batch[limit - 1][0] if limit else cursor), limit


def _count(state: Overlay) -> int:
    return sum(1 for _ in REPORTS_V0.items(state))


MOVE_WEIGHT = 23
"""A report moved, in weight units: read, its key's owner looked up, written under the account and removed (two
state-tree leaves and writes). Measured by `btt-chain bench upgrade` (2026-11-26, 2-core host shared with other
work, the fastest of 2 to 5 runs): 10.6 us a report with 10,000 of them, 12.8 with 100,000, 17.3 with 300,000
(6-9 executing, the rest the state root and the writes); 17.3 x 1.3, rounded up, as the compute weights' margin.
Under a loaded host a block of the largest step took up to three times its weight (load average 4 to 11 on 2 cores)."""

REPORTS_BY_ACCOUNT = Migration(
    "evidence", 0, 1, "evidence: reported offences kept by account", reports_by_account, item_weight=MOVE_WEIGHT,
    count=_count,
)
