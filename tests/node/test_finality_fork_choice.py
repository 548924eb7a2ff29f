"""The finality service and the chain's fork choice together, on real chains: votes for a checkpoint on a branch this
node does not follow (stored, never executed) are held, the branch is executed once a third of the stake voted, the
checkpoint is justified, and the head moves to that branch although it is shorter (attack 2 of issue 40, where the
longest-chain rule kept half the validators on the other branch for good). And the finality alarm: kept in the
database across a restart, with finality stopped, the offenders reported, and /health and the metric saying so."""

from __future__ import annotations

from pathlib import Path

from btt_chain.consensus.finality import FinalityConflict, FinalityUpdate
from btt_chain.node.chain import Chain, ImportResult
from btt_chain.node.finality_service import FinalityService
from btt_chain.node.health import finality_conflict
from btt_chain.primitives.keys import Keypair, dev_keypair
from btt_chain.primitives.vote import Checkpoint, Justification, Vote, sign_vote
from tests.node.test_finality_sets import checkpoint
from tests.support import stub_node as support
from tests.support.node_builder import author_as_leader, devnet_genesis, far_future_ms, new_chain

E = 5
VALIDATORS = ("alice", "bob", "charlie")


class StubNode(support.StubNode):
    """The support stub, also moving finality on with the head, as `Node` does."""

    def __init__(self, chain: Chain) -> None:
        super().__init__(chain)
        self.moved: list[ImportResult] = []

    def after_head_moved(self, result: ImportResult) -> None:
        self.moved.append(result)
        assert self.finality is not None
        self.finality.on_new_head()

    def fetch_missing_weights(self, prefer: str | None = None) -> None:
        pass

    def next_account_index(self, who: bytes) -> int:
        return len(self.submitted)


def service(chain: Chain, path: Path, key: Keypair | None = None) -> tuple[FinalityService, StubNode]:
    node = StubNode(chain)
    svc = FinalityService(node, key, path)  # type: ignore[arg-type]
    node.finality = svc
    return svc, node


def copy_blocks(dst: Chain, src: Chain, svc: FinalityService | None = None) -> None:
    for n in range(1, src.head.number + 1):
        h = src.db.canonical_hash(n)
        assert h is not None
        raw = src.db.get_block_bytes(h)
        assert raw is not None
        result = dst.import_block(raw, far_future_ms())
        if svc is not None:
            svc.on_new_head() if result.status == "best" else svc.on_blocks_stored()


def test_votes_for_a_shorter_branch_it_never_executed_move_the_head_there(tmp_path: Path) -> None:
    g = devnet_genesis(3, epoch_slots=E)
    x, long_branch, short_branch = (new_chain(genesis=g) for _ in range(3))
    while short_branch.head.slot // E < 2:  # B: into epoch 2, so its epoch-2 checkpoint has a child past it
        author_as_leader(short_branch, ("bob",))
    while long_branch.head.number <= short_branch.head.number + 3:  # A: longer
        author_as_leader(long_branch, ("alice", "charlie"))
    svc, node = service(x, tmp_path / "x.json")
    copy_blocks(x, long_branch, svc)
    copy_blocks(x, short_branch, svc)
    assert x.head_hash == long_branch.head_hash, "the longest chain beneath the anchor (genesis)"
    b2 = checkpoint(short_branch, 2)
    assert not x.db.is_executed(b2.block_hash), "B is stored, not executed: its checkpoint cannot be weighed yet"

    genesis = Checkpoint(0, x.genesis_hash)
    votes = [sign_vote(dev_keypair(n), x.genesis_hash, genesis, b2) for n in VALIDATORS]
    # the first vote carries a third of the stake: B is executed (its head stays A), and the vote counts
    assert svc.on_vote_gossip("peer", votes[0].encode()) is None
    assert x.db.is_executed(b2.block_hash) and x.head_hash == long_branch.head_hash
    assert svc.tracker.votes_for(genesis, b2) == (votes[0],)
    assert svc.on_vote_gossip("peer", votes[1].encode()) is True
    # two thirds: B2 is justified, and the fork choice moves the head beneath it, to B's shorter chain
    assert svc.tracker.state.is_justified(b2)
    assert x.anchor == b2 and x.head_hash == short_branch.head_hash
    assert x.head.state_root == short_branch.head.state_root
    assert node.moved and node.moved[-1].hash == short_branch.head_hash
    # A's blocks keep coming: stored beside, never followed while B2 is the latest justified checkpoint
    author_as_leader(long_branch, ("alice",))
    copy_blocks(x, long_branch, svc)
    assert x.head_hash == short_branch.head_hash
    # and a validator on this node votes from B2, on its own chain
    voter, _ = service(x, tmp_path / "alice.json", dev_keypair("alice"))
    published: list[bytes] = []
    voter.publish_vote = published.append
    epoch = short_branch.head.slot // E + 1
    while short_branch.head.slot // E < epoch:
        author_as_leader(short_branch, VALIDATORS)
    copy_blocks(x, short_branch, voter)
    assert x.head_hash == short_branch.head_hash
    assert voter.tracker.state.is_justified(b2) and published
    vote = Vote.decode(published[-1])
    assert vote.source == b2 and vote.target == checkpoint(short_branch, epoch)


