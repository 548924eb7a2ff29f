"""Merkle range proofs: every contiguous range of random trees proves against `merkle_root` with the expected
number of siblings, one leaf's range proof is its inclusion proof, and any altered part fails."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from btt_chain.primitives.hashing import merkle_root
from btt_chain.primitives.merkle import (
    merkle_levels,
    merkle_proof,
    merkle_range_proof,
    range_proof_length,
    verify_merkle_range,
)


@st.composite
def tree_and_range(draw: st.DrawFn) -> tuple[list[bytes], int, int]:
    leaves = draw(st.lists(st.binary(max_size=10), min_size=1, max_size=70))
    start = draw(st.integers(0, len(leaves) - 1))
    n = draw(st.integers(1, len(leaves) - start))
    return leaves, start, n


@settings(max_examples=300, deadline=None)
@given(tree_and_range())
def test_every_range_proves_against_the_root(case: tuple[list[bytes], int, int]) -> None:
    leaves, start, n = case
    root, levels = merkle_root(leaves), merkle_levels(leaves)
    proof = merkle_range_proof(levels, start, n)
    assert len(proof) == range_proof_length(start, n, len(leaves)) <= 2 * max(1, len(levels) - 1)
    assert verify_merkle_range(root, leaves[start : start + n], start, len(leaves), proof)
    if n == 1:
        assert proof == merkle_proof(levels, start)


@settings(max_examples=300, deadline=None)
@given(tree_and_range(), st.data())
def test_any_altered_part_of_a_range_proof_fails(case: tuple[list[bytes], int, int], data: st.DataObject) -> None:
    leaves, start, n = case
    count, root = len(leaves), merkle_root(leaves)
    chunk = leaves[start : start + n]
    proof = merkle_range_proof(merkle_levels(leaves), start, n)
    i = data.draw(st.integers(0, n - 1))
    altered = [*chunk[:i], chunk[i] + b"\x00", *chunk[i + 1 :]]
    assert not verify_merkle_range(root, altered, start, count, proof)
    if proof:
        j = data.draw(st.integers(0, len(proof) - 1))
        bad = (*proof[:j], bytes(32), *proof[j + 1 :])
        assert not verify_merkle_range(root, chunk, start, count, bad)
        assert not verify_merkle_range(root, chunk, start, count, proof[:-1])
    assert not verify_merkle_range(root, chunk, start, count, (*proof, bytes(32)))
    if n > 1:  # a shorter or shifted range with the same proof
        assert not verify_merkle_range(root, chunk[:-1], start, count, proof)
    if start + n < count and (start > 0 or n > 1):
        shifted = leaves[start + 1 : start + n + 1]  # the real leaves there: only their own proof shows them
        genuine = merkle_range_proof(merkle_levels(leaves), start + 1, n)
        assert verify_merkle_range(root, shifted, start + 1, count, proof) == (proof == genuine)


def test_malformed_arguments_are_refused_without_raising() -> None:
    leaves = [bytes([i]) for i in range(5)]
    root, proof = merkle_root(leaves), merkle_range_proof(merkle_levels(leaves), 1, 3)
    assert verify_merkle_range(root, leaves[1:4], 1, 5, proof)
    for args in (
        (root, [], 1, 5, proof),  # no leaves
        (root, leaves[1:4], -1, 5, proof),
        (root, leaves[1:4], 3, 5, proof),  # runs past the end
        (root, leaves[1:4], 1, 0, proof),
        (root, leaves[1:4], True, 5, proof),
        (root[:31], leaves[1:4], 1, 5, proof),
        (root, leaves[1:4], 1, 5, b"".join(proof)),
        (root, b"\x01\x02\x03", 1, 5, proof),
        (root, [b"\x01", 2, b"\x03"], 1, 5, proof),
        (root, leaves[1:4], 1, 5, (*proof[:-1], proof[-1][:31])),
        (root, leaves[1:4], 1, 2**64 + 1, proof),
    ):
        assert verify_merkle_range(*args) is False  # type: ignore[arg-type]
    with pytest.raises(IndexError):
        merkle_range_proof(merkle_levels(leaves), 3, 3)
    with pytest.raises(IndexError):
        merkle_range_proof(merkle_levels(leaves), 0, 0)
    with pytest.raises(IndexError):
        merkle_range_proof([], 0, 1)


def test_the_whole_tree_needs_no_sibling() -> None:
    leaves = [bytes([i]) * 3 for i in range(13)]
    assert merkle_range_proof(merkle_levels(leaves), 0, 13) == ()
    assert verify_merkle_range(merkle_root(leaves), leaves, 0, 13, ())
