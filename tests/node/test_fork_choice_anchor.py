"""The chain's fork choice from the latest justified checkpoint: the head is the best block beneath the anchor, a
longer branch that leaves it stays a side branch, moving the anchor moves the head (to a shorter branch if need be),
the incremental rule on import equals `fork_choice.choose_head` over any tree, and a side branch executes without
moving the head so that finality can weigh votes for its checkpoints."""

from __future__ import annotations

import random

import pytest

from btt_chain.consensus.fork_choice import best_descendant
from btt_chain.node.chain import Chain
from btt_chain.primitives.block import Block, Header
from btt_chain.primitives.errors import InvalidBlock
from btt_chain.primitives.keys import dev_keypair
from runtime.invariants import check_invariants
from runtime.system import storage as system
from tests.support.node_builder import UNIT, author_as_leader, devnet_genesis, far_future_ms, new_chain, transfer


def chains(n: int = 3) -> list[Chain]:
    g = devnet_genesis(2)
    return [new_chain(genesis=g) for _ in range(n)]


def copy_blocks(dst: Chain, src: Chain) -> None:
    for n in range(1, src.head.number + 1):
        h = src.db.canonical_hash(n)
        assert h is not None
        raw = src.db.get_block_bytes(h)
        assert raw is not None
        dst.import_block(raw, far_future_ms())


def choose_head_over(chain: Chain) -> bytes:
    """`choose_head`'s answer over the chain's tree of blocks, from the chain's anchor."""
    children: dict[bytes, list[bytes]] = {}
    for h in chain._nodes:
        children.setdefault(chain._nodes[h].parent, []).append(h)
    return best_descendant(chain.anchor, lambda h: children.get(h, ()), lambda h: chain._nodes[h].number)


def test_a_longer_branch_off_the_anchor_stays_a_side_branch_and_the_anchor_moves_the_head() -> None:
    x, a, b = chains()
    author_as_leader(b, ("bob",), [transfer(b, "eve", "bob", 7 * UNIT)])  # branch B: 2 blocks
    author_as_leader(b, ("bob",))
    for _ in range(4):  # branch A: 4 blocks
        author_as_leader(a, ("alice",))
    copy_blocks(x, b)
    b2 = x.head_hash
    assert x.set_anchor(b2) is None  # already the head: nothing moves
    copy_blocks(x, a)
    assert x.head_hash == b2, "the longer branch A leaves the anchor: it is stored, not followed"
    assert x.knows(a.head_hash) and not x.db.is_executed(a.head_hash)
    # a checkpoint of A is justified: the head moves to A's best block beneath it
    a1 = a.db.canonical_hash(1)
    assert a1 is not None
    result = x.set_anchor(a1)
    assert result is not None and x.head_hash == a.head_hash
    assert {blk.hash() for blk in result.retracted} == {b.db.canonical_hash(1), b2}
    assert x.head.state_root == a.head.state_root and check_invariants(x.state()) == []
    # and back to the shorter branch B when a later checkpoint there is justified: state follows exactly
    result = x.set_anchor(b2)
    assert result is not None and x.head_hash == b2 and x.head.state_root == b.head.state_root
    bob = dev_keypair("bob").public
    assert system.account.get(x.state(), bob).free == system.account.get(b.state(), bob).free
    # a block extending A is side while the anchor is on B; one extending B is best
    author_as_leader(a, ("alice",))
    copy_blocks(x, a)
    assert x.head_hash == b2
    author_as_leader(b, ("bob",))
    copy_blocks(x, b)
    assert x.head_hash == b.head_hash


def test_an_unknown_or_finalized_away_anchor_is_ignored() -> None:
    x, a, _ = chains()
    for _ in range(2):
        author_as_leader(a, ("alice",))
    copy_blocks(x, a)
    head = x.head_hash
    assert x.set_anchor(b"\x77" * 32) is None and x.head_hash == head and x.anchor == x.finalized_hash


