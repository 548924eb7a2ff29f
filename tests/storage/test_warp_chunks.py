"""What warp sync checks a state chunk with: the tree's levels read from both engines (each other's and the
definition's, through updates and rollbacks, at the head and rewound to an older state), and the pure prefix
primitives of storage.smt: every prefix of random states at several depths verifies against the engines' root with
the siblings its levels give, empty prefixes with no entries and lone leaves lifted; every kind of tampering (a
value, a dropped or added entry, a key from another prefix, the order, a sibling's hash or kind, a lone leaf left
out, moved or forged) is refused with a reason, and input of the right types never raises."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from btt_chain.primitives.hashing import ZERO_HASH, blake2b_256
from storage import state_tree
from storage.memory import MemoryStore
from storage.smt import (
    EMPTY_ROOT,
    Node,
    level_root,
    lone_leaf_beside,
    prefix_bounds,
    prefix_root,
    prefix_siblings,
    subtree_node,
    verify_chunk_at,
    verify_prefix_chunk,
)
from storage.state_tree import Engine, StateTree, leaf_records, make_engine, put_leaves
from storage.tree_engine import EMPTY, INTERNAL, LEAF, join

from .tree_support import applied, reference_root

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
KINDS = [True, False] if state_tree.NATIVE_ENGINE else [False]

keys = st.binary(min_size=0, max_size=6)
values = st.binary(min_size=0, max_size=6)
states = st.dictionaries(keys, values, max_size=60)
change_sets = st.dictionaries(keys, st.one_of(st.none(), values), max_size=12)


class Stored:
    """The committed leaves, as a node's store holds them: what an engine reads a bucket it does not hold from."""

    def __init__(self, state: dict[bytes, bytes], bits: int) -> None:
        self.bits = bits
        self.state = state

    def fetch(self, bucket: int) -> bytes:
        records = leaf_records(self.state)
        out = b""
        for at in range(0, len(records), 64):
            rec = records[at : at + 64]
            if (int.from_bytes(rec[:4], "big") >> (32 - self.bits) if self.bits else 0) == bucket:
                out += rec
        return out


def engine_of(state: dict[bytes, bytes], bits: int, native: bool, budget: int = 10**6,
              stored: Stored | None = None) -> Engine:
    engine = make_engine(bits, budget, (stored or Stored(state, bits)).fetch, native)
    engine.load(leaf_records(state))
    engine.finish_load()
    return engine


