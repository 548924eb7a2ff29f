"""The Byzantine validators: one coordinated, omniscient adversary that sees every block and every honest node's
state and holds every Byzantine key. It needs no node of its own.

When a Byzantine validator leads a slot it builds on the head most honest nodes hold and sends the block to everyone,
unless the schedule's `BlockAction` for the slot says to skip it, to withhold it (extending its private chain, released
to everyone or to half of the nodes some ticks later), or to equivocate (two blocks for the slot on different
parents, or one per partition group on that group's head, each sent to its own half). Its blocks include the honest
validators' due key rotations like any leader's; its own `fork_only` rotations go only into the block it sends to the
first group of an equivocation, so the Byzantine validators sign with new keys on that side and old keys on the other.

One slot into every epoch each Byzantine validator of the epoch's set votes like an honest node would (the real vote
rule over a random up honest node's state, ignoring its own record), unless its `VoteAction` says to abstain, to double
vote (two targets of the epoch, or two sources for one, each sent to half of the nodes), to surround its own earlier
vote, to vote a link whose source is not on its target's chain, to release its vote late, to send it to half of the
nodes, or to mirror (in each partition group, or among the nodes of each head, the link those nodes would vote, sent
to them only: with 1/3 of the stake that finalizes conflicting forks).
"""

from __future__ import annotations

from collections import Counter
from functools import partial
from typing import TYPE_CHECKING

from btt_chain.consensus.signed_votes import SignedVotes
from btt_chain.consensus.vote_rule import Link, choose_vote
from btt_chain.finality_sim.blocks import SimBlock, child_block, due_rotations, generations
from btt_chain.finality_sim.network import ADVERSARY
from btt_chain.finality_sim.node import SimNode
from btt_chain.finality_sim.validators import validator_key
from btt_chain.primitives.vote import Checkpoint, sign_vote

if TYPE_CHECKING:
    from btt_chain.finality_sim.engine import Simulation


