"""Merkle proofs: every leaf of random trees proves against `merkle_root`, and any altered part fails."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from btt_chain.primitives.hashing import EMPTY_MERKLE_ROOT, blake2b_256, merkle_root
from btt_chain.primitives.merkle import (
    hash_leaf,
    hash_node,
    merkle_levels,
    merkle_proof,
    proof_length,
    verify_merkle_proof,
)

leaf_lists = st.lists(st.binary(max_size=12), min_size=1, max_size=40)


def sibling_levels(index: int, count: int) -> list[bool]:
    """For each level below the root, whether the path from leaf `index` has a sibling there."""
    out = []
    while count > 1:
        out.append(index ^ 1 < count)
        index //= 2
        count = (count + 1) // 2
    return out


def flip(data: bytes, bit: int = 0) -> bytes:
    """`data` with one bit inverted (a one-byte value appended if it is empty)."""
    if not data:
        return b"\x01"
    pos = bit // 8 % len(data)
    return data[:pos] + bytes([data[pos] ^ (1 << (bit % 8))]) + data[pos + 1 :]


@settings(max_examples=200, deadline=None)
@given(leaf_lists)
def test_every_leaf_proves_against_merkle_root(leaves: list[bytes]) -> None:
    levels = merkle_levels(leaves)
    root = merkle_root(leaves)
    assert levels[-1] == [root]
    assert levels[0] == [hash_leaf(leaf) for leaf in leaves]
    for index, leaf in enumerate(leaves):
        proof = merkle_proof(levels, index)
        assert len(proof) == proof_length(index, len(leaves))
        assert verify_merkle_proof(root, leaf, index, len(leaves), proof)


@settings(max_examples=200, deadline=None)
@given(leaf_lists, st.data())
def test_an_altered_part_fails(leaves: list[bytes], data: st.DataObject) -> None:
    count = len(leaves)
    levels = merkle_levels(leaves)
    root = merkle_root(leaves)
    index = data.draw(st.integers(0, count - 1))
    leaf = leaves[index]
    proof = merkle_proof(levels, index)
    assert verify_merkle_proof(root, leaf, index, count, proof)

    assert not verify_merkle_proof(root, flip(leaf, data.draw(st.integers(0, 95))), index, count, proof)
    assert not verify_merkle_proof(flip(root, data.draw(st.integers(0, 255))), leaf, index, count, proof)
    if proof:
        at = data.draw(st.integers(0, len(proof) - 1))
        bad = list(proof)
        bad[at] = flip(bad[at], data.draw(st.integers(0, 255)))
        assert not verify_merkle_proof(root, leaf, index, count, bad)
        assert not verify_merkle_proof(root, leaf, index, count, proof[:-1])
        if tuple(reversed(proof)) != proof:
            assert not verify_merkle_proof(root, leaf, index, count, tuple(reversed(proof)))
    assert not verify_merkle_proof(root, leaf, index, count, (*proof, bytes(32)))
    other = data.draw(st.integers(0, count - 1))
    if leaves[other] != leaf:
        assert not verify_merkle_proof(root, leaf, other, count, merkle_proof(levels, other))
    for wrong_count in {count - 1, count + 1, 2 * count}:
        if sibling_levels(index, wrong_count) != sibling_levels(index, count):
            assert not verify_merkle_proof(root, leaf, index, wrong_count, proof)


def test_known_small_trees() -> None:
    a, b, c = b"a", b"b", b"c"
    assert merkle_root([]) == EMPTY_MERKLE_ROOT and merkle_levels([]) == []
    assert verify_merkle_proof(hash_leaf(a), a, 0, 1, ())
    ab = hash_node(hash_leaf(a), hash_leaf(b))
    root = hash_node(ab, hash_leaf(c))
    assert merkle_root([a, b, c]) == root
    levels = merkle_levels([a, b, c])
    assert merkle_proof(levels, 0) == (hash_leaf(b), hash_leaf(c))
    assert merkle_proof(levels, 1) == (hash_leaf(a), hash_leaf(c))
    assert merkle_proof(levels, 2) == (ab,)  # promoted at the bottom level: one sibling only
    assert [proof_length(i, 3) for i in range(3)] == [2, 2, 1]
    assert verify_merkle_proof(root, c, 2, 3, (ab,))


def test_the_root_does_not_commit_to_the_count() -> None:
    """Known property of `merkle_root`: the leaf count is not hashed in, so a path whose shape is the same
    for two counts verifies for both. Leaf 0 of 3 leaves has the path shape of leaf 0 of 4 leaves (the
    promoted third leaf stands where the (2, 3) node would be). Callers must take the count from the
    job, never from the prover; no 4-leaf tree has this root unless blake2b collides."""
    leaves = [b"a", b"b", b"c"]
    proof = merkle_proof(merkle_levels(leaves), 0)
    assert verify_merkle_proof(merkle_root(leaves), b"a", 0, 3, proof)
    assert verify_merkle_proof(merkle_root(leaves), b"a", 0, 4, proof)
    assert not verify_merkle_proof(merkle_root(leaves), b"c", 2, 4, merkle_proof(merkle_levels(leaves), 2))


def test_a_leaf_is_not_an_inner_node() -> None:
    """Domain separation: the two children of a node do not prove their concatenation as a leaf."""
    levels = merkle_levels([b"x", b"y"])
    for fake_leaf in (levels[0][0] + levels[0][1], b"\x01" + levels[0][0] + levels[0][1]):
        assert not verify_merkle_proof(levels[-1][0], fake_leaf, 0, 1, ())


@pytest.mark.parametrize(
    "args",
    [
        (blake2b_256(b"r"), b"x", -1, 4, ()),
        (blake2b_256(b"r"), b"x", 4, 4, ()),
        (blake2b_256(b"r"), b"x", 0, 0, ()),
        (blake2b_256(b"r"), b"x", 0, -3, ()),
        (blake2b_256(b"r"), b"x", 0, 2**64 + 1, ()),
        (blake2b_256(b"r"), b"x", True, 4, ()),
        (blake2b_256(b"r"), b"x", 1.0, 4, ()),
        (blake2b_256(b"r"), b"x", "0", 4, ()),
        (blake2b_256(b"r"), b"x", 0, None, ()),
        (b"short", b"x", 0, 1, ()),
        (None, b"x", 0, 1, ()),
        (blake2b_256(b"r"), "x", 0, 1, ()),
        (blake2b_256(b"r"), None, 0, 1, ()),
        (blake2b_256(b"r"), b"x", 0, 2, None),
        (blake2b_256(b"r"), b"x", 0, 2, b"\x00" * 32),
        (blake2b_256(b"r"), b"x", 0, 2, "a" * 32),
        (blake2b_256(b"r"), b"x", 0, 2, (b"short",)),
        (blake2b_256(b"r"), b"x", 0, 2, (None,)),
        (blake2b_256(b"r"), b"x", 0, 2, (1,)),
        (blake2b_256(b"r"), b"x", 0, 2, 7),
    ],
)
def test_garbage_is_rejected_without_raising(args: tuple) -> None:
    assert verify_merkle_proof(*args) is False


def test_proof_of_a_missing_leaf_raises() -> None:
    levels = merkle_levels([b"a", b"b"])
    with pytest.raises(IndexError):
        merkle_proof(levels, 2)
    with pytest.raises(IndexError):
        merkle_proof(levels, -1)
    with pytest.raises(IndexError):
        merkle_proof([], 0)


def test_huge_claimed_count_is_cheap() -> None:
    """A proof for 2^64 leaves is 64 siblings long: the verifier's work is bounded by the count's bits."""
    assert proof_length(0, 2**64) == 64
    assert not verify_merkle_proof(blake2b_256(b"r"), b"x", 0, 2**64, [bytes(32)] * 64)
