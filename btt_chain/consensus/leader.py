"""The leader schedule: one leader per slot, drawn by weight with the epoch seed.

Weights are validator bonds for now; the compute module adds work weighting and hash-chain reveals
to the seed (DESIGN.md, Consensus 2-3).
"""

from __future__ import annotations

from collections.abc import Sequence

from btt_chain.primitives.hashing import blake2b_256


def epoch_seed(genesis_hash: bytes, epoch: int) -> bytes:
    """The randomness of an epoch. Until reveals land it is derived from the genesis hash alone."""
    return blake2b_256(b"btt-epoch-seed" + genesis_hash + epoch.to_bytes(8, "big"))


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
