"""`runtime.overlay.SortedState`: every read answers as `DictState`'s does, through any mix of writes and deletes, and
a prefix read takes only the keys under the prefix, in order."""

from __future__ import annotations

import random

from runtime.overlay import DictState, Overlay, SortedState


def test_every_read_answers_as_dict_state_s_through_random_writes_and_deletes() -> None:
    rng = random.Random(7)
    keys = [bytes([a, b]) for a in range(6) for b in range(6)]
    start = {k: b"v" for k in rng.sample(keys, 12)}
    plain, ordered = DictState(start), SortedState(start)
    for _ in range(300):
        changes: dict[bytes, bytes | None] = {
            rng.choice(keys): None if rng.random() < 0.4 else bytes([rng.randrange(256)])
            for _ in range(rng.randrange(5))
        }
        plain.apply(changes)
        ordered.apply(changes)
        assert ordered.keys == sorted(plain.data)
        for prefix in (b"", bytes([rng.randrange(6)]), rng.choice(keys), b"\x09"):
            assert list(ordered.iterate(prefix)) == list(plain.iterate(prefix))
        key = rng.choice(keys)
        assert ordered.get(key) == plain.get(key)


def test_an_overlay_over_it_reads_its_own_writes_in_order() -> None:
    view = Overlay(SortedState({b"a1": b"x", b"a3": b"y", b"b1": b"z"}))
    view.set(b"a2", b"w")
    view.delete(b"a3")
    assert list(view.iterate(b"a")) == [(b"a1", b"x"), (b"a2", b"w")]
