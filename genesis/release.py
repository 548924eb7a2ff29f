"""Projected release by year for a chain spec, compared with the seed's published release table.

Counting rule (the label every output carries): liquid rows count in full from genesis; linear rows follow
their vesting curve; the Foundation milestones row counts at its linear 48-month cap, i.e. as if
governance approved every tranche on time (an upper bound). Module-account rows (Mining pool, Community
Incentives, Ecosystem Fund) and the Strategic Reserve are excluded: they move only through usage or
governance, so no date can be projected for them. Percentages are of total supply, genesis burns included.

Years count from launch (TOKENOMICS.md): the seed's table is labelled 2025..2030+, written when launch was
planned for 2025; its first column is the first year after genesis, whatever the genesis date. Each row
therefore carries two labels: the chain's own (the calendar year the period starts in, from the genesis
time, when the chain runs on real 365-day years) and the seed's column it is compared with.
"""

from __future__ import annotations

import datetime
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
    """The chain's label for this year: the calendar year most of it falls in ('2027'), or 'year N' on a chain
    with a fast clock or no genesis time yet (dev)."""
    published_label: str
    """The seed's table column this year is compared with (e.g. '2025', '2030+')."""
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
        if row.elided_amount:  # the holders a spec leaves out (liquid only: released at genesis), counted together
            out.append((row.index, VestingSchedule(row.elided_amount, 0, 0, 0, LINEAR)))
    return out


REAL_YEAR_S = 365 * 86_400


def calendar_label(spec: ChainSpec, year: int, last: bool) -> str:
    """The calendar year most of chain year `year` (1-based) falls in, from the genesis time ('+' on the last)."""
    if spec.genesis_time_ms <= 0 or spec.time.year_seconds != REAL_YEAR_S:
        return f"year {year}{'+' if last else ''}"
    middle_s = spec.genesis_time_ms // 1000 + (year - 1) * REAL_YEAR_S + REAL_YEAR_S // 2
    calendar = datetime.datetime.fromtimestamp(middle_s, tz=datetime.UTC).year
    return f"{calendar}{'+' if last else ''}"


def project_release(spec: ChainSpec) -> list[YearRelease]:
    """Cumulative projected release at the end of each year of the published table."""
    schedules = release_schedules(spec)
    supply = spec.token.total_supply
    out = []
    for year, published in enumerate(spec.published_release, start=1):
        until_s = year * spec.time.year_seconds
        released = sum(compute_linear_cap(s, until_s * 1000) for _, s in schedules)
        last = year == len(spec.published_release) and published.label.endswith("+")
        out.append(YearRelease(year, calendar_label(spec, year, last), published.label, until_s, released,
                               released * 10_000 // supply, published.cumulative_percent))
    return out


def format_bps(bps: int) -> str:
    """Signed basis points as a percent with two decimals: 2250 -> '22.50', -75 -> '-0.75'."""
    sign = "-" if bps < 0 else ""
    whole, frac = divmod(abs(bps), 100)
    return f"{sign}{whole}.{frac:02d}"
