"""Fork choice from the latest justified checkpoint (Gasper's rule, with the longest chain in place of LMD-GHOST):

1. the anchor is the latest justified checkpoint this node knows that descends from its finalized one (the finality
   tracker justifies only such checkpoints, so it is the highest-epoch one it holds);
2. the head is the best block at or beneath the anchor: the most blocks, ties to the lower hash.

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


def choose_head(
    justified: Iterable[Checkpoint], finalized: Checkpoint, knows: Callable[[bytes], bool],
    children_of: Callable[[bytes], Iterable[bytes]], number_of: Callable[[bytes], int],
) -> bytes:
    """The head: the best block beneath the anchor (see the module docstring)."""
    anchor = choose_anchor(justified, finalized, knows)
    return best_descendant(anchor.block_hash, children_of, number_of)
