"""Deterministic draws: a 64-bit number fixed by a schedule's seed and a few labels (blake2b), so a run depends on its
schedule alone and one event's draws do not depend on how many others came before (the shrinker relies on it)."""

from __future__ import annotations

from hashlib import blake2b


def draw(seed: int, *parts: bytes | int | str) -> int:
    h = blake2b(digest_size=8, key=seed.to_bytes(16, "big", signed=True))
    for p in parts:
        h.update(p if isinstance(p, bytes) else str(p).encode())
        h.update(b"|")
    return int.from_bytes(h.digest(), "big")


def pick_weighted(x: int, weights: list[tuple[int, int]]) -> int | None:
    """The item of (item, weight) pairs that `x` falls on, in proportion to weight (None if they weigh nothing)."""
    total = sum(w for _, w in weights)
    if total <= 0:
        return None
    x %= total
    for item, w in weights:
        if x < w:
            return item
        x -= w
    raise AssertionError("unreachable")
