"""A flood of votes by made-up keys for a made-up checkpoint at our finalized epoch, through the node's vote gossip
handler (`FinalityService.on_vote_gossip`): every one is dropped (before its signature is checked) and nothing is
kept. Its sender is not blamed: an honest relay on a fork may pass on a vote of a key rotated only there.

Before, each was kept (a link's keys had no bound), re-weighed every vote of its link (3,000 took 19 s of the event
loop), and its sender was never blamed. A validator's vote for the same link is still kept, unblamed (it is evidence
when finality forks)."""

from __future__ import annotations

from pathlib import Path

from btt_chain.primitives.hashing import blake2b_256
from btt_chain.primitives.keys import Keypair, dev_keypair
from btt_chain.primitives.vote import Checkpoint, sign_vote
from tests.node.test_finality_conflict_probe import finalize_ours
from tests.node.test_sync_branches import chain_of, start_node

FLOOD = 600


def test_a_flood_of_conflicting_votes_by_unknown_keys_is_dropped_and_kept_nowhere(tmp_path: Path) -> None:
    node = start_node(tmp_path)
    try:
        finalize_ours(node, chain_of(16, ("alice",)))
        tracker = node.finality.tracker
        g = Checkpoint(0, node.chain.genesis_hash)
        made_up = Checkpoint(tracker.finalized.epoch, blake2b_256(b"no such block"))
        votes = [sign_vote(Keypair(blake2b_256(b"spam/%d" % n)), node.chain.genesis_hash, g, made_up).encode()
                 for n in range(FLOOD)]
        answers = {node.finality.on_vote_gossip("12D3KooWSpammer", raw) for raw in votes}
        assert answers == {None}  # dropped, not forwarded, nobody blamed
        assert tracker.conflicting_votes_for(g, made_up) == ()
        alice = sign_vote(dev_keypair("alice"), node.chain.genesis_hash, g, made_up)
        assert node.finality.on_vote_gossip("12D3KooWValidator", alice.encode()) is None  # kept, not forwarded
        assert tracker.conflicting_votes_for(g, made_up) == (alice,)
    finally:
        node.close()
