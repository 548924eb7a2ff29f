"""The chain's fork choice from the latest justified checkpoint: the head is the best block beneath the anchor, a
longer branch that leaves it stays a side branch, moving the anchor moves the head (to a shorter branch if need be),
the incremental rule on import equals `fork_choice.choose_head` over any tree, and a side branch executes without
moving the head so that finality can weigh votes for its checkpoints."""

from __future__ import annotations

import random

import pytest

from btt_chain.consensus.fork_choice import choose_head
from btt_chain.node.chain import Chain
from btt_chain.primitives.block import Block, Header
from btt_chain.primitives.errors import InvalidBlock
from btt_chain.primitives.keys import dev_keypair
from btt_chain.primitives.vote import Checkpoint
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
    """`choose_head`'s answer over the chain's tree of blocks, with the chain's anchor the only justified checkpoint."""
    children: dict[bytes, list[bytes]] = {}
    for h in chain._nodes:
        children.setdefault(chain._nodes[h].parent, []).append(h)
    return choose_head([chain.anchor], Checkpoint(0, chain.finalized_hash), chain.is_above_finalized,
                       lambda h: children.get(h, ()), lambda h: chain._nodes[h].number,
                       slot_of=lambda h: chain._nodes[h].slot, epoch_slots=chain.clock.epoch_slots)


def anchor_at(chain: Chain, block_hash: bytes | None) -> Checkpoint:
    """The checkpoint `block_hash` is for the epoch after its own slot's (as a justified one would be)."""
    assert block_hash is not None
    header = chain.db.get_header(block_hash)
    assert header is not None
    return Checkpoint(header.slot // chain.clock.epoch_slots + 1, block_hash)


def test_a_longer_branch_off_the_anchor_stays_a_side_branch_and_the_anchor_moves_the_head() -> None:
    x, a, b = chains()
    author_as_leader(b, ("bob",), [transfer(b, "eve", "bob", 7 * UNIT)])  # branch B: 2 blocks
    author_as_leader(b, ("bob",))
    for _ in range(4):  # branch A: 4 blocks
        author_as_leader(a, ("alice",))
    copy_blocks(x, b)
    b2 = x.head_hash
    assert x.set_anchor(anchor_at(x, b2)) is None  # already the head: nothing moves
    copy_blocks(x, a)
    assert x.head_hash == b2, "the longer branch A leaves the anchor: it is stored, not followed"
    assert x.knows(a.head_hash) and not x.db.is_executed(a.head_hash)
    # a checkpoint of A is justified: the head moves to A's best block beneath it
    a1 = a.db.canonical_hash(1)
    assert a1 is not None
    result = x.set_anchor(Checkpoint(0, a1))
    assert result is not None and x.head_hash == a.head_hash
    assert {blk.hash() for blk in result.retracted} == {b.db.canonical_hash(1), b2}
    assert x.head.state_root == a.head.state_root and check_invariants(x.state()) == []
    # and back to the shorter branch B when a later checkpoint there is justified: state follows exactly
    result = x.set_anchor(anchor_at(x, b2))
    assert result is not None and x.head_hash == b2 and x.head.state_root == b.head.state_root
    bob = dev_keypair("bob").public
    assert system.account.get(x.state(), bob).free == system.account.get(b.state(), bob).free
    # a block extending A is side while the anchor is on B; one extending B is best
    author_as_leader(a, ("alice",))
    copy_blocks(x, a)
    assert x.head_hash == b2
    author_as_leader(b, ("bob",), from_slot=x.anchor.epoch * x.clock.epoch_slots)  # b2 stays epoch's checkpoint
    copy_blocks(x, b)
    assert x.head_hash == b.head_hash


def test_an_unknown_or_finalized_away_anchor_is_ignored() -> None:
    x, a, _ = chains()
    for _ in range(2):
        author_as_leader(a, ("alice",))
    copy_blocks(x, a)
    head = x.head_hash
    assert x.set_anchor(Checkpoint(3, b"\x77" * 32)) is None and x.head_hash == head
    assert x.anchor == Checkpoint(0, x.finalized_hash)


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
                block = rnd.choice(list(x._nodes))
                x.set_anchor(Checkpoint(rnd.choice([0, anchor_at(x, block).epoch, anchor_at(x, block).epoch + 1]),
                                        block))
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
    result = x.set_anchor(Checkpoint(0, a.db.canonical_hash(1) or b""))
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


def author_from(chain: Chain, first_slot: int) -> bytes:
    """Author a block at the first slot from `first_slot` on that a dev validator leads; its hash."""
    pairs = {dev_keypair(n).public: dev_keypair(n) for n in ("alice", "bob")}
    for slot in range(max(first_slot, chain.head.slot + 1), first_slot + 50):
        leader = chain.leader(slot)
        if leader in pairs:
            return chain.author_block(slot, pairs[leader], [])[0].hash
    raise AssertionError("no leader soon")


def test_beneath_the_anchor_only_chains_that_keep_it_its_epochs_checkpoint_are_followed() -> None:
    """The anchor (e, B) is the checkpoint of epoch e only on chains whose block after B starts at or after e's first
    slot. A longer branch through a child of B still in epoch e-1 is not followed: on it, a validator's source would
    fall below B, a vote its signed record may refuse (found by the finality simulation)."""
    g = devnet_genesis(2, epoch_slots=5)
    base, early, late, x = (new_chain(genesis=g) for _ in range(4))
    author_from(base, 1)
    for c in (early, late, x):
        copy_blocks(c, base)
    b = base.head_hash
    assert base.head.slot < 4
    author_from(early, base.head.slot + 1)  # B's child in epoch 0 (if a leader is found before slot 5)
    assert early.head.slot < 5, "the test needs a child of B in B's epoch"
    for _ in range(4):
        author_from(early, early.head.slot + 1)
    author_from(late, 5)  # B's child in epoch 1
    copy_blocks(x, early)
    copy_blocks(x, late)
    assert x.head_hash == early.head_hash, "anchored at genesis: the longest chain"
    x.set_anchor(Checkpoint(1, b))
    assert x.head_hash == late.head_hash, "B is epoch 1's checkpoint only on the late branch"
    assert x.head_hash == choose_head_over(x)
    assert not x.is_under_anchor(early.head_hash)
    # anchored at B as the checkpoint of its own epoch, both branches keep it: the longer one again
    x.set_anchor(Checkpoint(0, b))
    assert x.head_hash == early.head_hash
