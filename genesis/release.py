"""Projected release by year for a chain spec, compared with the seed's published release table.

Counting rule (the label every output carries): liquid rows count in full from genesis; linear rows follow
their vesting curve; the Foundation milestones row counts at its linear 48-month cap, i.e. as if
governance approved every tranche on time (an upper bound). Module-account rows (Mining pool, Community
Incentives, Ecosystem Fund) and the Strategic Reserve are excluded: they move only through usage or
governance, so no date can be projected for them. Percentages are of total supply, genesis burns included.
"""

from __future__ import annotations

from dataclasses import dataclass

from btt_chain.primitives.accounts import module_account
from genesis.spec import ChainSpec
from runtime.vesting.types import LINEAR, VestingSchedule, compute_linear_cap

PROJECTION_NOTE = (
    "projection: liquid rows at genesis, linear rows on their curves, row 7 (Foundation milestones) at its "
    "linear cap as if every tranche were approved on time; rows 8-10 and 12 (Mining pool, Community "
    "Incentives, Ecosystem Fund, Strategic Reserve) depend on usage and governance and are excluded (0)"
)


@dataclass(frozen=True)
class YearRelease:
    year: int
    """1 = the first `year_seconds` after genesis."""
    label: str
    """The published table's label for this year (e.g. '2025', '2030+')."""
    until_s: int
    """Seconds after genesis at which the cumulative amount is measured (end of the year)."""
    projected: int
    """Cumulative base units released by then."""
    projected_bps: int
    """`projected` in basis points of total supply (rounded down)."""
    published_percent: int


def release_schedules(spec: ChainSpec) -> list[tuple[int, VestingSchedule]]:
    """(row index, schedule relative to genesis at 0 ms) of every row the projection counts."""
    burned = sum(b.amount for b in spec.milestone_burns if b.at_genesis)
    foundation = module_account("foundation")
    month_ms = spec.time.month_seconds * 1000
    out: list[tuple[int, VestingSchedule]] = []
    for row in spec.allocations:
        rule = row.release
        for holder in row.holders:
            amount = holder.amount - (burned if holder.account == foundation else 0)
            if rule.kind == "liquid":
                out.append((row.index, VestingSchedule(amount, 0, 0, 0, LINEAR)))
            elif rule.kind in ("linear", "milestones"):
                cliff = rule.cliff_months * month_ms
                out.append((row.index, VestingSchedule(amount, 0, cliff, cliff + rule.duration_months * month_ms)))
    return out


def project_release(spec: ChainSpec) -> list[YearRelease]:
    """Cumulative projected release at the end of each year of the published table."""
    schedules = release_schedules(spec)
    supply = spec.token.total_supply
    out = []
    for year, published in enumerate(spec.published_release, start=1):
        until_s = year * spec.time.year_seconds
        released = sum(compute_linear_cap(s, until_s * 1000) for _, s in schedules)
        out.append(YearRelease(year, published.label, until_s, released, released * 10_000 // supply,
                               published.cumulative_percent))
    return out


def format_bps(bps: int) -> str:
    """Signed basis points as a percent with two decimals: 2250 -> '22.50', -75 -> '-0.75'."""
    sign = "-" if bps < 0 else ""
    whole, frac = divmod(abs(bps), 100)
    return f"{sign}{whole}.{frac:02d}"
