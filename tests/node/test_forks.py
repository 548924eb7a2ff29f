"""Fork choice and reorganisation: longest chain wins, ties to the lower hash, state follows exactly,
journals take the chain back and forth, finality bounds it all."""

from __future__ import annotations

import pytest

from btt_chain.node.chain import ConflictsWithFinality
from btt_chain.primitives.keys import dev_keypair
from runtime.invariants import check_invariants
from runtime.system import storage as system
from storage import schema
from tests.support.node_builder import UNIT, author_as_leader, devnet_genesis, far_future_ms, new_chain, transfer


def pair_of_chains():
    g = devnet_genesis(2)
    return new_chain(genesis=g), new_chain(genesis=g), g


def bob_free(chain) -> int:
    return system.account.get(chain.state(), dev_keypair("bob").public).free


def sync(dst, src, now=None) -> list:
    """Import every block of src's canonical chain into dst, in order."""
    results = []
    for n in range(1, src.head.number + 1):
        h = src.db.canonical_hash(n)
        results.append(dst.import_block(src.db.get_block_bytes(h), now or far_future_ms()))
    return results


def test_longer_fork_wins_and_state_follows_exactly():
    x, y, _ = pair_of_chains()
    # x: alice's blocks only, with a transfer; y: bob's blocks only, longer, with another transfer
    author_as_leader(x, ("alice",), [transfer(x, "charlie", "bob", 5 * UNIT)])
    author_as_leader(x, ("alice",))
    author_as_leader(y, ("bob",), [transfer(y, "eve", "bob", 7 * UNIT)])
    for _ in range(3):
        author_as_leader(y, ("bob",))
    x_head, x_root = x.head_hash, x.head.state_root
    assert x.db.kv.get(schema.redo_key(x_head)) is None, "no redo journal while a block is canonical"
    undo = x.db.undo(x_head)
    results = sync(x, y)
    assert x.head_hash == y.head_hash and x.head.state_root == y.head.state_root
    assert bob_free(x) == bob_free(y)
    assert check_invariants(x.state()) == []
    reorg = [r for r in results if r.retracted]
    assert reorg and {b.hash() for b in reorg[0].retracted} >= {x_head}

    # x's old branch stays known (and executed) as a side branch, its redo journal written as it left
    assert x.db.is_executed(x_head)
    assert x.db.redo(x_head).keys() == undo.keys()
    assert x.knows(x_head) and not x.is_canonical(x_head, 2)
    assert x_root != x.head.state_root


def test_reorg_back_uses_redo_journals_and_restores_state():
    x, y, g = pair_of_chains()
    author_as_leader(x, ("alice",), [transfer(x, "charlie", "bob", 5 * UNIT)])
    author_as_leader(y, ("bob",))
    author_as_leader(y, ("bob",))
    x_blocks = [x.db.get_block_bytes(x.db.canonical_hash(1))]
    x_root_1 = x.head.state_root
    sync(x, y)  # y is longer: x reorganises onto y
    assert x.head_hash == y.head_hash
    # now extend x's original branch on a third chain, longer than y, and feed it to x
    z = new_chain(genesis=g)
    z.import_block(x_blocks[0], far_future_ms())
    assert z.head.state_root == x_root_1
    for _ in range(3):
        author_as_leader(z, ("alice", "bob"))
    results = sync(x, z)
    assert x.head_hash == z.head_hash and x.head.state_root == z.head.state_root
    back = [r for r in results if r.retracted]
    assert back, "expected a reorganisation back to the first branch"
    assert any(e.result is None for e in back[0].enacted), "the first branch block came from its redo journal"
    assert check_invariants(x.state()) == []


def test_equal_length_tie_goes_to_the_lower_hash():
    x, y, _ = pair_of_chains()
    a = author_as_leader(x, ("alice",))
    b = author_as_leader(y, ("bob",))
    lower, higher = sorted([a, b], key=lambda i: i.hash)
    z = new_chain(genesis=devnet_genesis(2))
    z.import_block(higher.block.encode(), far_future_ms())
    assert z.head_hash == higher.hash
    assert z.import_block(lower.block.encode(), far_future_ms()).status == "best"
    assert z.head_hash == lower.hash
    assert z.import_block(higher.block.encode(), far_future_ms()).status == "known"
    assert z.head_hash == lower.hash


def test_finality_forbids_reverting_below_it():
    x, y, _ = pair_of_chains()
    author_as_leader(x, ("alice",))
    author_as_leader(x, ("alice",))
    x.finalize(x.head_hash)
    for _ in range(4):
        author_as_leader(y, ("bob",))
    with pytest.raises(ConflictsWithFinality):
        sync(x, y)
    assert x.finalized_hash == x.head_hash


def test_invalid_block_on_a_better_branch_is_rejected_and_head_stays():
    from btt_chain.primitives.block import Block
    from btt_chain.primitives.errors import InvalidBlock

    x, y, _ = pair_of_chains()
    author_as_leader(x, ("alice",))
    y1 = author_as_leader(y, ("bob",))
    y2 = author_as_leader(y, ("bob",))
    forged = y2.block.header.replace(state_root=b"\x09" * 32).sealed(dev_keypair("bob"), y.genesis_hash)
    bad = Block(forged, y2.block.extrinsics)
    head, root = x.head_hash, x.head.state_root
    x.import_block(y1.block.encode(), far_future_ms())
    before = dict(x.db.kv.iterate(b"s:"))
    with pytest.raises(InvalidBlock, match="state root mismatch"):
        x.import_block(bad.encode(), far_future_ms())
    assert x.head.number == 1 and dict(x.db.kv.iterate(b"s:")) == before
    assert x.tree.root == x.head.state_root, "the state tree is the head's again"
    with pytest.raises(InvalidBlock, match="known to be invalid"):
        x.import_block(bad.encode(), far_future_ms())
    assert x.import_block(y2.block.encode(), far_future_ms()).status == "best"
    assert x.head_hash == y2.hash and head != x.head_hash and root != x.head.state_root
    assert x.tree.root == x.head.state_root
