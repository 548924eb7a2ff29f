"""Per-epoch distribution of the mining budget among compute providers.

Each provider's score is its matured work credit x on-time ratio x region factor x energy factor (the
factors in basis points). The budget is shared by score, floor-rounded, and each share is then capped at
`cap_bps` of the job fees burned for that credit (0.8 x the burn in the presets), so a provider that posts
jobs to itself never earns back what it burned. Whatever rounding or the cap holds back stays in the pool
and rolls forward; it is never redistributed to uncapped providers within the epoch.

A provider may appear in at most one claim: the caller aggregates a provider's credit and burn before
distribution (its on-time ratio and factors are per provider, so two claims could not be merged without
inventing a rule); duplicate providers are rejected with a ValueError.

Pure integer functions: no storage, no clock, no floats.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

BPS = 10_000
"""Basis points in one whole (1.0x)."""


@dataclass(frozen=True, slots=True)
class RewardClaim:
    """One provider's claim on an epoch's mining budget."""

    provider: bytes
    """The provider account."""
    credit: int
    """Matured work credit (>= 0)."""
    on_time_bps: int
    """Completed-on-time ratio in basis points (0..10000)."""
    region_bps: int
    """Region factor in basis points (e.g. 15000 = 1.5x for an underserved region; >= 0)."""
    energy_bps: int
    """Energy class factor in basis points (e.g. 8000 = 0.8x; >= 0)."""
    burned: int
    """Base units of job fees burned for this credit (>= 0): the claim is paid at most cap_bps of it."""

    def __post_init__(self) -> None:
        if type(self.provider) is not bytes or len(self.provider) == 0:
            raise ValueError(f"reward claim: provider must be a non-empty account id, got {self.provider!r}")
        for name in ("credit", "region_bps", "energy_bps", "burned"):
            value = getattr(self, name)
            if type(value) is not int or value < 0:
                raise ValueError(
                    f"reward claim of {self.provider.hex()}: {name} must be a non-negative integer, got {value!r}"
                )
        if type(self.on_time_bps) is not int or not 0 <= self.on_time_bps <= BPS:
            raise ValueError(
                f"reward claim of {self.provider.hex()}: on_time_bps must be in 0..{BPS}, got {self.on_time_bps!r}"
            )

    @property
    def score(self) -> int:
        """credit x on-time x region x energy (the factors in basis points, so the unit is credit x BPS^3)."""
        return self.credit * self.on_time_bps * self.region_bps * self.energy_bps

    def cap(self, cap_bps: int) -> int:
        """The most this claim may be paid: cap_bps of the fees burned for its credit."""
        return self.burned * cap_bps // BPS


@dataclass(frozen=True, slots=True)
class Distribution:
    """The outcome of one epoch's distribution."""

    payouts: tuple[tuple[bytes, int], ...]
    """(provider, base units) sorted by provider; only providers paid more than zero appear."""
    paid: int
    """Sum of the payouts (<= budget)."""
    held_back: int
    """budget - paid: what rounding and the cap kept in the pool (it rolls forward)."""

    def payout_of(self, provider: bytes) -> int:
        """What `provider` is paid (0 if nothing)."""
        for who, amount in self.payouts:
            if who == provider:
                return amount
        return 0


def distribute(budget: int, claims: Sequence[RewardClaim], cap_bps: int) -> Distribution:
    """Share `budget` among `claims` by score, each share capped at cap_bps of the claim's burned fees.

    payout_i = min(budget * score_i // total_score, burned_i * cap_bps // BPS). A zero total score pays
    nothing and holds back the whole budget. Raises ValueError on a negative budget, a cap outside
    0..BPS or a provider that appears twice. `cap_bps` is the bounded parameter (default 8000 = 0.8x);
    any value below BPS keeps self-dealing unprofitable.
    """
    if type(budget) is not int or budget < 0:
        raise ValueError(f"reward distribution: budget must be a non-negative integer, got {budget!r}")
    if type(cap_bps) is not int or not 0 <= cap_bps <= BPS:
        raise ValueError(f"reward distribution: cap_bps must be in 0..{BPS}, got {cap_bps!r}")
    seen: set[bytes] = set()
    for claim in claims:
        if not isinstance(claim, RewardClaim):
            raise ValueError(f"reward distribution: expected a RewardClaim, got {claim!r}")
        if claim.provider in seen:
            raise ValueError(
                f"reward distribution: provider {claim.provider.hex()} claims twice; "
                "aggregate its credit into one claim"
            )
        seen.add(claim.provider)
    total_score = sum(claim.score for claim in claims)
    if total_score == 0 or budget == 0:
        return Distribution(payouts=(), paid=0, held_back=budget)
    payouts: list[tuple[bytes, int]] = []
    for claim in sorted(claims, key=lambda c: c.provider):
        amount = min(budget * claim.score // total_score, claim.cap(cap_bps))
        if amount > 0:
            payouts.append((claim.provider, amount))
    paid = sum(amount for _, amount in payouts)
    return Distribution(payouts=tuple(payouts), paid=paid, held_back=budget - paid)