def test_held_votes_of_less_than_a_third_execute_nothing(tmp_path: Path) -> None:
    g = devnet_genesis(3, epoch_slots=E)
    x, long_branch, short_branch = (new_chain(genesis=g) for _ in range(3))
    while short_branch.head.slot // E < 2:
        author_as_leader(short_branch, ("bob",))
    while long_branch.head.number <= short_branch.head.number + 3:
        author_as_leader(long_branch, ("alice", "charlie"))
    svc, _ = service(x, tmp_path / "x.json")
    copy_blocks(x, long_branch, svc)
    copy_blocks(x, short_branch, svc)
    b2 = checkpoint(short_branch, 2)
    stranger = sign_vote(dev_keypair("mallory"), x.genesis_hash, Checkpoint(0, x.genesis_hash), b2)
    assert svc.on_vote_gossip("peer", stranger.encode()) is None
    assert not x.db.is_executed(b2.block_hash), "a key in no set carries no stake: nothing is executed for it"
    # a justification with a forged signature is refused before anything is executed for it
    forged = Justification(b2, Checkpoint(0, x.genesis_hash), tuple(
        sign_vote(dev_keypair(n), x.genesis_hash, Checkpoint(0, x.genesis_hash), b2) for n in VALIDATORS[:2]
    ) + (sign_vote(dev_keypair("charlie"), x.genesis_hash, Checkpoint(0, x.genesis_hash), b2).replace(
        signature=bytes(64)),))
    assert svc.import_justification(forged.encode(), "peer") is False
    assert not x.db.is_executed(b2.block_hash)


def conflict_of(chain: Chain) -> FinalityConflict:
    """A finality conflict with real double votes by alice and bob (2/3 of the stake)."""
    g = Checkpoint(0, chain.genesis_hash)
    x1, y1 = Checkpoint(1, b"\x01" * 32), Checkpoint(1, b"\x02" * 32)
    justifications = tuple(
        Justification(t, g, tuple(sign_vote(dev_keypair(n), chain.genesis_hash, g, t) for n in ("alice", "bob")))
        for t in (x1, y1)
    )
    return FinalityConflict(g, x1, justifications)


def test_the_finality_alarm_is_kept_across_a_restart_and_reports_the_offenders(tmp_path: Path) -> None:
    chain = new_chain(genesis=devnet_genesis(3, epoch_slots=E))
    svc, node = service(chain, tmp_path / "votes.json", dev_keypair("charlie"))
    assert svc.conflict is None
    conflict = conflict_of(chain)
    assert set(conflict.offenders()) == {dev_keypair("alice").public, dev_keypair("bob").public}
    svc.tracker.conflict = conflict
    svc._handle_update(FinalityUpdate(alarm=conflict))
    assert len(node.submitted) == 2, "each offender reported once"
    assert chain.db.finality_conflict() == conflict.encode()

    again, _ = service(chain, tmp_path / "votes.json", dev_keypair("charlie"))  # a restart
    assert again.conflict == conflict and again.tracker.halted

    class HealthNode:
        finality = again

    body = finality_conflict(HealthNode())  # type: ignore[arg-type]
    assert body is not None and body["offenders"] == 2 and "conflicting finalized checkpoints" in body["message"]
