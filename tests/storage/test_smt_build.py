"""The fresh-tree builder against the tree's definition and against ordinary updates, in one process and split across a
forked worker, with the worker failing in every way it can; and the packed node map it returns."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from btt_chain.primitives.errors import StorageError
from btt_chain.primitives.hashing import ZERO_HASH, blake2b_256
from storage import smt_build
from storage.smt import EMPTY_ROOT, SparseMerkleTree
from storage.smt_build import (
    RECORD_LEN,
    PackedNodes,
    build_nodes,
    build_packed,
    sort_by_path,
    sorted_leaves,
    split_depths,
)

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
states = st.dictionaries(st.binary(max_size=6), st.none() | st.binary(max_size=6), max_size=60)


def definition_root(leaves: dict[bytes, bytes]) -> bytes:
    """{path: value hash} -> root, straight from the definition: split by bit until a subtree holds one leaf."""

    def subtree(paths: list[bytes], depth: int) -> bytes:
        if not paths:
            return ZERO_HASH
        if len(paths) == 1:
            return blake2b_256(b"\x00" + paths[0] + leaves[paths[0]])
        left = [p for p in paths if not (p[depth // 8] >> (7 - depth % 8)) & 1]
        right = [p for p in paths if (p[depth // 8] >> (7 - depth % 8)) & 1]
        return blake2b_256(b"\x01" + subtree(left, depth + 1) + subtree(right, depth + 1))

    return subtree(sorted(leaves), 0)


def updated_root(state: dict[bytes, bytes | None]) -> bytes:
    """The root ordinary updates reach: a one-key tree grown in two batches, then the seed key deleted."""
    nodes: dict[bytes, bytes] = {}
    tree = SparseMerkleTree(nodes.get, cache_size=0)
    root, made = tree.update(EMPTY_ROOT, {b"\xffseed-not-a-test-key": b"x"})
    nodes.update(made)
    items = list(state.items())
    for batch in (items[: len(items) // 2], items[len(items) // 2 :]):
        root, made = tree.update(root, dict(batch))
        nodes.update(made)
    root, made = tree.update(root, {b"\xffseed-not-a-test-key": None})
    nodes.update(made)
    return root


def reachable(root: bytes, nodes: dict[bytes, bytes]) -> dict[bytes, bytes]:
    """The nodes under `root`: what a fresh build must make, no more and no less."""
    out: dict[bytes, bytes] = {}
    todo = [root] if root != ZERO_HASH else []
    while todo:
        node = todo.pop()
        enc = nodes[node]
        out[node] = enc
        if enc[0] == 1:
            todo.extend(child for child in (enc[1:33], enc[33:]) if child != ZERO_HASH)
    return out


@SETTINGS
@given(state=states)
def test_every_build_is_the_tree_the_definition_and_updates_give(state: dict[bytes, bytes | None]) -> None:
    present = {k: v for k, v in state.items() if v is not None}
    expected = definition_root({blake2b_256(k): blake2b_256(v) for k, v in present.items()})
    assert updated_root(state) == expected
    root, nodes = build_nodes(state)
    assert root == expected
    assert reachable(root, nodes) == nodes, "a fresh build makes exactly the tree's nodes"
    for node_hash, enc in nodes.items():
        assert blake2b_256(enc) == node_hash
    for parallel in (2, 10**9):
        packed_root, packed = build_packed(state, parallel_leaves=parallel)
        assert packed_root == expected
        assert dict(packed.items()) == nodes and len(packed) == len(nodes)


def _leaf(path: bytes) -> bytes:
    return b"\x00" + path + blake2b_256(path)


def _path(bits: str) -> bytes:
    return int(bits.ljust(256, "0"), 2).to_bytes(32, "big")


@pytest.mark.parametrize("prefix_bits", [0, 1, 31, 32, 63, 64, 65, 127, 200, 255])
def test_crafted_paths_long_one_sided_chains_and_word_edges(prefix_bits: int) -> None:
    """Paths that share `prefix_bits` bits before they part (chains of one-sided nodes that long, split depths at
    every 64-bit and 32-bit edge), plus a far-away leaf, built through the real leaf and range code."""
    common = "1" * prefix_bits
    paths = [_path(common + "0"), _path(common + "1" + "1" * (254 - prefix_bits)) if prefix_bits < 255 else
             _path(common + "1")]
    if prefix_bits > 0:
        paths.append(_path("0" + "1" * 7))
    leaves = sort_by_path([_leaf(p) for p in paths])
    depths = split_depths(leaves)
    for a, b, d in zip(leaves, leaves[1:], depths, strict=False):
        common_len = 256 - (int.from_bytes(a[1:33], "big") ^ int.from_bytes(b[1:33], "big")).bit_length()
        assert d == common_len
    hashes: list[bytes] = []
    encs: list[bytes] = []
    root = smt_build._build_range(leaves, depths, 0, len(leaves), 0, hashes, encs)
    assert root == definition_root({p: blake2b_256(p) for p in paths})
    assert len(set(hashes)) == len(hashes)


def test_split_depths_match_python_on_random_and_near_paths() -> None:
    rng = random.Random(7)
    paths = [rng.randbytes(32) for _ in range(2000)]
    base = rng.randbytes(32)
    paths += [(int.from_bytes(base, "big") ^ (1 << bit)).to_bytes(32, "big") for bit in range(256)]
    leaves = sort_by_path([_leaf(p) for p in paths])
    assert leaves == sorted(leaves)
    ints = [int.from_bytes(leaf[1:33], "big") for leaf in leaves]
    assert split_depths(leaves) == [256 - (a ^ b).bit_length() for a, b in zip(ints, ints[1:], strict=False)]


def test_paths_sharing_their_first_64_bits_sort_exactly() -> None:
    """Real paths almost never share 64 bits; crafted ones do, and must still come out in full path order."""
    rng = random.Random(3)
    head = rng.randbytes(8)
    leaves = [_leaf(head + rng.randbytes(24)) for _ in range(50)] + [_leaf(rng.randbytes(32)) for _ in range(50)]
    rng.shuffle(leaves)
    assert sort_by_path(list(leaves)) == sorted(leaves)
    hashes = [head + rng.randbytes(24) for _ in range(40)] + [rng.randbytes(32) for _ in range(40)]
    encs = [rng.randbytes(65) for _ in hashes]
    expected = b"".join(sorted(h + e for h, e in zip(hashes, encs, strict=True)))
    assert smt_build._pack(list(hashes), list(encs)) == expected


def test_sorted_leaves_rejects_what_is_not_bytes_and_skips_deletes() -> None:
    with pytest.raises(TypeError, match="state keys must be bytes, got str"):
        sorted_leaves({"k": b"v"})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="state values must be bytes or None, got int"):
        sorted_leaves({b"k": 5})  # type: ignore[dict-item]
    assert sorted_leaves({b"a": None}) == []
    assert build_packed({b"a": None}, parallel_leaves=2)[0] == EMPTY_ROOT
    assert len(build_packed({})[1]) == 0


def _big_state(n: int = 3000) -> dict[bytes, bytes | None]:
    rng = random.Random(n)
    return {rng.randbytes(12): rng.randbytes(rng.randrange(0, 40)) for _ in range(n)}


@pytest.fixture(scope="module")
def big() -> tuple[dict[bytes, bytes | None], bytes, dict[bytes, bytes]]:
    state = _big_state()
    root, nodes = build_nodes(state)
    return state, root, nodes


def _fails_in_worker(parent: int, real):  # type: ignore[no-untyped-def]
    def build_range(*args):  # type: ignore[no-untyped-def]
        if os.getpid() != parent:
            raise RuntimeError("the worker dies")
        return real(*args)

    return build_range


def test_a_worker_that_dies_is_replaced_by_this_process(big, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    state, root, nodes = big
    monkeypatch.setattr(smt_build, "_build_range", _fails_in_worker(os.getpid(), smt_build._build_range))
    got_root, packed = build_packed(state, parallel_leaves=2)
    assert got_root == root and dict(packed.items()) == nodes


def test_a_worker_that_writes_garbage_is_not_trusted(big, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    state, root, nodes = big
    parent = os.getpid()
    real_pack = smt_build._pack

    def pack(hashes: list[bytes], encs: list[bytes]) -> bytes:
        run = real_pack(hashes, encs)
        return run[:-1] if os.getpid() != parent else run  # a record cut short

    monkeypatch.setattr(smt_build, "_pack", pack)
    got_root, packed = build_packed(state, parallel_leaves=2)
    assert got_root == root and dict(packed.items()) == nodes


def test_no_fork_means_one_process_and_the_same_tree(big, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    state, root, nodes = big

    def no_fork() -> int:
        raise OSError("fork refused")

    monkeypatch.setattr(os, "fork", no_fork)
    got_root, packed = build_packed(state, parallel_leaves=2)
    assert got_root == root and dict(packed.items()) == nodes


def test_an_error_here_stops_and_reaps_the_worker(big, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    state, _root, _nodes = big
    parent = os.getpid()
    real_build, real_fork = smt_build._build_range, smt_build._fork_half
    started: list[int] = []

    def fork_half(*args):  # type: ignore[no-untyped-def]
        worker = real_fork(*args)
        assert worker is not None
        started.append(worker[0])
        return worker

    def build_range(*args):  # type: ignore[no-untyped-def]
        if os.getpid() == parent:
            raise KeyboardInterrupt
        return real_build(*args)

    monkeypatch.setattr(smt_build, "_fork_half", fork_half)
    monkeypatch.setattr(smt_build, "_build_range", build_range)
    with pytest.raises(KeyboardInterrupt):
        build_packed(state, parallel_leaves=2)
    assert started
    with pytest.raises(ChildProcessError):
        os.waitpid(started[0], os.WNOHANG)  # already reaped: no zombie left behind


def test_one_sided_states_build_in_one_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every path on one side of the first bit: nothing to split, no worker."""
    state = {k: b"v" for k in (os.urandom(8) for _ in range(5000)) if blake2b_256(k)[0] < 0x80}

    def no_fork() -> int:
        raise AssertionError("no worker wanted")

    monkeypatch.setattr(os, "fork", no_fork)
    root, packed = build_packed(state, parallel_leaves=2)
    assert (root, dict(packed.items())) == build_nodes(state)


