"""Blocks that arrived before their slot by this node's clock, held until it is due (btt_chain/consensus/slots.py).

A held block passed every header check but the clock (author, seal, slot above its parent's), or it is the child of a
held block (its parent is not imported yet, so it is checked in full when it is released). It is imported again when
the local clock reaches its slot less the drift allowance; then the usual rules judge it, and an invalid one still
costs its sender a ban.

Bounded, so that a hostile peer cannot fill memory with blocks it says are early: per peer (count and bytes) and in
all. When a bound is passed, the block due last of the peer that holds the most goes first (the newcomer itself, if
that is its sender's), so one peer's flood never displaces another peer's blocks while it holds more than they do.
Copies are told apart by their bytes, not by the block hash: a peer that sends a header with a body of its own does not
displace the genuine block. Holding is bookkeeping only; the release runs in its own task (NetworkBridge).
"""

from __future__ import annotations

from dataclasses import dataclass

from btt_chain.primitives.hashing import blake2b_256

MAX_HELD_PER_PEER = 16
MAX_HELD_BYTES_PER_PEER = 10 * 1024 * 1024
"""At least one block of the largest size a chain may set (`block.max_bytes` is at most 8 MiB)."""
MAX_HELD = 64
MAX_HELD_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class HeldBlock:
    encoded: bytes
    block_hash: bytes
    number: int
    slot: int
    due_ms: int
    """Local clock time from which it may be imported."""
    peer: str
    """Who sent it (blamed if it turns out invalid)."""
    via: str
    key: bytes = b""
    """blake2b-256 of `encoded` (filled in when not given)."""

    def __post_init__(self) -> None:
        if not self.key:
            object.__setattr__(self, "key", blake2b_256(self.encoded))


@dataclass(frozen=True)
class HoldLimits:
    per_peer: int = MAX_HELD_PER_PEER
    bytes_per_peer: int = MAX_HELD_BYTES_PER_PEER
    total: int = MAX_HELD
    total_bytes: int = MAX_HELD_BYTES


class FutureBlocks:
    """The held blocks, by the hash of their bytes."""

    def __init__(self, limits: HoldLimits = HoldLimits()) -> None:
        self.limits = limits
        self._held: dict[bytes, HeldBlock] = {}
        self._by_hash: dict[bytes, int] = {}
        """Block hash -> copies held."""
        self.bytes = 0
        self.evicted = 0
        """Blocks dropped (newcomers refused included) because a bound was reached, since start."""

    def __len__(self) -> int:
        return len(self._held)

    def holds(self, block_hash: bytes) -> bool:
        """A copy of block `block_hash` is held."""
        return block_hash in self._by_hash

    def due_of(self, block_hash: bytes) -> int | None:
        """When the first held copy of block `block_hash` is due; None if none is held."""
        return min((b.due_ms for b in self._held.values() if b.block_hash == block_hash), default=None)

    def of_peer(self, peer: str) -> list[HeldBlock]:
        return [b for b in self._held.values() if b.peer == peer]

    def hold(self, block: HeldBlock) -> bool:
        """Keep `block` until it is due; False when it was already held or a bound refused it."""
        key = block.key
        if key in self._held:
            return False
        self._add(key, block)
        lim = self.limits
        kept = True
        while True:
            mine = self.of_peer(block.peer)
            if len(mine) > lim.per_peer or sum(len(b.encoded) for b in mine) > lim.bytes_per_peer:
                victim = _due_last(mine)
            elif len(self._held) > lim.total or self.bytes > lim.total_bytes:
                victim = _due_last(self.of_peer(self._largest_holder(prefer=block.peer)))
            else:
                return kept
            self._remove(victim.key)
            self.evicted += 1
            kept = kept and victim.key != key

    def next_due_ms(self) -> int | None:
        return min((b.due_ms for b in self._held.values()), default=None)

    def take_due(self, now_ms: int) -> list[HeldBlock]:
        """Remove and return the blocks due at `now_ms`, parents before children (by due time, then number)."""
        due = sorted((b for b in self._held.values() if b.due_ms <= now_ms), key=lambda b: (b.due_ms, b.number))
        for b in due:
            self._remove(b.key)
        return due

    def _add(self, key: bytes, block: HeldBlock) -> None:
        self._held[key] = block
        self._by_hash[block.block_hash] = self._by_hash.get(block.block_hash, 0) + 1
        self.bytes += len(block.encoded)

    def _remove(self, key: bytes) -> None:
        block = self._held.pop(key)
        self.bytes -= len(block.encoded)
        left = self._by_hash[block.block_hash] - 1
        if left:
            self._by_hash[block.block_hash] = left
        else:
            del self._by_hash[block.block_hash]

    def _largest_holder(self, prefer: str) -> str:
        """The peer holding the most bytes (then blocks); `prefer` on a tie, so a newcomer never displaces an equal."""
        totals: dict[str, tuple[int, int]] = {}
        for b in self._held.values():
            size, count = totals.get(b.peer, (0, 0))
            totals[b.peer] = (size + len(b.encoded), count + 1)
        return max(totals, key=lambda p: (totals[p], p == prefer))


def _due_last(blocks: list[HeldBlock]) -> HeldBlock:
    return max(blocks, key=lambda b: (b.due_ms, b.number))
