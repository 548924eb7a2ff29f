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


def capture_bound(w: Fraction, k: int, epoch_slots: int | None = None) -> Fraction:
    """An upper bound on the chance that a coalition with leader-weight share `w` knows a job's sample before the
    commit window closes, per job, whatever slot of its window the provider commits in.

    The sample start is fixed at assignment, beyond every schedule public while a commit is possible
    (`assignment.sample_start`), so the only way to know the sample is to be its first k distinct authors; for a
    schedule drawn independently of the coalition that happens with probability at most w**k. The schedule the
    sample start falls in is seeded by the randomness at the end of the epoch before it is drawn: a coalition that
    leads the last m slots of that epoch may withhold any of those blocks and so choose among 2**m seeds (at the
    cost of each withheld block's fees and tips). It leads exactly the last m slots with probability at most
    w**m (1 - w), so the bound is

        sum over m >= 0 of w**m (1 - w) min(1, 2**m w**k)

    (with `epoch_slots`, m stops at the epoch's length: the sum's tail is w**epoch_slots). It does not count the
    withholding of the k-th author's own block after the sample is known, which the README bounds separately.
    """
    if not 0 <= w <= 1:
        raise ValueError(f"the coalition's share must be in [0, 1], got {w}")
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if w == 1:
        return Fraction(1)
    total = Fraction(0)
    m = 0
    while True:
        draws = Fraction(2) ** m * w**k
        if draws >= 1 or (epoch_slots is not None and m >= epoch_slots):
            return total + w**m  # every longer run: captured at most surely
        total += w**m * (1 - w) * draws
        m += 1