def test_packed_nodes_lookups_iteration_and_key_ordered_chunks(big) -> None:  # type: ignore[no-untyped-def]
    state, root, nodes = big
    _, packed = build_packed(state, parallel_leaves=2)
    assert len(packed._runs) == 3  # the two halves and the root: the worker really ran
    for node_hash in list(nodes)[:300]:
        assert packed[node_hash] == nodes[node_hash] and node_hash in packed
    assert packed[root] == nodes[root]
    for missing in (b"\x00" * 32, b"\xff" * 32, blake2b_256(b"absent"), b"short", "not bytes", 5):
        assert missing not in packed
        with pytest.raises(KeyError):
            packed[missing]  # type: ignore[index]
    assert sorted(packed) == sorted(nodes)
    for size in (1, 97, 1000, 10**6):
        chunks = list(packed.key_ordered_chunks(b"t:", size))
        merged: dict[bytes, bytes] = {}
        last = b""
        for chunk in chunks:
            assert chunk and min(chunk) > last
            last = max(chunk)
            merged.update(chunk)
        assert merged == {b"t:" + h: e for h, e in nodes.items()}
        assert len(chunks) <= max(1, -(-len(nodes) // size))


def test_packed_nodes_refuse_partial_records() -> None:
    with pytest.raises(StorageError, match="not whole records"):
        PackedNodes((b"\x00" * (RECORD_LEN + 1),))
    empty = PackedNodes((b"",))
    assert len(empty) == 0 and list(empty) == [] and list(empty.key_ordered_chunks(b"t:", 10)) == []


def _chunked(nodes: PackedNodes) -> Iterator[bytes]:
    for chunk in nodes.key_ordered_chunks(b"", 50):
        yield from sorted(chunk)


def test_chunks_of_a_one_run_map_are_the_sorted_run() -> None:
    _, packed = build_packed({os.urandom(6): b"x" for _ in range(400)}, parallel_leaves=10**9)
    assert list(_chunked(packed)) == list(packed)
