"""The flat state's read cache: two generations that keep what blocks keep reading, and never serve a value that
is not the stored one, whatever the order of reads, writes, deletes and turnovers."""

from __future__ import annotations

import random

from storage import schema
from storage.chaindb import FlatState
from storage.memory import MemoryStore


class CountingStore(MemoryStore):
    reads = 0

    def get(self, key: bytes) -> bytes | None:
        self.reads += 1
        return super().get(key)


def write(kv: MemoryStore, flat: FlatState, changes: dict[bytes, bytes | None]) -> None:
    """What ChainDB.apply_update does with a block's state changes."""
    kv.write({schema.state_key(k): v for k, v in changes.items() if v is not None},
             [schema.state_key(k) for k, v in changes.items() if v is None])
    flat.changed(changes)


def test_random_reads_and_writes_never_see_a_stale_value() -> None:
    rng = random.Random(9)
    kv = MemoryStore()
    for entries in (2, 3, 8, 64):
        flat = FlatState(kv, cache_entries=entries)
        reference: dict[bytes, bytes] = {}
        write(kv, flat, {b"k%d" % i: None for i in range(40)})
        keys = [b"k%d" % i for i in range(40)]
        for step in range(3_000):
            if rng.random() < 0.3:
                changes: dict[bytes, bytes | None] = {
                    rng.choice(keys): (None if rng.random() < 0.3 else rng.randbytes(3)) for _ in range(3)
                }
                write(kv, flat, changes)
                for k, v in changes.items():
                    if v is None:
                        reference.pop(k, None)
                    else:
                        reference[k] = v
            key = rng.choice(keys)
            assert flat.get(key) == reference.get(key), (entries, step, key)
            assert flat.cached() <= entries


def test_a_value_changed_while_in_the_old_generation_is_read_new() -> None:
    kv = MemoryStore()
    flat = FlatState(kv, cache_entries=4)  # generations of 2
    write(kv, flat, {b"a": b"1", b"b": b"2", b"c": b"3"})
    assert [flat.get(k) for k in (b"a", b"b", b"c")] == [b"1", b"2", b"3"]  # a, b turn old when c is read
    write(kv, flat, {b"a": b"changed", b"b": None})
    assert flat.get(b"a") == b"changed" and flat.get(b"b") is None
    write(kv, flat, {b"absent": b"now"})  # an absence the cache never saw
    assert flat.get(b"absent") == b"now"


def test_what_every_block_reads_stays_cached_through_turnovers() -> None:
    kv = CountingStore()
    write(kv, flat := FlatState(kv, cache_entries=1_000), {b"hot%d" % i: b"x" for i in range(200)})
    rng = random.Random(2)
    for _block in range(50):
        for i in range(200):
            flat.get(b"hot%d" % i)  # the signers: read by every block
        for _ in range(300):
            flat.get(b"cold%d" % rng.randrange(10**9))  # recipients seen once
    kv.reads = 0
    for i in range(200):
        flat.get(b"hot%d" % i)
    assert kv.reads == 0, "the accounts every block reads were never dropped all at once"
    assert flat.cached() <= 1_000


def test_get_many_and_the_read_cache_say_what_get_says() -> None:
    """`get_many` (a block's undo journal) and `read_cache` (the compiled transfer runs' first look) against `get`,
    across writes, deletes and generations turning over mid-call."""
    rng = random.Random(4)
    kv = MemoryStore()
    for entries in (2, 5, 64):
        flat = FlatState(kv, cache_entries=entries)
        keys = [b"k%d" % i for i in range(30)]
        for _ in range(300):
            if rng.random() < 0.4:
                changes = {rng.choice(keys): (None if rng.random() < 0.3 else rng.randbytes(3)) for _ in range(3)}
                write(kv, flat, changes)
            asked = [rng.choice(keys) for _ in range(rng.randrange(0, 12))]
            truth = {k: kv.get(schema.state_key(k)) for k in asked}
            assert flat.get_many(asked) == truth
            for key, value in flat.read_cache().items():
                assert value == kv.get(schema.state_key(key))
