"""A node's `CheckpointView`: the simulated counterpart of the node's `ChainTargetSets`.

A target (e, B) gets a voter set only when this node can tell that B is epoch e's checkpoint on some chain it holds:
B is known here (every block held is executed), B is the node's finalized block or descends from it, B's slot is below
e's first slot and a known child of B is at or after it (genesis for epoch 0). The set is then the schedule's set of
epoch e, the same on every fork. Ancestry (`is_on_chain`) walks the node's own tree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from btt_chain.consensus.validator_set import ValidatorSet
from btt_chain.primitives.vote import Checkpoint

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
        return node.sets.set_for(target.epoch)

    def is_on_chain(self, cp: Checkpoint, of: Checkpoint) -> bool:
        return self.node.tree.is_on_chain(cp, of)