def definition_node(leaves: dict[bytes, bytes], depth: int) -> Node:
    """(hash, kind) of the subtree at `depth` holding `leaves` (path -> value hash), straight from the definition."""
    if not leaves:
        return ZERO_HASH, EMPTY
    if len(leaves) == 1:
        (path, value_hash), = leaves.items()
        return blake2b_256(b"\x00" + path + value_hash), LEAF
    left = {p: v for p, v in leaves.items() if not (p[depth // 8] >> (7 - depth % 8)) & 1}
    right = {p: v for p, v in leaves.items() if (p[depth // 8] >> (7 - depth % 8)) & 1}
    return blake2b_256(b"\x01" + definition_node(left, depth + 1)[0] + definition_node(right, depth + 1)[0]), INTERNAL


def in_prefix(path: bytes, depth: int, index: int) -> bool:
    return int.from_bytes(path, "big") >> (256 - depth) == index if depth else True


def definition_level(state: dict[bytes, bytes], depth: int) -> bytes:
    leaves = {blake2b_256(k): blake2b_256(v) for k, v in state.items()}
    out = b""
    for index in range(1 << depth):
        h, kind = definition_node({p: v for p, v in leaves.items() if in_prefix(p, depth, index)}, depth)
        out += h + bytes([kind])
    return out


def chunk(state: dict[bytes, bytes], depth: int, index: int) -> list[tuple[bytes, bytes]]:
    """The (key, value) pairs of a prefix, in path order: what an honest server sends."""
    return [(k, state[k]) for _, k in sorted((blake2b_256(k), k) for k in state if in_prefix(blake2b_256(k), depth,
                                                                                              index))]


def served(state: dict[bytes, bytes], levels: Callable[[int], bytes], depth: int, index: int
           ) -> tuple[list[tuple[bytes, bytes]], list[Node], tuple[bytes, bytes] | None]:
    """Entries, siblings and (when the prefix is empty beside a lone leaf) that leaf, as a server sends them."""
    entries = chunk(state, depth, index)
    siblings = prefix_siblings(levels, depth, index)
    lone = None
    beside = lone_leaf_beside(depth, index, siblings) if not entries else None
    if beside is not None:
        (lone,) = chunk(state, *beside)
    return entries, siblings, lone


# ---- the engines' levels -------------------------------------------------------------------------------------------

@SETTINGS
@given(start=states, steps=st.lists(st.tuples(change_sets, st.booleans()), max_size=5), bits=st.integers(0, 6),
       budget=st.sampled_from([0, 3, 10**6]))
def test_both_engines_hold_the_definitions_levels_through_updates_and_rollbacks(
    start: dict[bytes, bytes], steps: list[tuple[dict[bytes, bytes | None], bool]], bits: int, budget: int
) -> None:
    stored = Stored(dict(start), bits)
    engines = [engine_of(start, bits, native, budget, stored) for native in KINDS]
    state = dict(start)

    def check(expected: dict[bytes, bytes]) -> None:
        for depth in range(bits + 1):
            levels = {engine.positions(depth) for engine in engines}
            assert levels == {definition_level(expected, depth)}, depth

    check(state)
    for changes, keep in steps:
        after = applied(state, changes)
        for engine in engines:
            engine.begin()
            engine.update(changes)
        check(after)
        if keep:
            stored.state = after  # the node writes the block before it commits the tree
        for engine in engines:
            (engine.commit if keep else engine.rollback)()
        if keep:
            state = after
        check(state)


@pytest.mark.parametrize("native", KINDS)
def test_a_level_below_the_buckets_is_refused(native: bool) -> None:
    engine = engine_of({b"a": b"1", b"b": b"2"}, 3, native)
    assert len(engine.positions(3)) == 33 * 8
    for depth in (4, -1, 1 << 70):
        with pytest.raises(ValueError, match=r"depths 0-3 \(its bucket_bits\)"):
            engine.positions(depth)
    for wrong in (1.0, "1", None, True):
        with pytest.raises(TypeError, match="depth must be an int"):
            engine.positions(wrong)  # type: ignore[arg-type]


@pytest.mark.parametrize("native", KINDS)
def test_the_state_trees_levels_at_the_head_and_rewound(native: bool) -> None:
    rng = random.Random(4)
    old = {rng.randbytes(8): rng.randbytes(4) for _ in range(400)}
    kv = MemoryStore()
    puts: dict[bytes, bytes] = {}
    deletes: list[bytes] = []
    put_leaves(puts, deletes, dict(old))
    kv.write(puts, deletes)
    tree = StateTree(kv, 50, native=native)
    tree.open(reference_root(old))
    bits = tree.bucket_bits
    assert bits == 8
    changes: dict[bytes, bytes | None] = {k: None for k in list(old)[:30]}
    changes.update({k: b"later" for k in list(old)[30:80]})
    changes.update({rng.randbytes(8): b"new" for _ in range(30)})
    head = applied(old, changes)
    with tree.transaction() as tx:
        tree.update(changes)
        puts, deletes = {}, []
        put_leaves(puts, deletes, changes)
        kv.write(puts, deletes)
        tx.commit()
    at_head = [tree.positions(d) for d in range(bits + 1)]
    assert at_head == [definition_level(head, d) for d in range(bits + 1)]
    with tree.rewound({k: old.get(k) for k in changes}) as root:  # what the undo journals hold
        assert root == reference_root(old)
        levels = {d: tree.positions(d) for d in range(1, bits + 1)}
        assert [tree.positions(d) for d in range(bits + 1)] == [definition_level(old, d) for d in range(bits + 1)]
        for index in range(0, 1 << bits, 37):  # a server reading an older state's chunks
            entries, siblings, lone = served(old, levels.__getitem__, bits, index)
            assert verify_prefix_chunk(root, bits, index, entries, siblings, lone) is None
    assert [tree.positions(d) for d in range(bits + 1)] == at_head
    with pytest.raises(ValueError, match="bucket_bits"):
        tree.positions(bits + 1)


# ---- chunks of random states ---------------------------------------------------------------------------------------

@SETTINGS
@given(state=states, bits=st.integers(0, 6), native=st.sampled_from(KINDS))
def test_every_prefix_of_a_random_state_verifies(state: dict[bytes, bytes], bits: int, native: bool) -> None:
    engine = engine_of(state, bits, native)
    root = engine.root
    assert root == reference_root(state)
    levels = {d: engine.positions(d) for d in range(bits + 1)}
    for depth in sorted({0, bits // 2, bits}):
        listed = []
        for index in range(1 << depth):
            entries, siblings, lone = served(state, levels.__getitem__, depth, index)
            listed += entries
            records = [(blake2b_256(k), blake2b_256(v)) for k, v in entries]
            node = subtree_node(records, depth)
            assert node[0] + bytes([node[1]]) == levels[depth][33 * index : 33 * index + 33]
            assert prefix_root(node, depth, index, siblings) == root
            assert verify_prefix_chunk(root, depth, index, entries, siblings, lone) is None
            if not entries:
                assert verify_prefix_chunk(root, depth, index, [], siblings, lone) is None
        assert sorted(listed) == sorted(state.items())


@SETTINGS
@given(state=states, bits=st.integers(0, 6), native=st.sampled_from(KINDS))
def test_a_whole_level_gives_the_root_and_each_chunk_its_position(state: dict[bytes, bytes], bits: int,
                                                                   native: bool) -> None:
    engine = engine_of(state, bits, native)
    for depth in range(bits + 1):
        level = engine.positions(depth)
        assert level_root(level, depth) == engine.root
        for index in range(1 << depth):
            node = (level[33 * index : 33 * index + 32], level[33 * index + 32])
            entries = chunk(state, depth, index)
            assert verify_chunk_at(node, depth, index, entries) is None
            if entries:
                changed = [(entries[0][0], entries[0][1] + b"!"), *entries[1:]]
                assert verify_chunk_at(node, depth, index, entries[1:]) is not None
                assert verify_chunk_at(node, depth, index, changed) is not None
                if depth:
                    assert verify_chunk_at(node, depth, index ^ 1, entries) is not None
            else:
                assert verify_chunk_at(node, depth, index, [(key_in(depth, index, state), b"x")]) is not None


def test_a_top_that_moves_a_lone_leaf_gives_the_root_but_never_a_chunk_for_it() -> None:
    key = b"the only key"
    side = blake2b_256(key)[0] >> 7
    root = reference_root({key: b"v"})
    leaf, empty = root + bytes([LEAF]), ZERO_HASH + bytes([EMPTY])
    true_top = leaf + empty if side == 0 else empty + leaf
    moved = empty + leaf if side == 0 else leaf + empty
    assert level_root(true_top, 1) == level_root(moved, 1) == root
    # against the moved top, the leaf's own prefix verifies empty, but the prefix it was moved to has no chunk
    assert verify_chunk_at((ZERO_HASH, EMPTY), 1, side, []) is None
    assert verify_chunk_at((root, LEAF), 1, side ^ 1, []) is not None
    assert verify_chunk_at((root, LEAF), 1, side ^ 1, [(key, b"v")]) is not None
    assert verify_chunk_at((root, LEAF), 1, side, [(key, b"v")]) is None
    for bad in (true_top[:-1], true_top + leaf + empty, root + b"\x03" + empty, (b"\x01" * 32) + b"\x00" + empty):
        with pytest.raises(ValueError):
            level_root(bad, 1)
    assert verify_chunk_at((root, LEAF), 2, 4, []) is not None
    with pytest.raises(TypeError):
        verify_chunk_at((root, LEAF), 1, 0, [(key, None)])  # type: ignore[list-item]


def test_an_empty_state_is_one_empty_prefix_and_all_of_its_prefixes_are_empty() -> None:
    assert verify_prefix_chunk(EMPTY_ROOT, 0, 0, [], []) is None
    assert subtree_node([], 5) == (ZERO_HASH, EMPTY)
    for index in range(8):
        assert verify_prefix_chunk(EMPTY_ROOT, 3, index, [], [(ZERO_HASH, EMPTY)] * 3) is None
    assert verify_prefix_chunk(EMPTY_ROOT, 0, 0, [(b"k", b"v")], []) is not None


def test_a_lone_leaf_verifies_lifted_at_any_depth() -> None:
    state = {b"only": b"one"}
    path = blake2b_256(b"only")
    root = reference_root(state)
    assert subtree_node([(path, blake2b_256(b"one"))], 7) == (root, LEAF)
    for depth in (0, 1, 9, 64, 256):
        index = int.from_bytes(path, "big") >> (256 - depth)
        siblings: list[Node] = [(ZERO_HASH, EMPTY)] * depth
        assert verify_prefix_chunk(root, depth, index, [(b"only", b"one")], siblings) is None
        assert verify_prefix_chunk(root, depth, index, [], siblings) is not None


# ---- tampering -----------------------------------------------------------------------------------------------------

def big_state() -> dict[bytes, bytes]:
    rng = random.Random(11)
    return {b"acct-%d" % i: rng.randbytes(rng.randrange(1, 9)) for i in range(300)}


def key_in(depth: int, index: int, avoid: dict[bytes, bytes]) -> bytes:
    """A key not in `avoid` whose path is in prefix (depth, index)."""
    for i in range(1 << 20):
        key = b"probe-%d" % i
        if in_prefix(blake2b_256(key), depth, index) and key not in avoid:
            return key
    raise AssertionError("no key found")


@pytest.mark.parametrize("native", KINDS)
def test_tampered_chunks_are_refused(native: bool) -> None:
    state = big_state()
    engine = engine_of(state, 6, native)
    root = engine.root
    levels = {d: engine.positions(d) for d in range(7)}
    depth = 4
    tried = 0
    for index in range(1 << depth):
        entries, siblings, lone = served(state, levels.__getitem__, depth, index)
        assert verify_prefix_chunk(root, depth, index, entries, siblings, lone) is None
        assert len(entries) >= 2
        other = chunk(state, depth, (index + 1) % (1 << depth))[0]
        swapped = [entries[1], entries[0], *entries[2:]]
        tampered: dict[str, tuple[list[tuple[bytes, bytes]], list[Node]]] = {
            "changed value": ([(entries[0][0], entries[0][1] + b"!"), *entries[1:]], siblings),
            "dropped first": (entries[1:], siblings),
            "dropped last": (entries[:-1], siblings),
            "added": (chunk({**dict(entries), key_in(depth, index, state): b"x"}, depth, index), siblings),
            "from another prefix": (sorted([*entries, other], key=lambda e: blake2b_256(e[0])), siblings),
            "swapped order": (swapped, siblings),
            "repeated": ([entries[0], *entries], siblings),
            "no siblings": (entries, []),
            "one sibling too many": (entries, [*siblings, (ZERO_HASH, EMPTY)]),
        }
        node = subtree_node([(blake2b_256(k), blake2b_256(v)) for k, v in entries], depth)
        for i, (h, kind) in enumerate(siblings):
            flipped = bytes([h[0] ^ 1]) + h[1:]
            tampered[f"sibling {i} hash"] = (entries, [*siblings[:i], (flipped, kind), *siblings[i + 1:]])
            for wrong in {EMPTY, LEAF, INTERNAL} - {kind}:
                bad = [*siblings[:i], (h, wrong), *siblings[i + 1:]]
                if EMPTY in (kind, wrong):
                    tampered[f"sibling {i} kind {wrong}"] = (entries, bad)
                else:
                    # a lone leaf and an internal node join alike beside a side that is not empty: the kind is not
                    # what the root commits to there, and the chunk is still exactly the prefix's leaves
                    harmless = prefix_root(node, depth, index, bad) == root
                    assert (verify_prefix_chunk(root, depth, index, entries, bad) is None) == harmless
            tampered[f"sibling {i} kind 3"] = (entries, [*siblings[:i], (h, 3), *siblings[i + 1:]])
        for what, (bad_entries, bad_siblings) in tampered.items():
            reason = verify_prefix_chunk(root, depth, index, bad_entries, bad_siblings)
            assert isinstance(reason, str) and reason, what
            tried += 1
        assert verify_prefix_chunk(root, depth, index ^ 1, entries, siblings) is not None
        assert verify_prefix_chunk(bytes(32), depth, index, entries, siblings) is not None
        assert verify_prefix_chunk(root, depth, index, entries, siblings, entries[0]) is not None  # lone leaf unasked
    assert tried > 16 * 20


def test_an_empty_chunk_beside_a_lone_leaf_needs_that_leaf_and_cannot_hide_one() -> None:
    """A lone leaf's hash does not say on which side it is: an empty chunk for the prefix that holds the only leaf,
    with that leaf claimed as its sibling, gives the right root. The leaf's record, placed under the sibling, is
    what tells the honest empty chunk from that lie."""
    key = b"the only key"
    path = blake2b_256(key)
    side = path[0] >> 7  # the prefix at depth 1 that holds it
    state = {key: b"v"}
    root = reference_root(state)
    leaf = (root, LEAF)
    # the honest chunks: the leaf's prefix with the leaf, the other one empty beside it
    assert verify_prefix_chunk(root, 1, side, [(key, b"v")], [(ZERO_HASH, EMPTY)]) is None
    assert lone_leaf_beside(1, side ^ 1, [leaf]) == (1, side)
    assert verify_prefix_chunk(root, 1, side ^ 1, [], [leaf], (key, b"v")) is None
    # the lie: the leaf's own prefix said empty, the leaf claimed to be its sibling
    assert prefix_root((ZERO_HASH, EMPTY), 1, side, [leaf]) == root  # why the record is needed
    assert "needed" in (verify_prefix_chunk(root, 1, side, [], [leaf]) or "")
    assert "not under its sibling" in (verify_prefix_chunk(root, 1, side, [], [leaf], (key, b"v")) or "")
    assert verify_prefix_chunk(root, 1, side ^ 1, [], [leaf], (key, b"w")) is not None
    assert verify_prefix_chunk(root, 1, side ^ 1, [], [leaf], (b"another", b"v")) is not None
    assert verify_prefix_chunk(root, 1, side ^ 1, [], [leaf]) is not None


@pytest.mark.parametrize("native", KINDS)
def test_lone_leaves_beside_empty_prefixes_in_a_real_tree(native: bool) -> None:
    """Deep prefixes of a sparse state: many are empty beside a lone leaf; each verifies with the leaf, none
    without, and the leaf of another empty prefix's sibling does not do."""
    state = {b"sparse-%d" % i: b"v%d" % i for i in range(12)}
    engine = engine_of(state, 6, native)
    root = engine.root
    levels = {d: engine.positions(d) for d in range(7)}
    needing = 0
    for index in range(1 << 6):
        entries, siblings, lone = served(state, levels.__getitem__, 6, index)
        assert verify_prefix_chunk(root, 6, index, entries, siblings, lone) is None
        running = subtree_node([(blake2b_256(k), blake2b_256(v)) for k, v in entries], 6)
        for i, (h, kind) in enumerate(siblings):  # beside an empty side every kind counts, and EMPTY everywhere
            for wrong in {EMPTY, LEAF, INTERNAL} - {kind}:
                bad = [*siblings[:i], (h, wrong), *siblings[i + 1:]]
                if running[1] == EMPTY or EMPTY in (kind, wrong):
                    assert verify_prefix_chunk(root, 6, index, entries, bad, lone) is not None, (index, i, wrong)
            running = join(h, kind, *running) if (index >> i) & 1 else join(*running, h, kind)
        if lone is not None:
            needing += 1
            assert verify_prefix_chunk(root, 6, index, entries, siblings) is not None
            for other in state.items():
                if other != lone:
                    assert verify_prefix_chunk(root, 6, index, entries, siblings, other) is not None
    assert needing > 0


@settings(SETTINGS, max_examples=400)
@given(state=st.dictionaries(keys, values, min_size=1, max_size=24), data=st.data())
def test_no_forged_chunk_of_parts_of_the_real_tree_verifies(state: dict[bytes, bytes], data: st.DataObject) -> None:
    """A peer that knows the whole tree lies with its real parts: leaves dropped, leaves of other prefixes added,
    siblings replaced by other positions of the tree or by the hashes of real leaves, kinds changed, any real leaf as
    the lone leaf. Whatever verifies is the prefix's true chunk."""
    bits = 5
    engine = engine_of(state, bits, state_tree.NATIVE_ENGINE)
    root = engine.root
    levels = {d: engine.positions(d) for d in range(bits + 1)}
    depth = data.draw(st.integers(0, bits))
    held = sorted({int.from_bytes(blake2b_256(k), "big") >> (256 - depth) for k in state})  # prefixes with leaves
    index = data.draw(st.one_of(st.sampled_from(held), st.integers(0, (1 << depth) - 1)))
    truth, siblings, lone = served(state, levels.__getitem__, depth, index)
    items = sorted(state.items())
    entries = data.draw(st.lists(st.sampled_from(items), unique=True, max_size=6)) if data.draw(st.booleans()) \
        else [e for e in truth if data.draw(st.booleans())]
    entries.sort(key=lambda e: blake2b_256(e[0]))
    positions = [(raw[at : at + 32], raw[at + 32]) for raw in levels.values() for at in range(0, len(raw), 33)]
    leaves = [(blake2b_256(b"\x00" + blake2b_256(k) + blake2b_256(v)), LEAF) for k, v in items]
    own = [(blake2b_256(b"\x00" + blake2b_256(k) + blake2b_256(v)), LEAF) for k, v in truth] or leaves
    forged = list(siblings)
    for i in range(depth):
        how = data.draw(st.sampled_from(["keep", "keep", "position", "leaf", "own leaf", "kind"]))
        if how == "position":
            forged[i] = data.draw(st.sampled_from(positions))
        elif how in ("leaf", "own leaf"):
            forged[i] = data.draw(st.sampled_from(leaves if how == "leaf" else own))
        elif how == "kind":
            forged[i] = (forged[i][0], data.draw(st.sampled_from([EMPTY, LEAF, INTERNAL])))
    given_lone = data.draw(st.one_of(st.none(), st.just(lone), st.sampled_from(items)))
    if verify_prefix_chunk(root, depth, index, entries, forged, given_lone) is None:
        assert entries == truth


# ---- malformed input -----------------------------------------------------------------------------------------------

def test_values_out_of_range_give_reasons_and_wrong_types_raise_type_error() -> None:
    root = reference_root({b"a": b"1"})
    args: tuple[Any, ...]
    for args in [
        (root[:31], 0, 0, [], []),
        (root, -1, 0, [], []),
        (root, 257, 0, [], []),
        (root, 2, 4, [], [(ZERO_HASH, EMPTY)] * 2),
        (root, 2, -1, [], [(ZERO_HASH, EMPTY)] * 2),
        (root, 1, 0, [], [(b"short", INTERNAL)]),
        (root, 1, 0, [], [(ZERO_HASH, 7)]),
        (root, 1, 0, [], [(ZERO_HASH, -1)]),
        (root, 1, 0, [], [(root, EMPTY)]),  # an empty position is the zero hash
        (root, 1, 0, [], [(ZERO_HASH, LEAF)]),
        (root, 1 << 80, 0, [], []),
        (root, 1, 1 << 80, [], [(ZERO_HASH, EMPTY)]),
    ]:
        reason = verify_prefix_chunk(*args)  # type: ignore[arg-type]
        assert isinstance(reason, str) and reason, args
    for args in [
        ("00" * 32, 0, 0, [], []),
        (root, 0.0, 0, [], []),
        (root, 0, None, [], []),
        (root, 0, 0, None, []),
        (root, 0, 0, [(b"k",)], []),
        (root, 0, 0, [(b"k", "v")], []),
        (root, 0, 0, [b"kv"], []),
        (root, 0, 0, [], None),
        (root, 1, 0, [], [(ZERO_HASH,)]),
        (root, 1, 0, [], [("00", EMPTY)]),
        (root, 1, 0, [], [(ZERO_HASH, 1.0)]),
        (root, 0, 0, [], [], (b"k", None)),
        (root, 0, 0, [], [], b"k"),
    ]:
        with pytest.raises(TypeError):
            verify_prefix_chunk(*args)  # type: ignore[arg-type]


nodes = st.tuples(st.one_of(st.just(ZERO_HASH), st.binary(min_size=0, max_size=40)),
                  st.integers(-2, 4))


@SETTINGS
@given(root=st.binary(max_size=40), depth=st.integers(-3, 260), index=st.integers(-3, 1 << 9),
       entries=st.lists(st.tuples(keys, values), max_size=8), siblings=st.lists(nodes, max_size=12),
       lone=st.one_of(st.none(), st.tuples(keys, values)))
def test_any_input_of_the_right_types_gives_a_verdict(root: bytes, depth: int, index: int,
                                                      entries: list[tuple[bytes, bytes]], siblings: list[Node],
                                                      lone: tuple[bytes, bytes] | None) -> None:
    verdict = verify_prefix_chunk(root, depth, index, entries, siblings, lone)
    assert verdict is None or isinstance(verdict, str)


def test_prefix_bounds_and_siblings_from_levels() -> None:
    assert prefix_bounds(0, 0) == (bytes(32), None)
    assert prefix_bounds(1, 0) == (bytes(32), b"\x80" + bytes(31))
    assert prefix_bounds(1, 1) == (b"\x80" + bytes(31), None)
    assert prefix_bounds(256, (1 << 256) - 1) == (b"\xff" * 32, None)
    assert prefix_bounds(8, 3) == (b"\x03" + bytes(31), b"\x04" + bytes(31))
    for depth, index in ((1, 2), (-1, 0), (257, 0)):
        with pytest.raises(ValueError):
            prefix_bounds(depth, index)
    engine = engine_of(big_state(), 5, state_tree.NATIVE_ENGINE)
    levels = {d: engine.positions(d) for d in range(6)}
    assert prefix_siblings(levels, 5, 9) == prefix_siblings(engine.positions, 5, 9)
    assert prefix_siblings(levels, 0, 0) == []
    with pytest.raises(ValueError, match="33 a position"):
        prefix_siblings({1: levels[2]}, 1, 0)
    with pytest.raises(ValueError):
        prefix_siblings(levels, 5, 32)
    with pytest.raises(ValueError, match="strictly ascending"):
        subtree_node([(bytes(32), bytes(32)), (bytes(32), bytes(32))], 0)
    with pytest.raises(ValueError, match="share their first"):
        subtree_node([(bytes(32), bytes(32)), (b"\xff" * 32, bytes(32))], 1)
    with pytest.raises(ValueError, match="siblings"):
        prefix_root((ZERO_HASH, EMPTY), 2, 0, [(ZERO_HASH, EMPTY)])
