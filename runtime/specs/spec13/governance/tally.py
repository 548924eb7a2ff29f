"""The four-house tally, pure and exact (rational arithmetic, no floats).

House weights start from the genesis shares (institutions 30%, compute 25%, holders 35%, representatives
10%). Progressive decentralisation scales the institutions' weight each year by the schedule's share
relative to year 1 (70%, 50%, 40%, 20%: 30% -> 21.4% -> 17.1% -> 8.6%) and spreads the freed weight over the
other houses in proportion to theirs. A house in which nobody voted counts as empty: its weight is spread
the same way over the houses that did vote. The result is the sum of each counted house's aye share
(aye / (aye + nay)) times its weight.

Re-spreading keeps a silent house (the compute house before any work has matured, say) from blocking every
referendum, but it would let one house decide alone. So a referendum also needs at least
`governance.min_houses_in_favour` houses (2 or more) in favour, and a house is in favour only when its aye
weight is above its nay weight, its turnout reaches `governance.house_turnout_floor_bps` *and* at least
`governance.house_min_aye_voters` accounts voted aye in it: one seat out of a hundred, or a few tokens, do not
make a house (the share floor), and neither does one seat of two, or one institution of five (the head count,
which a share cannot give: one member of a small house is a large share of it). The head count is of aye
voters, not of all voters, so the rule stays monotone: a nay never helps a house count in favour.

Against accounts split to fake heads: representatives' seats are appointed by referendum and institutions are
genesis rows, so neither can be split; the holders' and compute houses can be split (a transfer; another bonded
provider), and there the share floor binds, since splitting adds heads but no weight.

A house's turnout is the weight that voted in it over its whole electorate (`electorate.house_electorates`),
both in the same unit: genesis allocation, work credit, plain balance (holders: without the long-stake
multiplier, so each base unit counts once on both sides), seats. It is clamped to [0, 1]: votes are weighed
when cast and the electorate when the verdict is taken, so a shrinking electorate (supply burned, credit
aged out of the window, seats removed) could otherwise read above 100%; an electorate of 0 gives turnout 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

BPS = 10_000
INSTITUTIONS = 0
COMPUTE = 1
HOLDERS = 2


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


def voted(ayes: Sequence[int], nays: Sequence[int], holders_turnout: int) -> tuple[int, ...]:
    """The weight that voted in each house, in the unit its electorate is counted in: aye + nay, except the
    holders' house, whose turnout is the plain balance (free + staked, no multiplier) that voted."""
    return tuple(holders_turnout if i == HOLDERS else a + n for i, (a, n) in enumerate(zip(ayes, nays, strict=True)))


def turnout(voted_weight: int, electorate: int) -> Fraction:
    """`voted_weight` over `electorate`, clamped to [0, 1]; 0 when the electorate is empty."""
    if electorate <= 0:
        return Fraction(0)
    return Fraction(min(max(voted_weight, 0), electorate), electorate)


def meets_floor(voted_weight: int, electorate: int, floor_bps: int) -> bool:
    """The house's turnout is at least the floor (exact: no rounding at the boundary)."""
    return turnout(voted_weight, electorate) * BPS >= floor_bps


@dataclass(frozen=True, slots=True)
class HouseResult:
    """One house at the verdict: what voted, against what electorate, and whether it is a house in favour."""

    aye: int
    nay: int
    aye_voters: int
    """Accounts that voted aye with weight in this house."""
    voted: int
    """Weight that voted, in the electorate's unit (see `voted`)."""
    electorate: int
    """The house's whole weight when the verdict is taken."""
    turnout: Fraction
    """`voted` / `electorate`, clamped to [0, 1]."""
    meets_floor: bool
    enough_aye_voters: bool
    """At least `governance.house_min_aye_voters` accounts voted aye."""
    in_favour: bool
    """Aye above nay, the turnout at least the floor and enough aye voters: counts toward `min_houses_in_favour`."""


def house_results(ayes: Sequence[int], nays: Sequence[int], aye_voters: Sequence[int], voted_weights: Sequence[int],
                  electorates: Sequence[int], floor_bps: int, min_aye_voters: int) -> tuple[HouseResult, ...]:
    out = []
    for a, n, c, v, e in zip(ayes, nays, aye_voters, voted_weights, electorates, strict=True):
        met = meets_floor(v, e, floor_bps)
        enough = c >= min_aye_voters
        out.append(HouseResult(a, n, c, v, e, turnout(v, e), met, enough, a > n and met and enough))
    return tuple(out)


def houses_in_favour(results: Sequence[HouseResult]) -> int:
    """Houses whose voters, by weight, are more for than against, with a turnout at least the floor and at least
    the minimum number of aye voters."""
    return sum(1 for r in results if r.in_favour)


def backed_share(weights: Sequence[Fraction], results: Sequence[HouseResult]) -> Fraction:
    """The aye share counting only houses whose turnout met the floor (the others as if nobody voted): the
    backing the spam rule asks of a proposal, which a proposer voting for itself with a few tokens cannot give."""
    ayes = [r.aye if r.meets_floor else 0 for r in results]
    nays = [r.nay if r.meets_floor else 0 for r in results]
    return aye_share(weights, ayes, nays)


def passes(share: Fraction, threshold_bps: int, supermajority: bool) -> bool:
    """Standard track: more than the threshold; emergency track: at least the (2/3) threshold."""
    bar = Fraction(threshold_bps, BPS)
    return share >= bar if supermajority else share > bar


def quorum_met(turnout: int, circulating: int, quorum_bps: int) -> bool:
    return turnout * BPS >= circulating * quorum_bps


def ppm(share: Fraction) -> int:
    return share.numerator * 1_000_000 // share.denominator


def fixed(share: Fraction, one: int) -> int:
    """A share in [0, 1] as an integer of 1/`one`, rounded down (how a frozen tally stores it)."""
    return share.numerator * one // share.denominator


def percent(share: Fraction) -> str:
    """A share as a percentage with two decimals, rounded down: 2/3 -> '66.66%' (for verdict reasons)."""
    hundredths = share.numerator * 10_000 // share.denominator
    return f"{hundredths // 100}.{hundredths % 100:02d}%"
