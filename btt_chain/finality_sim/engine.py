"""Runs one schedule: honest nodes, the adversary and the network on one clock, then hands the checks an `Outcome`.

Each slot's leader (drawn by stake from the slot's epoch set, or scripted) acts at the slot's first tick: an honest
leader whose node is up builds on its head and gossips the block; an offline one skips; a Byzantine one is the
adversary's. Every node pulls from a random reachable up peer every `pull_every` ticks (the peer's canonical blocks
when it does not know the peer's head, and the latest justifications stored beside them). Votes a node signs are
gossiped once, to every other node. A message that reaches a node that is down is lost.

An honest-majority run stops one epoch after every honest node has finalized a checkpoint past the GST epoch, or at
the schedule's last epoch; a >= 1/3 Byzantine run goes to its last epoch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from btt_chain.consensus.signing_gate import WatchState
from btt_chain.finality_sim.adversary import Adversary
from btt_chain.finality_sim.blocks import BlockTree, SimBlock, genesis_block
from btt_chain.finality_sim.network import ADVERSARY, DELIVER, LEAD, PULL, RESTART, Network
from btt_chain.finality_sim.node import NodeRecord, Rules, RunSetup, SimNode
from btt_chain.finality_sim.schedule import OBSERVER_BASE, Schedule
from btt_chain.node.sync import CONFLICT_PROBE_BACK
from btt_chain.primitives.vote import Checkpoint, Justification, Vote


@dataclass(frozen=True)
class Outcome:
    """What a run leaves for the checks."""

    schedule: Schedule
    epochs_run: int
    setup: RunSetup
    tree: BlockTree
    """Every block made."""
    records: dict[int, NodeRecord]
    """By honest node id."""
    heads: dict[int, bytes]
    finalized: dict[int, Checkpoint]
    """Each honest node's finalized checkpoint at the end."""
    refusals: dict[int, str]
    """Honest validators whose doppelganger watch refused to sign for good, and what it saw (there is no second
    instance here: any is a false alarm)."""


