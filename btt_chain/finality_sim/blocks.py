"""Simulated blocks and a node's block tree: the blocks it holds, their children, the orphans it buffers until their
parent arrives, and checkpoint ancestry (`btt_chain.consensus.checkpoints`) asked of what it holds.

A block is identified by the hash of its parent, slot, author and the key rotations it carries, so two blocks for one
slot by one author differ when their parents (or rotations) do (a Byzantine leader's equivocation). A rotation is a
validator's `session.set_keys` included in the block: it takes effect two epochs after the block's (the node's
rule: the set queued at the next epoch's start carries the new key), on the chains that hold the block only. The
simulation keeps one more tree holding every block ever made, which the property checks and the adversary read.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from btt_chain.consensus.checkpoints import checkpoint_block_by_walk
from btt_chain.finality_sim.validators import MAX_GENERATION, Generations
from btt_chain.primitives.hashing import blake2b_256
from btt_chain.primitives.vote import Checkpoint

GENESIS_AUTHOR = -1


@dataclass(frozen=True)
class SimBlock:
    """A block: no transactions, no state; only what fork choice and finality look at."""

    hash: bytes
    parent: bytes | None
    """None for genesis."""
    number: int
    slot: int
    author: int
    """The leader's validator index (GENESIS_AUTHOR for genesis)."""
    rotations: tuple[int, ...] = ()
    """Validators whose key rotation this block includes."""
    rotation_log: tuple[tuple[int, int], ...] = ()
    """(slot, validator) of every rotation on this block's chain, this block's included."""


def genesis_block(seed: int) -> SimBlock:
    return SimBlock(blake2b_256(b"finality-sim/genesis/%d" % seed), None, 0, 0, GENESIS_AUTHOR)


def child_block(parent: SimBlock, slot: int, author: int, rotations: tuple[int, ...] = ()) -> SimBlock:
    """The block `author` seals for `slot` on `parent`, including the key rotations of `rotations`."""
    if slot <= parent.slot:
        raise ValueError(f"a block for slot {slot} cannot follow one of slot {parent.slot}")
    preimage = parent.hash + slot.to_bytes(8, "big") + author.to_bytes(4, "big", signed=True)
    if rotations:
        preimage += b"".join(v.to_bytes(4, "big") for v in rotations)
    log = parent.rotation_log + tuple((slot, v) for v in rotations)
    return SimBlock(blake2b_256(preimage), parent.hash, parent.number + 1, slot, author, rotations, log)


def generations(block: SimBlock, epoch: int, epoch_slots: int) -> Generations:
    """The key generations of the validators that rotated, as the set of `epoch` on `block`'s chain has them: the
    rotations included in blocks before epoch - 1."""
    cut = (epoch - 1) * epoch_slots
    counts: dict[int, int] = {}
    for slot, v in block.rotation_log:
        if slot < cut:
            counts[v] = min(MAX_GENERATION, counts.get(v, 0) + 1)
    return tuple(sorted(counts.items()))


def rotated(block: SimBlock, validator: int) -> int:
    """How many rotations of `validator` `block`'s chain includes."""
    return sum(1 for _, v in block.rotation_log if v == validator)


def due_rotations(parent: SimBlock, slot: int, epoch_slots: int,
                  scheduled: Iterable[tuple[int, int]]) -> tuple[int, ...]:
    """The validators whose rotation a block for `slot` on `parent` should include: those with more rotations
    scheduled (`scheduled`: (epoch, validator) pairs) by `slot`'s epoch than `parent`'s chain holds; one each."""
    epoch = slot // epoch_slots
    wanted: dict[int, int] = {}
    for e, v in scheduled:
        if e <= epoch:
            wanted[v] = wanted.get(v, 0) + 1
    return tuple(v for v in sorted(wanted) if rotated(parent, v) < min(wanted[v], MAX_GENERATION))


