"""A node's `CheckpointView`: the simulated counterpart of the node's `ChainTargetSets`.

A target (e, B) gets a voter set only when this node can tell that B is epoch e's checkpoint on some chain it holds:
B is known here (every block held is executed), B is the node's finalized block or descends from it, B's slot is below
e's first slot and a known child of B is at or after it (genesis for epoch 0). The set is then the schedule's bonds of
epoch e with the keys of B's own chain (the key rotations it includes). Ancestry (`is_on_chain`) walks the node's own
tree. The set it trusts for a fork that conflicts with its finality is its own head chain's of that epoch; the owner of
a key it never saw in a set is known from the rotation (a signed `set_keys`) in any block it received, on any fork.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from btt_chain.consensus.checkpoints import MAX_OWN_JUSTIFICATIONS
from btt_chain.consensus.validator_set import ValidatorSet
from btt_chain.finality_sim.blocks import generations
from btt_chain.finality_sim.validators import account_of, validator_key
from btt_chain.primitives.vote import Checkpoint, Justification

if TYPE_CHECKING:
    from btt_chain.finality_sim.node import SimNode


class NodeView:
    def __init__(self, node: SimNode) -> None:
        self.node = node

    def voter_set(self, target: Checkpoint) -> ValidatorSet | None:
        node = self.node
        tree = node.tree
        block = tree.blocks.get(target.block_hash)
        if block is None or not tree.descends_from(block.hash, node.tracker.state.finalized.block_hash):
            return None
        if target.epoch == 0:
            return node.sets.set_for(0) if block.number == 0 else None
        boundary = target.epoch * tree.epoch_slots
        # a child of a block at or above the finalized one is above it too
        if block.slot >= boundary or all(tree.blocks[c].slot < boundary for c in tree.children_of(block.hash)):
            return None
        return node.sets.set_for(target.epoch, generations(block, target.epoch, tree.epoch_slots))

    def is_on_chain(self, cp: Checkpoint, of: Checkpoint) -> bool:
        return self.node.tree.is_on_chain(cp, of)

    def checkpoint_of(self, epoch: int, of: Checkpoint) -> Checkpoint | None:
        if epoch > of.epoch:
            return None
        found = self.node.tree.checkpoint_hash(epoch, of.block_hash)
        return None if found is None else Checkpoint(epoch, found)

    def trusted_set(self, epoch: int) -> ValidatorSet | None:
        node = self.node
        head = node.tree.blocks[node.head]
        return node.sets.set_for(epoch, generations(head, epoch, node.tree.epoch_slots))

    def key_owner(self, key: bytes) -> bytes | None:
        """The chain's record of every key a validator registered (its first key, `session.key_owner`), and the
        rotations of any block this node received (their authorizations)."""
        index = self.node.authorized.get(key)
        if index is None:
            index = self.node.sets.index_of.get(key)
            if index is None or validator_key(index).public != key:
                return None
        return account_of(index)

    def own_justifications(self, low_epoch: int, of: Checkpoint) -> list[Justification]:
        node = self.node
        found: list[Justification] = []
        for b in node.tree.chain(of.block_hash):
            found.extend(j for e, j in sorted(node.store.get(b.hash, {}).items(), reverse=True)
                         if low_epoch <= e <= of.epoch)
            if b.slot < low_epoch * node.tree.epoch_slots:
                break
        found.reverse()
        return found[:MAX_OWN_JUSTIFICATIONS]
