"""The four-house tally, pure and exact (rational arithmetic, no floats).

House weights start from the genesis shares (institutions 30%, compute 25%, holders 35%, representatives
10%). Progressive decentralisation scales the institutions' weight each year by the schedule's share
relative to year 1 (70%, 50%, 40%, 20%: 30% -> 21.4% -> 17.1% -> 8.6%) and spreads the freed weight over the
other houses in proportion to theirs. A house in which nobody voted counts as empty: its weight is spread
the same way over the houses that did vote. The result is the sum of each counted house's aye share
(aye / (aye + nay)) times its weight.

Re-spreading keeps a silent house (the compute house before any work has matured, say) from blocking every
referendum, but it would let one house decide alone. So a referendum also needs an aye majority in at least
`governance.min_houses_in_favour` houses (2 or more): no single house passes anything by itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

BPS = 10_000
INSTITUTIONS = 0


def schedule_year(elapsed_ms: int, year_ms: int) -> int:
    """0 for the first year since genesis, 1 for the second, ..."""
    return max(0, elapsed_ms) // year_ms


def house_weights(base_bps: Sequence[int], institution_share_bps: Sequence[int], year: int) -> tuple[Fraction, ...]:
    """Each house's weight this year, as fractions summing to 1 (or all 0 if every base weight is 0)."""
    total = sum(base_bps)
    if total <= 0:
        return tuple(Fraction(0) for _ in base_bps)
    weights = [Fraction(b, total) for b in base_bps]
    if institution_share_bps:
        share = institution_share_bps[min(year, len(institution_share_bps) - 1)]
        scaled = weights[INSTITUTIONS] * Fraction(share, institution_share_bps[0])
        weights = _spread(weights, INSTITUTIONS, weights[INSTITUTIONS] - scaled)
        weights[INSTITUTIONS] = scaled
    return tuple(weights)


def _spread(weights: list[Fraction], skip: int, amount: Fraction, also_skip: frozenset[int] = frozenset()) -> list[
    Fraction
]:
    """Add `amount` to the houses other than `skip` (and `also_skip`) in proportion to their weights."""
    others = [i for i in range(len(weights)) if i != skip and i not in also_skip]
    base = sum(weights[i] for i in others)
    out = list(weights)
    if base == 0:
        return out
    for i in others:
        out[i] += amount * weights[i] / base
    return out


def counted_weights(weights: Sequence[Fraction], ayes: Sequence[int], nays: Sequence[int]) -> tuple[Fraction, ...]:
    """House weights with every house nobody voted in emptied and its weight spread over the others."""
    empty = frozenset(i for i in range(len(weights)) if ayes[i] + nays[i] == 0)
    out = list(weights)
    if len(empty) == len(weights):
        return tuple(Fraction(0) for _ in weights)
    for i in sorted(empty):
        moved = out[i]
        out[i] = Fraction(0)
        out = _spread(out, i, moved, empty)
    return tuple(out)


def aye_share(weights: Sequence[Fraction], ayes: Sequence[int], nays: Sequence[int]) -> Fraction:
    """The weighted aye share in [0, 1]: 0 when nobody voted."""
    counted = counted_weights(weights, ayes, nays)
    return sum(
        (w * Fraction(a, a + n) for w, a, n in zip(counted, ayes, nays, strict=True) if a + n),
        Fraction(0),
    )


def houses_in_favour(ayes: Sequence[int], nays: Sequence[int]) -> int:
    """Houses whose voters, by weight, are more for than against."""
    return sum(1 for a, n in zip(ayes, nays, strict=True) if a > n)


def passes(share: Fraction, threshold_bps: int, supermajority: bool) -> bool:
    """Standard track: more than the threshold; emergency track: at least the (2/3) threshold."""
    bar = Fraction(threshold_bps, BPS)
    return share >= bar if supermajority else share > bar


def quorum_met(turnout: int, circulating: int, quorum_bps: int) -> bool:
    return turnout * BPS >= circulating * quorum_bps


def ppm(share: Fraction) -> int:
    return share.numerator * 1_000_000 // share.denominator