def test_the_incremental_rule_equals_choose_head_over_random_trees() -> None:
    """Blocks of several branches arrive in a random order while the anchor moves at random: after every step the
    chain's head is `choose_head`'s answer over its tree of blocks."""
    rnd = random.Random(40)
    g = devnet_genesis(2)
    for _round in range(3):
        sources = [new_chain(genesis=g) for _ in range(3)]
        for i, src in enumerate(sources):
            for _ in range(rnd.randint(1, 5)):
                author_as_leader(src, ("alice", "bob") if i % 2 else ("bob", "alice"))
        blocks: list[bytes] = []
        for src in sources:
            for n in range(1, src.head.number + 1):
                h = src.db.canonical_hash(n)
                assert h is not None
                raw = src.db.get_block_bytes(h)
                assert raw is not None
                blocks.append(raw)
        x = new_chain(genesis=g)
        pending = list(blocks)
        rnd.shuffle(pending)
        while pending:
            raw = pending.pop(0)
            parent = Block.decode(raw).header.parent_hash
            if not x.knows(parent):
                pending.append(raw)
                continue
            x.import_block(raw, far_future_ms())
            assert x.head_hash == choose_head_over(x)
            if rnd.random() < 0.3:
                x.set_anchor(rnd.choice(list(x._nodes)))
                assert x.head_hash == choose_head_over(x)
                assert x.is_under_anchor(x.head_hash)


def test_a_side_branch_executes_without_moving_the_head_and_is_enacted_from_its_journals() -> None:
    x, a, b = chains()
    author_as_leader(a, ("alice",), [transfer(a, "charlie", "bob", 5 * UNIT)])
    author_as_leader(a, ("alice",))
    for _ in range(3):
        author_as_leader(b, ("bob",))
    copy_blocks(x, b)
    copy_blocks(x, a)  # A is shorter: stored, not executed
    head, root = x.head_hash, x.head.state_root
    bob = dev_keypair("bob").public
    free = system.account.get(x.state(), bob).free
    tip = a.head_hash
    assert x.db.voter_set_hash(tip) is None
    assert x.execute_side_branch(tip) is True
    assert x.head_hash == head and x.head.state_root == root and x.tree.root == root
    assert system.account.get(x.state(), bob).free == free
    assert x.db.voter_set_hash(tip) == a.db.voter_set_hash(tip), "the side block's validator set is recorded"
    assert x.db.is_executed(tip) and not x.is_canonical(tip, 2)
    assert x.execute_side_branch(tip) is False, "once executed, nothing more to do"
    # when the fork choice goes there, the branch is enacted from its redo journals to the same state
    result = x.set_anchor(a.db.canonical_hash(1) or b"")
    assert result is not None and x.head_hash == tip and x.head.state_root == a.head.state_root
    assert all(e.result is None for e in result.enacted), "enacted from the journals written at side execution"
    assert check_invariants(x.state()) == []


def test_an_invalid_side_block_is_forgotten_and_nothing_is_kept() -> None:
    x, a, b = chains()
    for _ in range(3):
        author_as_leader(b, ("bob",))
    author_as_leader(a, ("alice",))
    good = a.db.get_block(a.head_hash)
    assert good is not None
    copy_blocks(x, b)
    # a sealed block on A with a wrong state root: its header is checked on import (side), its body only on execution
    pair = dev_keypair("alice")
    h = good.header
    bad_header = Header(h.parent_hash, h.number, h.slot, h.timestamp_ms, b"\x13" * 32, h.extrinsics_root,
                        h.receipts_root, h.author, h.digest).sealed(pair, x.genesis_hash)
    bad = Block(bad_header, good.extrinsics)
    assert x.import_block(bad.encode(), far_future_ms()).status == "side"
    head, root = x.head_hash, x.head.state_root
    with pytest.raises(InvalidBlock):
        x.execute_side_branch(bad.hash())
    assert x.head_hash == head and x.tree.root == root
    assert not x.db.is_executed(bad.hash()) and not x.is_above_finalized(bad.hash())
    with pytest.raises(InvalidBlock):
        x.import_block(bad.encode(), far_future_ms())
