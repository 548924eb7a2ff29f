"""Which items of a job get re-executed, and how likely a sample is to catch faked items.

`sample_indices` is a partial Fisher-Yates shuffle over the virtual list 0 .. items-1 (only swapped
positions are stored, so the cost grows with the sample, not the job). Draw n of the random stream is
blake2b_256(b"btt-sample" || seed || u64be(n)) read as a 256-bit big-endian integer; a draw for a bound m
is rejected and redrawn if it falls in the incomplete last block of size 2**256 mod m, so every index is
equally likely. The domain tag keeps this stream apart from other uses of the same block randomness.
"""

from __future__ import annotations

from fractions import Fraction
from math import comb

from btt_chain.primitives.hashing import blake2b_256

SAMPLE_DOMAIN = b"btt-sample"
MAX_ITEMS = 2**64 - 1
"""A job holds at most a u64 of items."""
_SPACE = 1 << 256


def sample_indices(seed: bytes, items: int, count: int) -> tuple[int, ...]:
    """min(count, items) distinct indices in [0, items), sorted ascending, drawn uniformly from `seed`."""
    if not 1 <= items <= MAX_ITEMS:
        raise ValueError(f"items must be from 1 to {MAX_ITEMS}, got {items}")
    if count < 1:
        raise ValueError(f"sample count must be at least 1, got {count}")
    counter = 0

    def below(bound: int) -> int:
        nonlocal counter
        limit = _SPACE - _SPACE % bound
        while True:
            value = int.from_bytes(blake2b_256(SAMPLE_DOMAIN + seed + counter.to_bytes(8, "big")), "big")
            counter += 1
            if value < limit:
                return value % bound

    swapped: dict[int, int] = {}
    chosen: list[int] = []
    for i in range(min(count, items)):
        j = i + below(items - i)
        chosen.append(swapped.get(j, j))
        swapped[j] = swapped.get(i, i)
    return tuple(sorted(chosen))


def caught_probability(items: int, faked: int, samples: int) -> Fraction:
    """Exact chance that `samples` distinct items drawn from `items` include at least one of `faked` items.

    1 - C(items - faked, s) / C(items, s) with s = min(samples, items).
    """
    if items < 1:
        raise ValueError(f"items must be at least 1, got {items}")
    if not 0 <= faked <= items:
        raise ValueError(f"faked must be from 0 to {items}, got {faked}")
    if samples < 0:
        raise ValueError(f"samples must not be negative, got {samples}")
    s = min(samples, items)
    return 1 - Fraction(comb(items - faked, s), comb(items, s))
