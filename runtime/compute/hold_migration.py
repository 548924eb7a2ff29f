"""Compute storage version 1 -> 2 (spec 14): what assignments made before holds existed hold of their providers'
bonds, written down (`holds`).

Spec 13 kept one fixed slash, max(`compute.fraud_slash`, `compute.withheld_slash`), of a provider's bond for each of
its assignments at risk, and kept no record of it: the bond floor was `at_risk` x that slash. Spec 14 keeps a hold
per assignment and a total per provider. An assignment made before has no hold of its own; it holds the fixed slash
of its time, which this migration records once (`holds.legacy_hold`, at its first step, from the parameters then),
and each provider with assignments at risk gets its total, `at_risk` x that slash. Until a provider's total is
written, `holds.held` reads the same figure from its record, so blocks between the steps (their hooks settle, slash
and assign) see the same books however far the migration has gone; a provider the hooks gave a total meanwhile is
passed over.
"""

from __future__ import annotations

from runtime.overlay import Overlay

from ..compute import holds, storage
from ..migration import Migration
from ..session.migrations import items_after

LEGACY, PROVIDERS = b"\x00", b"\x01"
"""A cursor's first byte: the legacy slash is not recorded yet (the start: an empty cursor), or the providers from
the account that follows on (none: from the first)."""


def record_holds(state: Overlay, cursor: bytes, limit: int) -> tuple[bytes | None, int]:
    """Version 1 -> 2: record the fixed slash every assignment made before spec 14 holds, then write each provider's
    total held (`at_risk` x that slash) in account order, up to `limit` providers a step (the slash recorded counts
    as one); returns None once every provider is done."""
    done = 0
    if cursor[:1] != PROVIDERS:
        if not holds.legacy_hold.get(state):
            holds.legacy_hold.put(state, holds.max_hold(state))
            done = 1
        last = b""
    else:
        last = cursor[1:]
    for who, provider in items_after(state, storage.providers, last):
        if provider.at_risk and holds.by_provider.get(state, who) is None:
            if done == limit:
                return PROVIDERS + last, done
            holds.by_provider.put(state, who, provider.at_risk * holds.legacy_hold.get(state))
            done += 1
        last = who
    return None, done


def _count(state: Overlay) -> int:
    """Providers whose total is not written yet, and the slash if it is not recorded."""
    left = sum(1 for who, p in storage.providers.items(state)
               if p.at_risk and holds.by_provider.get(state, who) is None)
    return left + (0 if holds.legacy_hold.get(state) else 1)


RECORD_WEIGHT = 15
"""A provider's total written, in weight units: its record read, its total looked up and written (one state-tree leaf
and write), as `session.migrations.RECORD_WEIGHT` measured for the same work (a record read, a key looked up and
written)."""

RECORD_HOLDS = Migration(
    "compute", 1, 2, "compute: what assignments made before spec 14 hold of their bonds", record_holds,
    item_weight=RECORD_WEIGHT, count=_count,
)
