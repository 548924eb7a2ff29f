"""Dispatchable calls of the treasury module: governance origins only.

`spend` and `execute_milestone_burn` take any governance origin; `release_strategic_reserve` takes only the
emergency origin, which only an emergency-track referendum (2/3 supermajority, TOKENOMICS.md) dispatches with.
"""

from __future__ import annotations

from btt_chain.primitives.codec import ACCOUNT, AMOUNT, Text
from runtime.context import CallContext, Origin, ensure_emergency, ensure_governance
from runtime.dispatch import CallDef, ModuleDef

from ..balances import logic as balances
from ..system import storage as system
from ..treasury import errors, events, logic, storage
from ..treasury.types import FOUNDATION, MAX_MILESTONE_NAME, SPEND_SOURCES, STRATEGIC_RESERVE
from ..vesting import logic as vesting


def spend(ctx: CallContext, origin: Origin, source: str, dest: bytes, amount: int) -> None:
    """Pay a grant of `amount` to `dest` from the module fund `source` (ecosystem_fund or community_incentives)."""
    ensure_governance(origin)
    if source not in SPEND_SOURCES:
        raise errors.UnknownSource(f"{source!r} is not one of {', '.join(SPEND_SOURCES)}")
    fund = logic.module_id(source)
    acc = system.account.get(ctx.state, fund)
    logic.check_payout(ctx, acc, acc.spendable, amount)
    balances.transfer(ctx, fund, dest, amount, keep_alive=False)
    ctx.emit(events.Spent(source, dest, amount))


def release_strategic_reserve(ctx: CallContext, origin: Origin, dest: bytes, amount: int) -> None:
    """Unfreeze `amount` of the Strategic Reserve and pay it to `dest` (the foundation multisig); emergency
    track only."""
    ensure_emergency(origin)
    reserve = logic.module_id(STRATEGIC_RESERVE)
    acc = system.account.get(ctx.state, reserve)
    logic.check_payout(ctx, acc, acc.free, amount)
    balances.set_frozen(ctx, reserve, max(0, acc.frozen - amount))
    balances.transfer(ctx, reserve, dest, amount, keep_alive=False)
    ctx.emit(events.StrategicReserveReleased(dest, amount, acc.free - amount))


def execute_milestone_burn(ctx: CallContext, origin: Origin, name: str) -> None:
    """Burn the named milestone's amount from the Foundation allocation (governance only; each milestone once).

    The Foundation's milestone schedule gives up the amount (its lock shrinks by it, see
    `vesting.logic.compute_shrunk_schedule`), then the amount is burned from the foundation's balance."""
    ensure_governance(origin)
    milestone = storage.milestones.get(ctx.state, name)
    if milestone is None:
        raise errors.UnknownMilestone(f"no milestone named {name!r}")
    if milestone.executed:
        raise errors.MilestoneAlreadyExecuted(f"milestone {name!r} was burned already")
    foundation = logic.module_id(FOUNDATION)
    found = vesting.get_milestone_schedule(ctx, foundation)
    available = 0 if found is None else vesting.compute_shrinkable(found[1], ctx.env.timestamp_ms)
    if available < milestone.amount:
        raise errors.FoundationCannotCover(
            f"milestone {name!r} burns {milestone.amount}; the Foundation allocation can give up {available}"
        )
    vesting.shrink_milestone_schedule(ctx, foundation, milestone.amount)
    balances.burn(ctx, foundation, milestone.amount, keep_alive=False)
    storage.milestones.put(ctx.state, name, milestone.replace(executed=True))
    ctx.emit(events.MilestoneBurned(name, milestone.amount))


MODULE = ModuleDef(
    index=9,
    name="treasury",
    calls=(
        CallDef(0, "spend", (("source", Text(32)), ("dest", ACCOUNT), ("amount", AMOUNT)), 100, spend,
                spend.__doc__ or ""),
        CallDef(1, "release_strategic_reserve", (("dest", ACCOUNT), ("amount", AMOUNT)), 100,
                release_strategic_reserve, release_strategic_reserve.__doc__ or ""),
        CallDef(2, "execute_milestone_burn", (("name", Text(MAX_MILESTONE_NAME)),), 100, execute_milestone_burn,
                execute_milestone_burn.__doc__ or ""),
    ),
)
