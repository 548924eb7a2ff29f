"""Compute 3 -> 4 (spec 20): per-epoch credit totals, filled from the providers' histories.

Spec 19 summed the compute house's whole weight over every provider's credit history, unweighed, when a referendum
closed (743 ms at 1,000 providers with 720 epochs of history each on an idle 2-core host, 2.6 s beside the test
suite). Spec 20 keeps a total per epoch
(`credit_totals`), added to as credit matures, and sums the window's totals. This migration adds each provider's
history, at or above the floor (`credit_floor`: lower buckets count for nobody, and their totals are pruned as the
floor rises meanwhile), to the totals, in provider order and in steps, recording the last provider passed
(`credit_totals_passed`). Credit that matures while it runs (an epoch's start may fall between two steps) goes to its
total only for a provider already passed: the others' is in their histories when the migration reads them. So every
credit is in its total exactly once. Until the last step the house's total is summed from the histories, as spec 19
did (`credit.totals_whole`); the runner marks compute at version 4 after it.
"""

from __future__ import annotations

from runtime.overlay import Overlay

from ..compute import storage
from ..migration import Migration
from ..session.migrations import items_after
from ..storage_version import storage_version

ITEM_WEIGHT = 4_000
"""One provider's history, in weight units: decoded (up to `types.MAX_CREDIT_BUCKETS`, 1,024 buckets), each bucket
added to its epoch's sum (the step writes each epoch's total once). Measured 2026-11-29 on the 2-core host, a history
of 1,024 buckets in steps of 100 on an overlay over a dict state: 1.1-1.2 ms of execution idle, 1.9-2.2 ms beside
the test suite and two busy loops; the weight leaves room for the state root and the write of the totals a step
changes (at most the 1,024 epochs)."""


def fill_totals(state: Overlay, cursor: bytes, limit: int) -> tuple[bytes | None, int]:
    """Each step adds up to `limit` providers' histories, in key order from `cursor` (the last provider done), to the
    totals; None once every history was passed."""
    floor = storage.credit_floor.get(state)
    adds: dict[int, int] = {}  # epoch -> the step's credit for it, written once a step
    done = 0
    after: bytes | None = None
    for who, history in items_after(state, storage.credit_history, cursor):
        if done == limit:
            after = cursor
            break
        for b in history:
            if b.epoch >= floor:
                adds[b.epoch] = adds.get(b.epoch, 0) + b.credit
        cursor = who
        done += 1
    for epoch, credit in adds.items():
        storage.credit_totals.put(state, epoch, (storage.credit_totals.get(state, epoch) or 0) + credit)
    if after is None:
        storage.credit_totals_passed.kill(state)  # every history passed: the totals are whole from here
    elif done:
        storage.credit_totals_passed.put(state, after)
    return after, done


def _count(state: Overlay) -> int:
    """Every provider's history, until compute is at version 4 (a step may find more: providers who first earned
    meanwhile)."""
    if storage_version(state, "compute") >= 4:
        return 0
    return sum(1 for _ in storage.credit_history.items(state))


CREDIT_TOTALS = Migration(
    "compute", 3, 4, "compute: credit totals per epoch, from the providers' histories", fill_totals,
    item_weight=ITEM_WEIGHT, count=_count,
)
