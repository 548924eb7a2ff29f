"""The slot leader draw: one leader per slot, by weight, from the epoch seed. Pure; node and runtime share it."""

from __future__ import annotations

from collections.abc import Sequence

from btt_chain.primitives.hashing import blake2b_256


def slot_leader(weights: Sequence[tuple[bytes, int]], seed: bytes, slot: int) -> bytes | None:
    """The session key that leads `slot`, drawn from (session key, weight) pairs; None if no weight at all."""
    total = sum(w for _, w in weights)
    if total <= 0:
        return None
    draw = int.from_bytes(blake2b_256(seed + slot.to_bytes(8, "big")), "big") % total
    for key, w in sorted(weights):
        if draw < w:
            return key
        draw -= w
    raise AssertionError("unreachable: draw below total weight")