class Simulation:
    """One run of one schedule (with the node's rules, or `rules`)."""

    def __init__(self, schedule: Schedule, rules: Rules | None = None) -> None:
        self.schedule = schedule
        s = schedule
        genesis = genesis_block(s.seed)
        self.setup = RunSetup(genesis, s.sets(), s.epoch_slots, s.slot_ticks, rules or Rules(), s.vote_delay,
                              tuple((k.epoch, k.validator) for k in s.rotations if not k.fork_only))
        self.net = Network(s)
        self.tree = BlockTree(genesis, s.epoch_slots)
        self.order = list(s.node_ids())
        self.nodes = {n: SimNode(n, None if n >= OBSERVER_BASE else n, self.setup) for n in self.order}
        self.adversary = Adversary(self)

    # the run -------------------------------------------------------------------------------------------------------
    def run(self, observe: Callable[[Simulation, int], None] | None = None) -> Outcome:
        """Run the schedule; `observe(self, epoch)` is called at the end of every epoch (scenarios take snapshots)."""
        s, net = self.schedule, self.net
        for slot in range(1, s.epochs * s.epoch_slots):
            net.at(slot * s.slot_ticks, LEAD, partial(self._lead, slot))
        due = s.vote_delay * s.slot_ticks
        for epoch in range(1, s.epochs):
            net.at(epoch * s.epoch_ticks + s.slot_ticks, ADVERSARY, partial(self.adversary.vote, epoch))
            for n in self.order:  # the author loop's call at the slot a vote is due (after that slot's leader)
                net.at(epoch * s.epoch_ticks + due, PULL, partial(self._vote_due, n))
        for n in self.order:
            net.at(1 + net.draw("pull-phase", n) % s.pull_every, PULL, partial(self._pull, n))
        for r in s.restarts:
            net.at(r.down, RESTART, self.nodes[r.node].crash)
            net.at(r.up, RESTART, partial(self._restart, r.node, r.lose))
        epochs_run = s.epochs
        for epoch in range(s.epochs):
            net.run((epoch + 1) * s.epoch_ticks)
            if observe is not None:
                observe(self, epoch)
            if not s.byzantine_third and self._all_passed(epoch):
                epochs_run = epoch + 1
                break
        return Outcome(
            s, epochs_run, self.setup, self.tree, {n: node.record for n, node in self.nodes.items()},
            {n: node.head for n, node in self.nodes.items()},
            {n: node.tracker.finalized for n, node in self.nodes.items()},
            {n: str(node.watch.sighting) for n, node in self.nodes.items()
             if node.watch is not None and node.watch.sighting is not None},
        )

    def _all_passed(self, epoch: int) -> bool:
        """Every honest node finalized past the GST epoch at least one whole epoch before the end of `epoch`."""
        s = self.schedule
        for node in self.nodes.values():
            done = node.record.finalized_past(s.gst_epoch)
            if done is None or done // s.epoch_ticks >= epoch:
                return False
        return True

    # blocks ------------------------------------------------------------------------------------------------------
    def made(self, block: SimBlock) -> None:
        """Every block made goes into the simulation's own tree (what the checks and the adversary read)."""
        self.tree.add(block)

    def _lead(self, slot: int) -> None:
        v = self.schedule.leader_of(slot, self.setup.sets)
        if v is None:
            return
        if v in self.setup.sets.byzantine:
            self.adversary.lead(slot, v)
            return
        node = self.nodes.get(v)
        if node is None or not node.up:
            return  # an offline leader skips its slot
        block, votes = node.propose(slot, self.net.now)
        if block is None:
            return
        self.made(block)
        for dst in self.order:
            if dst != node.id:
                self.deliver_block_at(self.net.arrival("block", block.hash, node.id, dst), dst, block)
        self._gossip(node.id, votes)

    def deliver_block_at(self, tick: int | None, dst: int, block: SimBlock) -> None:
        if tick is not None:
            self.net.at(tick, DELIVER, partial(self._take_block, dst, block))

    def _take_block(self, dst: int, block: SimBlock) -> None:
        node = self.nodes[dst]
        if node.up:
            self._gossip(dst, node.take_block(block, self.net.now))

    # votes -------------------------------------------------------------------------------------------------------
    def _gossip(self, src: int, votes: list[Vote]) -> None:
        for vote in votes:
            for dst in self.order:
                if dst != src:
                    self.deliver_vote_at(self.net.arrival("vote", vote.signature, src, dst), dst, vote)

    def deliver_vote_at(self, tick: int | None, dst: int, vote: Vote) -> None:
        if tick is not None:
            self.net.at(tick, DELIVER, partial(self._take_vote, dst, vote))

    def _take_vote(self, dst: int, vote: Vote) -> None:
        node = self.nodes[dst]
        if node.up:
            self._gossip(dst, node.take_vote(vote, self.net.now))

    # sync and restarts ---------------------------------------------------------------------------------------------
    def _pull(self, n: int) -> None:
        s, net = self.schedule, self.net
        now = net.now
        if now + s.pull_every < s.end_tick:
            net.at(now + s.pull_every, PULL, partial(self._pull, n))
        node = self.nodes[n]
        if not node.up:
            return
        peers = [p for p in self.order if p != n and self.nodes[p].up and net.reachable(n, p, now)]
        if not peers:
            return
        self._probe(node, peers)
        peer = self.nodes[peers[net.draw("peer", n, now) % len(peers)]]
        if node.watch is not None and node.watch.state(now // s.slot_ticks) is WatchState.WATCHING:
            held = peer.own_votes(node.keys)  # while it watches, a validator asks for the votes of its keys
            tick = net.arrival("sync", b"held" + now.to_bytes(8, "big"), peer.id, n)
            if tick is not None and held:
                net.at(tick, DELIVER, partial(self._take_held, n, held))
        blocks, found = peer.serve_sync(node.tree.__contains__)
        # what it stored already changes nothing
        fresh = [j for j in found if node.store.get(j.target.block_hash, {}).get(j.target.epoch) != j]
        if not blocks and not fresh:
            return
        tick = net.arrival("sync", now.to_bytes(8, "big"), peer.id, n)
        if tick is not None:
            net.at(tick, DELIVER, partial(self._take_sync, n, blocks, fresh))

    def _probe(self, node: SimNode, peers: list[int]) -> None:
        """The node's sync round also asks every reachable peer's status: a peer whose finalized checkpoint it cannot
        place on its own finalized chain has its justifications read, from a few epochs below ours up, once per claim
        and finalized checkpoint of ours (`NetworkBridge._probe_conflict`)."""
        for p in peers:
            peer = self.nodes[p]
            claim = peer.tracker.finalized
            tag = (p, claim, node.tracker.finalized)
            if tag in node.probed or not node.doubts(claim):
                continue
            node.probed.add(tag)
            found = peer.justifications_from(max(0, node.tracker.finalized.epoch - CONFLICT_PROBE_BACK))
            blocks, _ = peer.serve_sync(node.tree.__contains__)
            tick = self.net.arrival("sync", b"probe" + self.net.now.to_bytes(8, "big"), p, node.id)
            if tick is not None and found:
                self.net.at(tick, DELIVER, partial(self._take_probe, node.id, blocks, found, peer.key_authorizations()))

    def _take_held(self, n: int, votes: list[Vote]) -> None:
        node = self.nodes[n]
        if node.up:
            node.fold_peer_votes(votes)

    def _take_probe(self, n: int, blocks: list[SimBlock], found: list[Justification],
                    authorizations: dict[bytes, int]) -> None:
        """A probe's answer: the peer's chain as far as this node lacks it (the node keeps the headers of a branch its
        finality refuses, so it can tell where that branch's checkpoints are), its justifications, and the key
        authorizations it holds (`keys/auth`: the node asks for those of the keys it cannot place; the simulated peer
        sends all of its chain's)."""
        node = self.nodes[n]
        if node.up:
            node.authorized.update(authorizations)
            self._gossip(n, node.take_sync(blocks, found, self.net.now))

    def _take_sync(self, n: int, blocks: list[SimBlock], found: list[Justification]) -> None:
        node = self.nodes[n]
        if node.up:
            self._gossip(n, node.take_sync(blocks, found, self.net.now))

    def _vote_due(self, n: int) -> None:
        self._gossip(n, self.nodes[n].on_slot(self.net.now))

    def _restart(self, n: int, lose: str) -> None:
        self._gossip(n, self.nodes[n].restart(self.net.now, lose))
