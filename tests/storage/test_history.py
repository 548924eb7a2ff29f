"""storage.history.HistoricalState against a ground truth: random blocks of changes (new keys, overwrites,
deletions, keys deleted and re-created) written the way the chain writes them (flat state at the head, one undo
journal per block), then every key and every prefix scan compared at every height with a replayed copy."""

from __future__ import annotations

import random

import pytest

from storage import schema
from storage.chaindb import ChainDB, encode_journal
from storage.history import HistoricalState
from storage.memory import MemoryStore

PREFIXES = (b"", b"a", b"ab", b"b", b"c\x00")


def _random_key(rng: random.Random) -> bytes:
    return rng.choice([b"a", b"ab", b"b", b"c\x00"]) + bytes([rng.randrange(12)])


def build(seed: int, heights: int) -> tuple[ChainDB, list[dict[bytes, bytes]]]:
    """A database at head `heights` and the full state after every height (index = height), replayed in memory."""
    rng = random.Random(seed)
    kv = MemoryStore()
    state = {_random_key(rng): rng.randbytes(4) for _ in range(20)}
    truth = [dict(state)]
    puts = {schema.state_key(k): v for k, v in state.items()}
    puts[schema.canonical_key(0)] = bytes(32)
    puts[schema.undo_key(bytes(32))] = encode_journal({})
    kv.write(puts)
    for height in range(1, heights + 1):
        changes: dict[bytes, bytes | None] = {}
        for _ in range(rng.randrange(0, 8)):
            key = _random_key(rng)
            changes[key] = None if rng.random() < 0.35 else rng.randbytes(4)
        undo = {k: state.get(k) for k in changes}
        block_hash = height.to_bytes(32, "big")
        puts = {schema.canonical_key(height): block_hash, schema.undo_key(block_hash): encode_journal(undo)}
        deletes = []
        for k, v in changes.items():
            if v is None:
                state.pop(k, None)
                deletes.append(schema.state_key(k))
            else:
                state[k] = v
                puts[schema.state_key(k)] = v
        kv.write(puts, deletes)
        truth.append(dict(state))
    return ChainDB(kv), truth


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_every_key_at_every_height_matches_the_replayed_state(seed: int) -> None:
    heights = 40
    db, truth = build(seed, heights)
    every_key = sorted({k for s in truth for k in s} | {b"a\xff", b"zz"})
    for height, expected in enumerate(truth):
        view = HistoricalState(db, heights, height)
        for key in every_key:
            assert view.get(key) == expected.get(key), (height, key)
        assert view.get_values(every_key + every_key[:5]) == [expected.get(k) for k in every_key + every_key[:5]]
        for prefix in PREFIXES:
            want = sorted((k, v) for k, v in expected.items() if k.startswith(prefix))
            assert list(view.iterate(prefix)) == want, (height, prefix)


def test_the_head_view_reads_the_flat_state_and_nothing_is_written() -> None:
    db, truth = build(7, 10)
    before = list(db.kv.iterate(b""))
    view = HistoricalState(db, 10, 10)
    assert dict(view.iterate(b"")) == truth[10]
    HistoricalState(db, 10, 0)
    assert list(db.kv.iterate(b"")) == before


def test_a_block_above_the_head_is_refused() -> None:
    db, _ = build(8, 3)
    with pytest.raises(ValueError):
        HistoricalState(db, 3, 4)


def test_a_view_past_its_key_bound_is_refused_having_read_no_further(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bound counts distinct keys changed since: a view within it is served whole (and right); one past it stops
    at the first journal that passes it, with the count, and reads no older journal."""
    from storage.history import HistoryTooFar

    heights = 40
    db, truth = build(5, heights)
    for height in range(heights + 1):  # the exact bound of each height is served, right
        gathered = len(HistoricalState(db, heights, height).changes_from_head)
        view = HistoricalState(db, heights, height, max_keys=gathered)
        assert all(view.get(k) == truth[height].get(k) for s in truth for k in s)
    far = HistoricalState(db, heights, 0).changes_from_head
    bound = len(far) // 2
    read: list[bytes] = []
    undo = db.undo
    monkeypatch.setattr(db, "undo", lambda h: (read.append(h), undo(h))[1])
    with pytest.raises(HistoryTooFar, match=rf"more than {bound:,} changed keys back") as exc:
        HistoricalState(db, heights, 0, max_keys=bound)
    assert exc.value.keys > bound
    newest = [(heights - i).to_bytes(32, "big") for i in range(len(read))]
    assert read == newest  # the newest journals, in order, up to the one that passed the bound: no further
    assert len(read) < heights
    gathered_before_last: dict[bytes, bytes | None] = {}
    for h in read[:-1]:
        gathered_before_last.update(undo(h))
    assert len(gathered_before_last) <= bound
