"""Fork choice from the latest justified checkpoint (Gasper's rule, with the longest chain in place of LMD-GHOST):

1. the anchor is the latest justified checkpoint this node knows that descends from its finalized one (the finality
   tracker justifies only such checkpoints, so it is the highest-epoch one it holds);
2. the head is the best block at or beneath the anchor: the most blocks, ties to the lower hash, among the blocks on
   whose chain the anchor is its epoch's checkpoint: from the anchor's block only its children at or after the first
   slot of the anchor's epoch are followed. (Through a child below that slot, the chain's checkpoint of that epoch is
   another block: a validator that signed a vote from the anchor would find its latest justified checkpoint on its
   head's chain an epoch or more lower, a source its signed record refuses, and with a third of the stake in that
   state finality would stop for good.)

So a node's head always holds the latest justified checkpoint it knows, and the source of a validator's vote (the
latest justified checkpoint on its head's chain) is on its own chain: two validators that know the same justified
checkpoints follow the same branch of it, whatever forks raced before, and none ever needs a source off its chain.
Longer chains that leave the anchor are kept as side branches; they are chosen again only if a checkpoint on them is
justified later than the anchor.

`choose_head` is the rule; the node's chain applies it incrementally (a new block beats the head, or the anchor
moves), and a test holds the two to each other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from btt_chain.primitives.vote import Checkpoint


def fork_choice_key(number: int, block_hash: bytes) -> tuple[int, int]:
    """Higher is better: more blocks first, then the lower hash."""
    return number, -int.from_bytes(block_hash, "big")


def choose_anchor(
    justified: Iterable[Checkpoint], finalized: Checkpoint, knows: Callable[[bytes], bool]
) -> Checkpoint:
    """The latest justified checkpoint whose block is in the tree (`knows`), or the finalized one. `justified` holds
    only checkpoints on the finalized chain (the finality tracker's state)."""
    best = finalized
    for cp in justified:
        if cp.epoch > best.epoch and knows(cp.block_hash):
            best = cp
    return best


def best_descendant(
    anchor: bytes, children_of: Callable[[bytes], Iterable[bytes]], number_of: Callable[[bytes], int],
    usable: Callable[[bytes], bool] = lambda _h: True,
) -> bytes:
    """The best block at or beneath `anchor` by `fork_choice_key` whose path from the anchor is `usable` (not known to
    be invalid)."""
    best, best_key = anchor, fork_choice_key(number_of(anchor), anchor)
    stack = [anchor]
    while stack:
        h = stack.pop()
        for child in children_of(h):
            if not usable(child):
                continue
            key = fork_choice_key(number_of(child), child)
            if key > best_key:
                best, best_key = child, key
            stack.append(child)
    return best


def keeps_checkpoint(anchor: Checkpoint, child_slot: int, epoch_slots: int) -> bool:
    """Whether a child of the anchor's block at `child_slot` keeps the anchor its epoch's checkpoint on its chain."""
    return child_slot >= anchor.epoch * epoch_slots


def choose_head(
    justified: Iterable[Checkpoint], finalized: Checkpoint, knows: Callable[[bytes], bool],
    children_of: Callable[[bytes], Iterable[bytes]], number_of: Callable[[bytes], int], *,
    slot_of: Callable[[bytes], int], epoch_slots: int,
) -> bytes:
    """The head: the best block beneath the anchor on whose chain the anchor is its epoch's checkpoint (see the module
    docstring)."""
    anchor = choose_anchor(justified, finalized, knows)

    def children(h: bytes) -> Iterable[bytes]:
        kids = children_of(h)
        if h != anchor.block_hash:
            return kids
        return [c for c in kids if keeps_checkpoint(anchor, slot_of(c), epoch_slots)]

    return best_descendant(anchor.block_hash, children, number_of)
