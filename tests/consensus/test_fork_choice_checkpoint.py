"""The fork choice keeps the anchor its epoch's checkpoint on the head's chain: from the anchor's block it follows only
children at or after the first slot of the anchor's epoch, however long a chain through another child is. (Found by
the finality simulation: through a child below that slot, validators that had voted from the anchor found their
latest justified checkpoint on the head's chain an epoch lower, a source their signed record refuses, and with a
third of the stake in that state finality stopped for good.)"""

from __future__ import annotations

from btt_chain.consensus.checkpoints import checkpoint_block_by_walk
from btt_chain.consensus.fork_choice import choose_head, keeps_checkpoint
from btt_chain.consensus.signed_votes import SignedVotes
from btt_chain.consensus.vote_rule import choose_vote
from btt_chain.primitives.vote import Checkpoint

EPOCH_SLOTS = 4

# genesis G (slot 0) -> X (slot 2) -> C (slot 4, epoch 1) -> C2 (slot 8) -> C3 (slot 12)
#                                  -> Z (slot 3, still epoch 0) -> Z2 (5) -> Z3 (6) -> Z4 (9) -> Z5 (10) -> Z6 (13)
BLOCKS = {  # hash: (parent, number, slot)
    b"G": (None, 0, 0), b"X": (b"G", 1, 2), b"C": (b"X", 2, 4), b"C2": (b"C", 3, 8), b"C3": (b"C2", 4, 12),
    b"Z": (b"X", 2, 3), b"Z2": (b"Z", 3, 5), b"Z3": (b"Z2", 4, 6), b"Z4": (b"Z3", 5, 9), b"Z5": (b"Z4", 6, 10),
    b"Z6": (b"Z5", 7, 13),
}
G = Checkpoint(0, b"G")
ANCHOR = Checkpoint(1, b"X")
"""X is epoch 1's checkpoint on C's chain (its child C is in epoch 1), not on Z's (Z is in epoch 0)."""


def head(justified: tuple[Checkpoint, ...], finalized: Checkpoint = G) -> bytes:
    children: dict[bytes, list[bytes]] = {}
    for h, (parent, _, _) in BLOCKS.items():
        if parent is not None:
            children.setdefault(parent, []).append(h)
    return choose_head(justified, finalized, BLOCKS.__contains__, lambda h: children.get(h, []),
                       lambda h: BLOCKS[h][1], slot_of=lambda h: BLOCKS[h][2], epoch_slots=EPOCH_SLOTS)


def checkpoint_on(tip: bytes, epoch: int) -> Checkpoint:
    found = checkpoint_block_by_walk(epoch, tip, lambda h: BLOCKS[h][2], lambda h: BLOCKS[h][0], b"G",
                                     epoch_slots=EPOCH_SLOTS)
    assert found is not None
    return Checkpoint(epoch, found)


def test_the_head_stays_where_the_anchor_is_its_epochs_checkpoint():
    assert head((G,)) == b"Z6"  # from genesis the longest chain wins
    chosen = head((G, ANCHOR))
    assert chosen == b"C3"  # not Z6, three blocks longer, on whose chain epoch 1's checkpoint is Z
    assert checkpoint_on(chosen, 1) == ANCHOR
    assert checkpoint_on(b"Z6", 1) == Checkpoint(1, b"Z")


def test_a_validator_that_voted_from_the_anchor_votes_again():
    # it voted G -> X in epoch 1 and, X justified, X -> C in epoch 2 (which fell short of 2/3)
    record = SignedVotes().with_vote(G, ANCHOR).with_vote(ANCHOR, Checkpoint(2, b"C"))
    chosen = head((G, ANCHOR))
    choice = choose_vote(3, lambda e: checkpoint_on(chosen, e), (G, ANCHOR), record)
    assert choice.link == (ANCHOR, Checkpoint(3, b"C2"))
    # on Z6's chain the only justified checkpoint is genesis, a source its record refuses for good
    stuck = choose_vote(3, lambda e: checkpoint_on(b"Z6", e), (G, ANCHOR), record)
    assert stuck.link is None and "source epoch 1" in (stuck.reason or "")


def test_keeps_checkpoint_is_the_epochs_first_slot():
    assert keeps_checkpoint(ANCHOR, 4, EPOCH_SLOTS) and keeps_checkpoint(ANCHOR, 9, EPOCH_SLOTS)
    assert not keeps_checkpoint(ANCHOR, 3, EPOCH_SLOTS)
    assert keeps_checkpoint(G, 1, EPOCH_SLOTS)  # genesis anchors every child
