"""Migrations of the session module's records, and `items_after`, the ordered read a migration resumes from its
cursor with."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from runtime.overlay import Overlay

from ..bonds import storage as bonds
from ..items import StorageMap
from ..migration import Migration
from ..session import storage

SETS, REGISTRATIONS = b"\x00", b"\x01"
"""A cursor's first byte: in the sets (at most 2,000 keys, read again from their start, the recorded ones passed
over), or in the registrations (the account of the last one whose key was recorded follows; none: from the
first)."""


def items_after(state: Overlay, item: StorageMap[Any], after: bytes) -> Iterator[tuple[bytes, Any]]:
    """(key, value) of an `Identity`-keyed map whose key is above `after` (b"": all), in key order. Read one bucket
    of the key's first byte at a time, from `after`'s on: a step that resumes reads what is after its cursor (and
    its cursor's bucket), not the whole map again, so a migration of n records in steps of k reads about n records
    in all, not n^2/k. (`Overlay.iterate` reads all of a prefix at once, hence the buckets.)"""
    n = len(item.prefix)
    decode = item.codec.decode
    for first in range(after[0] if after else 0, 256):
        for key, raw in state.iterate(item.prefix + bytes([first])):
            if key[n:] > after:
                yield key[n:], decode(raw)


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
    under spec 11, which did not keep a key its first account's, stays with the account found first: the active
    set's, the queued set's, then the registrations' in account order. Each step records up to `limit` keys from
    its cursor on (`SETS`, `REGISTRATIONS`) and returns None once no key is left unrecorded."""
    done = 0
    if cursor[:1] != REGISTRATIONS:  # the sets, read whole at each step: a hook may change them between steps
        for v in (*storage.validators.get(state), *storage.queued.get(state)):
            if storage.key_owner.get(state, v.session_key) is None:
                if done == limit:
                    return SETS, done
                storage.key_owner.put(state, v.session_key, v.account)
                done += 1
        last = b""
    else:
        last = cursor[1:]
    for who, reg in items_after(state, bonds.validators, last):
        if storage.key_owner.get(state, reg.session_key) is None:
            if done == limit:
                return REGISTRATIONS + last, done
            storage.key_owner.put(state, reg.session_key, who)
            done += 1
            last = who
    return None, done


RECORD_WEIGHT = 15
"""A key recorded, in weight units: its registration read, its record looked up and written, its state-tree leaf
and write. Measured by `btt-chain bench upgrade` (2026-11-26, 2-core host shared with other work, the fastest of 2
to 5 runs): 8.2 us a key with 10,000 registrations, 9.8 with 100,000, 11.3 with 300,000 (5-6 executing, the rest
the state root and the write); 11.3 x 1.3, rounded up, as the compute weights' margin. Under a loaded host a block of
the largest step took up to three times its weight (load average 4 to 11 on 2 cores)."""

RECORD_EVERY_OWNER = Migration(
    "session", 0, 1, "session: every session key's owner recorded", record_every_owner, item_weight=RECORD_WEIGHT,
    count=lambda state: len(_unrecorded(state)),
)
