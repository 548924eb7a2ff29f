"""Dispatchable calls of the treasury module: governance origin only.

`release_strategic_reserve` needs a governance origin here; that it comes from an emergency-track
referendum (2/3 supermajority, TOKENOMICS.md) is the governance module's rule for which track may carry
this call, not this module's.
"""

from __future__ import annotations

from btt_chain.primitives.codec import ACCOUNT, AMOUNT, Text
from runtime.balances import logic as balances
from runtime.context import CallContext, Origin, ensure_governance
from runtime.dispatch import CallDef, ModuleDef
from runtime.system import storage as system
from runtime.treasury import errors, events, logic
from runtime.treasury.types import SPEND_SOURCES, STRATEGIC_RESERVE


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
    """Unfreeze `amount` of the Strategic Reserve and pay it to `dest` (the foundation multisig)."""
    ensure_governance(origin)
    reserve = logic.module_id(STRATEGIC_RESERVE)
    acc = system.account.get(ctx.state, reserve)
    logic.check_payout(ctx, acc, acc.free, amount)
    balances.set_frozen(ctx, reserve, max(0, acc.frozen - amount))
    balances.transfer(ctx, reserve, dest, amount, keep_alive=False)
    ctx.emit(events.StrategicReserveReleased(dest, amount, acc.free - amount))


MODULE = ModuleDef(
    index=9,
    name="treasury",
    calls=(
        CallDef(0, "spend", (("source", Text(32)), ("dest", ACCOUNT), ("amount", AMOUNT)), 100, spend,
                spend.__doc__ or ""),
        CallDef(1, "release_strategic_reserve", (("dest", ACCOUNT), ("amount", AMOUNT)), 100,
                release_strategic_reserve, release_strategic_reserve.__doc__ or ""),
    ),
)
