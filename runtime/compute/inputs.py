"""Synthetic job inputs and the Merkle roots that commit to a job's inputs and outputs.

Item `index` of a synthetic job is SHAKE-256(b"btt-job-input" || seed || u64be(index)) cut to the model's
input width, so anyone can regenerate any item from the seed. The input and output roots are
`merkle_root` over the raw items (item i is leaf i); proofs come from `btt_chain.primitives.merkle`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from btt_chain.primitives.hashing import merkle_root

INPUT_DOMAIN = b"btt-job-input"
MAX_INDEX = 2**64 - 1


def synthetic_input(seed: bytes, index: int, width: int) -> bytes:
    """Item `index` (a u64) of the synthetic job with `seed`, `width` bytes long."""
    if not 0 <= index <= MAX_INDEX:
        raise ValueError(f"item index must be a u64, got {index}")
    if width < 0:
        raise ValueError(f"item width must not be negative, got {width}")
    return hashlib.shake_256(INPUT_DOMAIN + seed + index.to_bytes(8, "big")).digest(width)


def synthetic_inputs(seed: bytes, count: int, width: int) -> list[bytes]:
    """Items 0 .. count-1 of the synthetic job with `seed`."""
    if count < 0:
        raise ValueError(f"item count must not be negative, got {count}")
    return [synthetic_input(seed, i, width) for i in range(count)]


def input_root(inputs: Sequence[bytes]) -> bytes:
    """The Merkle root committing to a job's input items, in order."""
    return merkle_root(inputs)


def output_root(outputs: Sequence[bytes]) -> bytes:
    """The Merkle root committing to a job's output items, in order."""
    return merkle_root(outputs)