class BlockTree:
    """The blocks connected to genesis, children by parent, and orphans by the parent they wait for."""

    def __init__(self, genesis: SimBlock, epoch_slots: int) -> None:
        self.genesis = genesis
        self.epoch_slots = epoch_slots
        self.blocks: dict[bytes, SimBlock] = {genesis.hash: genesis}
        self.children: dict[bytes, list[bytes]] = {}
        self.orphans: dict[bytes, list[SimBlock]] = {}
        self.version = 0
        """Bumped whenever a block connects (the fork choice's input changed)."""

    def __contains__(self, block_hash: object) -> bool:
        return block_hash in self.blocks

    def add(self, block: SimBlock) -> list[SimBlock]:
        """Take a block: connected (with the orphans waiting for it, parents first) if its parent is here, else
        buffered. Returns the blocks that connected."""
        if block.hash in self.blocks or block.parent is None:
            return []
        if block.parent not in self.blocks:
            waiting = self.orphans.setdefault(block.parent, [])
            if all(b.hash != block.hash for b in waiting):
                waiting.append(block)
            return []
        connected: list[SimBlock] = []
        stack = [block]
        while stack:
            b = stack.pop()
            if b.hash in self.blocks:
                continue
            assert b.parent is not None
            self.blocks[b.hash] = b
            self.children.setdefault(b.parent, []).append(b.hash)
            connected.append(b)
            stack.extend(self.orphans.pop(b.hash, ()))
        self.version += 1
        return connected

    def drop_orphans(self) -> None:
        """Forget the buffered orphans (a restart: the buffer is volatile)."""
        self.orphans.clear()

    def children_of(self, block_hash: bytes) -> list[bytes]:
        return self.children.get(block_hash, [])

    def number_of(self, block_hash: bytes) -> int:
        return self.blocks[block_hash].number

    def block_slot(self, block_hash: bytes) -> int:
        return self.blocks[block_hash].slot

    def slot_of(self, block_hash: bytes) -> int | None:
        b = self.blocks.get(block_hash)
        return None if b is None else b.slot

    def parent_of(self, block_hash: bytes) -> bytes | None:
        b = self.blocks.get(block_hash)
        return None if b is None else b.parent

    def chain(self, tip: bytes) -> Iterator[SimBlock]:
        """The blocks from `tip` down to genesis."""
        h: bytes | None = tip
        while h is not None:
            b = self.blocks[h]
            yield b
            h = b.parent

    def descends_from(self, block_hash: bytes, ancestor: bytes) -> bool:
        """Whether `ancestor` is the block itself or one of its ancestors here."""
        a = self.blocks.get(ancestor)
        b = self.blocks.get(block_hash)
        if a is None or b is None:
            return False
        while b.number > a.number and b.parent is not None:
            b = self.blocks[b.parent]
        return b.hash == a.hash

    def checkpoint_hash(self, epoch: int, tip: bytes) -> bytes | None:
        """The checkpoint block of `epoch` on the chain ending at `tip` (None if `tip` is not here)."""
        return checkpoint_block_by_walk(epoch, tip, self.slot_of, self.parent_of, self.genesis.hash,
                                        epoch_slots=self.epoch_slots)

    def is_on_chain(self, cp: Checkpoint, of: Checkpoint) -> bool:
        """Whether `cp` is the checkpoint of its epoch on the chain of `of` (`CheckpointView.is_on_chain`)."""
        return cp.epoch <= of.epoch and self.checkpoint_hash(cp.epoch, of.block_hash) == cp.block_hash

    def is_checkpoint(self, cp: Checkpoint) -> bool:
        """Whether `cp` is its epoch's checkpoint on some chain of this tree: its block is below the epoch's first slot
        and has a child at or after it (genesis for epoch 0)."""
        b = self.blocks.get(cp.block_hash)
        if b is None:
            return False
        if cp.epoch == 0:
            return b.number == 0
        boundary = cp.epoch * self.epoch_slots
        return b.slot < boundary and any(self.blocks[c].slot >= boundary for c in self.children_of(b.hash))

    def conflicting(self, a: Checkpoint, b: Checkpoint) -> bool:
        """Neither checkpoint is on the other's chain."""
        low, high = (a, b) if a.epoch <= b.epoch else (b, a)
        return not self.is_on_chain(low, high)