class Adversary:
    """The Byzantine validators of one run (see the module docstring)."""

    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        self.block_actions = {a.slot: a for a in sim.schedule.block_actions}
        self.vote_actions = {(a.epoch, a.validator): a for a in sim.schedule.vote_actions}
        self.private: list[SimBlock] = []
        """Withheld blocks not released yet, a chain, oldest first."""
        self.links: dict[int, list[Link]] = {}
        """The links each Byzantine validator signed."""
        self.fork_rotations = tuple((k.epoch, k.validator) for k in sim.schedule.rotations if k.fork_only)
        """(epoch, validator) of the Byzantine rotations included on one side only."""

    # who is where --------------------------------------------------------------------------------------------
    def _up(self, nodes: list[int] | None = None) -> list[SimNode]:
        sim = self.sim
        return [sim.nodes[n] for n in (sim.order if nodes is None else nodes) if sim.nodes[n].up]

    def _common_head(self, nodes: list[SimNode]) -> SimBlock:
        """The head most of `nodes` hold (ties to the lower hash); genesis if there are none."""
        tree = self.sim.tree
        if not nodes:
            return tree.genesis
        counts = Counter(n.head for n in nodes)
        best = max(counts, key=lambda h: (counts[h], -int.from_bytes(h, "big")))
        return tree.blocks[best]

    def _groups(self, *salt: bytes | int | str) -> list[list[int]]:
        """The active partition's groups, or a random split of the nodes in two (drawn with `salt`)."""
        sim = self.sim
        now = sim.net.now
        for p in sim.schedule.partitions:
            if p.start <= now < p.end:
                groups = [[n for n in g if n in sim.nodes] for g in p.groups]
                return [g for g in groups if g]
        order = sorted(sim.order, key=lambda n: sim.net.draw("split", *salt, n))
        half = len(order) // 2
        return [g for g in (order[:half], order[half:]) if g]

    def _half(self, *salt: bytes | int | str) -> list[int]:
        return self._groups(*salt)[0]

    # blocks ------------------------------------------------------------------------------------------------------
    def lead(self, slot: int, validator: int) -> None:
        sim = self.sim
        action = self.block_actions.get(slot)
        kind = "honest" if action is None else action.kind
        if kind == "skip":
            return
        if kind == "equivocate":
            groups = self._groups("block", slot)
            parents = [self._common_head(self._up(g)) for g in groups]
            if len({p.hash for p in parents}) == 1 and parents[0].parent is not None:
                parents = [parents[0], sim.tree.blocks[parents[0].parent]]
            for i, (group, parent) in enumerate(zip(groups, parents, strict=False)):
                self._send(self._make(parent, slot, validator, fork_side=i == 0), group, sim.net.now)
            return
        if kind == "withhold":
            assert action is not None
            parent = self.private[-1] if self.private else self._common_head(self._up())
            block = self._make(parent, slot, validator)
            self.private.append(block)
            audience = self._half("release", block.hash) if action.half else sim.order
            sim.net.at(sim.net.now + action.release, ADVERSARY, partial(self._release, block, audience))
            return
        self._send(self._make(self._common_head(self._up()), slot, validator), sim.order, sim.net.now)

    def _make(self, parent: SimBlock, slot: int, validator: int, fork_side: bool = False) -> SimBlock:
        while parent.slot >= slot and parent.parent is not None:
            parent = self.sim.tree.blocks[parent.parent]
        setup = self.sim.setup
        scheduled = setup.rotations + (self.fork_rotations if fork_side else ())
        block = child_block(parent, slot, validator, due_rotations(parent, slot, setup.epoch_slots, scheduled))
        self.sim.made(block)
        return block

    def _release(self, block: SimBlock, audience: list[int]) -> None:
        if block not in self.private:
            return
        upto = self.private.index(block) + 1
        released, self.private = self.private[:upto], self.private[upto:]
        for b in released:
            self._send(b, audience, self.sim.net.now)

    def _send(self, block: SimBlock, audience: list[int], when: int) -> None:
        for n in audience:
            self.sim.deliver_block_at(self.sim.net.adversary_arrival(block.hash, n, when), n, block)

    # votes -------------------------------------------------------------------------------------------------------
    def vote(self, epoch: int) -> None:
        """The Byzantine members of `epoch`'s set vote (one slot into the epoch)."""
        sim = self.sim
        members = sim.setup.sets.bonds_for(epoch)
        for v in sorted(sim.setup.sets.byzantine & members.keys()):
            action = self.vote_actions.get((epoch, v))
            kind = "honest" if action is None else action.kind
            if kind == "abstain":
                continue
            if kind == "mirror":
                self._mirror(epoch, v)
                continue
            link = self._honest_link(epoch, v)
            if link is None:
                continue
            now = sim.net.now
            if kind == "double":
                other = self._other_link(epoch, link)
                if other is not None:
                    half = set(self._half("double", epoch, v))
                    self._cast(v, link, [n for n in sim.order if n in half], now)
                    self._cast(v, other, [n for n in sim.order if n not in half], now)
                    continue
            elif kind == "surround":
                link = self._surrounding(v, link)
            elif kind == "off_chain":
                link = self._off_chain(link)
            elif kind == "late":
                assert action is not None
                now += action.delay
            elif kind == "partial":
                self._cast(v, link, self._half("partial", epoch, v), now)
                continue
            self._cast(v, link, sim.order, now)

    def _cast(self, validator: int, link: Link, audience: list[int], when: int) -> None:
        sim = self.sim
        if link[0].epoch >= link[1].epoch:
            return
        target = sim.tree.blocks[link[1].block_hash]
        generation = dict(generations(target, link[1].epoch, sim.setup.epoch_slots)).get(validator, 0)
        vote = sign_vote(validator_key(validator, generation), sim.setup.genesis.hash, *link)
        self.links.setdefault(validator, []).append(link)
        for n in audience:
            sim.deliver_vote_at(sim.net.adversary_arrival(vote.signature, n, when), n, vote)

    def _link_of(self, node: SimNode, epoch: int) -> Link | None:
        """The link the vote rule gives `node`'s state for `epoch` (nothing signed before)."""
        return choose_vote(epoch, node.head_checkpoint, node.tracker.state.justified.values(), SignedVotes()).link

    def _honest_link(self, epoch: int, validator: int) -> Link | None:
        up = self._up()
        if not up:
            return None
        return self._link_of(up[self.sim.net.draw("rep", epoch, validator) % len(up)], epoch)

    def _mirror(self, epoch: int, validator: int) -> None:
        """In each partition group (or among the nodes of each head) the link its nodes would vote, to them only."""
        sim = self.sim
        if any(p.start <= sim.net.now < p.end for p in sim.schedule.partitions):
            groups = self._groups("mirror", epoch)
        else:
            by_head: dict[bytes, list[int]] = {}
            for n in self._up():
                by_head.setdefault(n.head, []).append(n.id)
            groups = list(by_head.values())
        for group in groups:
            up = self._up(group)
            if up:
                link = self._link_of(up[0], epoch)
                if link is not None:
                    self._cast(validator, link, group, sim.net.now)

    def _justified(self) -> set[Checkpoint]:
        return {cp for n in self.sim.nodes.values() for cp in n.tracker.state.justified.values()}

    def _best_source(self, target: Checkpoint) -> Checkpoint:
        """The latest checkpoint some honest node holds justified on `target`'s chain (genesis at worst)."""
        tree = self.sim.tree
        on_chain = [cp for cp in self._justified() if cp.epoch < target.epoch and tree.is_on_chain(cp, target)]
        return max(on_chain, key=lambda c: c.epoch, default=Checkpoint(0, tree.genesis.hash))

    def _other_link(self, epoch: int, link: Link) -> Link | None:
        """A second link of the epoch: another target of it on some chain, or another source for the same target."""
        tree = self.sim.tree
        leaves = [h for h in tree.blocks if not tree.children_of(h)]
        for leaf in sorted(leaves):
            cp_hash = tree.checkpoint_hash(epoch, leaf)
            if cp_hash is not None and cp_hash != link[1].block_hash:
                target = Checkpoint(epoch, cp_hash)
                return self._best_source(target), target
        genesis = Checkpoint(0, tree.genesis.hash)
        return (genesis, link[1]) if link[0] != genesis else None

    def _surrounding(self, validator: int, link: Link) -> Link:
        """A link to `link`'s target from below the source of this validator's earlier vote with the highest source,
        so that it surrounds that vote (or `link` if there is none to surround)."""
        tree = self.sim.tree
        earlier = [s for s, t in self.links.get(validator, []) if t.epoch < link[1].epoch and s.epoch > 0]
        if not earlier:
            return link
        below = max(s.epoch for s in earlier) - 1
        cp_hash = tree.checkpoint_hash(below, link[1].block_hash)
        return (link[0] if cp_hash is None else Checkpoint(below, cp_hash)), link[1]

    def _off_chain(self, link: Link) -> Link:
        """A link to `link`'s target from a checkpoint off its chain: justified somewhere if possible."""
        tree = self.sim.tree
        target = link[1]
        off = sorted((cp for cp in self._justified() if cp.epoch < target.epoch and not tree.is_on_chain(cp, target)),
                     key=lambda c: (-c.epoch, c.block_hash))
        if off:
            return off[0], target
        for h in sorted(tree.blocks):
            b = tree.blocks[h]
            cp = Checkpoint(b.slot // tree.epoch_slots + 1, h)
            if 0 < cp.epoch < target.epoch and tree.is_checkpoint(cp) and not tree.is_on_chain(cp, target):
                return cp, target
        return link
