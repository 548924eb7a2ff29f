"""When a validator votes: once per epoch, `vote_delay` slots into the head's epoch, by the head's slot or by the
clock's, whichever comes first (`vote_rule.voting_epoch`); the author loop's call at each slot (`on_slot`) casts a vote
that comes due with no block. A fork at an epoch's boundary, settled by the longest chain within a slot or two, then
splits no votes: a vote cast at the first block of the epoch could name a target the chain left a slot later."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from btt_chain.consensus.checkpoints import checkpoint_for_epoch
from btt_chain.consensus.vote_rule import VOTE_DELAY_SLOTS, vote_delay, voting_epoch
from btt_chain.node.chain import Chain
from btt_chain.node.finality_service import FinalityService
from btt_chain.primitives.keys import dev_keypair
from btt_chain.primitives.vote import Vote
from tests.node.test_finality_sets import canonical_header
from tests.support.node_builder import author_as_leader, devnet_genesis, new_chain
from tests.support.stub_node import StubNode

E = 5
VALIDATORS = ("alice", "bob", "charlie")


class ClockedNode(StubNode):
    """A stub node whose clock the test sets to a slot's start."""

    def __init__(self, chain: Chain) -> None:
        super().__init__(chain)
        self.slot = 0

    def now_ms(self) -> int:
        return self.chain.clock.slot_start_ms(self.slot)


def test_the_delay_is_two_slots_within_the_epoch() -> None:
    assert VOTE_DELAY_SLOTS == 2
    assert [vote_delay(n) for n in (1, 2, 3, 5, 20, 600)] == [0, 1, 2, 2, 2, 2]


@pytest.mark.parametrize(("head", "clock", "expected"), [
    (10, 10, None),  # the first block of epoch 2, the clock there too: not yet
    (10, 11, None),
    (10, 12, 2),  # the clock two slots in
    (12, 12, 2),  # the head two slots in
    (11, 12, 2),
    (10, 27, 2),  # a head behind the clock (catching up): its own epoch, at once
    (14, 14, 2),
    (3, 40, None),  # epoch 0 has no vote (genesis is justified)
    (15, 15, None),  # the next epoch's first slot
])
def test_a_vote_is_due_two_slots_into_the_heads_epoch(head: int, clock: int, expected: int | None) -> None:
    assert voting_epoch(head, clock, E, vote_delay(E)) == expected


@given(st.integers(0, 10_000), st.integers(0, 10_000), st.integers(1, 50))
def test_the_voting_epoch_is_the_heads_and_never_before_its_delay(head: int, clock: int, epoch_slots: int) -> None:
    delay = vote_delay(epoch_slots)
    epoch = voting_epoch(head, clock, epoch_slots, delay)
    if epoch is not None:
        assert epoch == head // epoch_slots >= 1
        assert max(head, clock) >= epoch * epoch_slots + delay
    else:
        assert head // epoch_slots == 0 or max(head, clock) < (head // epoch_slots) * epoch_slots + delay


def author_to_slot(chain: Chain, slot: int) -> None:
    """Blocks up to the first one at `slot` or later (the three validators lead every slot between them)."""
    while chain.head.slot < slot:
        author_as_leader(chain, VALIDATORS)


def test_a_validator_votes_two_slots_into_the_epoch_by_the_clock_or_by_the_head(tmp_path: Path) -> None:
    chain = new_chain(genesis=devnet_genesis(3, epoch_slots=E))
    node = ClockedNode(chain)
    alice = FinalityService(node, dev_keypair("alice"), tmp_path / "votes.json")  # type: ignore[arg-type]
    published: list[Vote] = []
    alice.publish_vote = lambda raw: published.append(Vote.decode(raw))

    author_to_slot(chain, E)  # the first block of epoch 1
    node.slot = chain.head.slot
    alice.on_new_head()
    assert published == [], "a vote at the first block of the epoch"
    node.slot += 1
    alice.on_slot()
    assert published == []
    node.slot = E + VOTE_DELAY_SLOTS  # no new block: the author loop's call at the slot's start votes
    alice.on_slot()
    (first,) = published
    assert first.target == checkpoint_for_epoch(1, canonical_header(chain), chain.head.number, epoch_slots=E)
    for _ in range(3):
        alice.on_slot()
        alice.on_new_head()
    assert len(published) == 1, "one vote an epoch"

    author_to_slot(chain, 2 * E + VOTE_DELAY_SLOTS)  # epoch 2: the head itself two slots in, the clock behind it
    node.slot = 2 * E
    alice.on_new_head()
    assert [v.target.epoch for v in published] == [1, 2]

    author_to_slot(chain, 3 * E)  # epoch 3's first block, then the clock far ahead (a node catching up)
    node.slot = 7 * E
    alice.on_new_head()
    assert [v.target.epoch for v in published] == [1, 2, 3]


def test_a_head_whose_checkpoint_is_below_the_oldest_block_held_votes_in_no_epoch_and_raises_nothing(
        tmp_path: Path) -> None:
    """A node warp-synced to the last block before an epoch (the base of its database) whose clock is past the delay:
    the head's epoch has a checkpoint below every block it holds, so there is nothing to vote for (the author loop's
    call found it first and raised, 2026-11-29's clean-clone run); it votes in the next epoch as any node does."""
    chain = new_chain(genesis=devnet_genesis(3, epoch_slots=E))
    node = ClockedNode(chain)
    alice = FinalityService(node, dev_keypair("alice"), tmp_path / "votes.json")  # type: ignore[arg-type]
    published: list[Vote] = []
    alice.publish_vote = lambda raw: published.append(Vote.decode(raw))
    author_to_slot(chain, 2 * E)
    chain.lowest_number = chain.head.number  # as a database warp-synced to this block holds nothing below it
    node.slot = 2 * E + VOTE_DELAY_SLOTS + 3
    alice.on_slot()
    alice.on_new_head()
    assert published == []
    chain.lowest_number = 0
    author_to_slot(chain, 3 * E + VOTE_DELAY_SLOTS)
    node.slot = chain.head.slot
    alice.on_new_head()
    assert [v.target.epoch for v in published] == [3], "epoch 2 was passed by for good; epoch 3 voted"
