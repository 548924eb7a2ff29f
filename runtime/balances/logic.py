"""Balance rules other modules build on: move, burn, reserve, unreserve, slash, freeze.

Every function checks first and writes last, so a raised error leaves state unchanged even outside
a snapshot. Issuance changes only through `burn`: nothing mints after genesis.
"""

from __future__ import annotations

from runtime.context import CallContext

from ..balances import errors, events
from ..balances.locks import refresh_frozen
from ..system import events as system_events
from ..system import storage as system
from ..system.types import AccountInfo

ED_PARAM = "balances.existential_deposit"


def account(ctx: CallContext, who: bytes) -> AccountInfo:
    return system.account.get(ctx.state, who)


def transfer(ctx: CallContext, source: bytes, dest: bytes, amount: int, keep_alive: bool) -> None:
    """Move `amount` of spendable balance. Without keep-alive, a sender left below the existential deposit
    loses the dust (burned); its account record (and nonce) stays so old extrinsics cannot be replayed."""
    if amount == 0:
        raise errors.ZeroAmount()
    if source == dest:
        raise errors.SelfTransfer()
    ed = ctx.param(ED_PARAM)
    src = refresh_frozen(ctx, source)
    new_src, dst, new_dst, dust = plan_transfer(ctx, dest, src, amount, keep_alive, ed)
    write_transfer(ctx, source, dest, amount, new_src, new_dst, dst.total == 0, dust)


def plan_transfer(
    ctx: CallContext, dest: bytes, src: AccountInfo, amount: int, keep_alive: bool, ed: int
) -> tuple[AccountInfo, AccountInfo, AccountInfo, int]:
    """`transfer`'s checks after the amount's and the accounts' (a sender `src` with its locks current, `amount` above
    zero, `dest` another account), writing nothing: (the sender after it, the recipient before and after it, the dust
    burned), or the transfer's error. The executive's fused fee-and-transfer path (runtime/executive.py) shares it."""
    if src.spendable < amount:
        raise errors.InsufficientBalance(f"spendable {src.spendable}, needed {amount}")
    dst = system.account.get(ctx.state, dest)
    if dst.total + amount < ed:
        raise errors.ExistentialDeposit(f"the recipient would hold less than the existential deposit {ed}")
    remaining = src.total - amount
    dust = 0
    if remaining < ed:
        if keep_alive:
            raise errors.KeepAlive(f"the sender would keep {remaining}, below the existential deposit {ed}")
        if src.reserved == 0 and src.frozen == 0:
            dust = src.free - amount
    # AccountInfo(nonce, free, reserved, frozen) built directly: `replace` costs twice as much on the hot path
    return (AccountInfo(src.nonce, src.free - amount - dust, src.reserved, src.frozen), dst,
            AccountInfo(dst.nonce, dst.free + amount, dst.reserved, dst.frozen), dust)


def write_transfer(
    ctx: CallContext, source: bytes, dest: bytes, amount: int, new_src: AccountInfo, new_dst: AccountInfo,
    new_account: bool, dust: int,
) -> None:
    """Write what `plan_transfer` decided (the sender, then the recipient) and emit the transfer's events."""
    system.account.put(ctx.state, source, new_src)
    system.account.put(ctx.state, dest, new_dst)
    ctx.emit(events.Transfer(source, dest, amount))
    if new_account:
        ctx.emit(system_events.NewAccount(dest))
    if dust:
        _reduce_issuance(ctx, dust)
        ctx.emit(events.DustLost(source, dust))


def burn(ctx: CallContext, who: bytes, amount: int, keep_alive: bool = True) -> None:
    """Destroy `amount` of `who`'s spendable balance; total issuance falls by the same amount for good."""
    if amount == 0:
        raise errors.ZeroAmount()
    acc = refresh_frozen(ctx, who)
    if acc.spendable < amount:
        raise errors.InsufficientBalance(f"spendable {acc.spendable}, needed {amount}")
    if keep_alive and 0 < acc.total - amount < ctx.param(ED_PARAM):
        raise errors.KeepAlive("the burn would leave the account below the existential deposit")
    system.account.put(ctx.state, who, acc.replace(free=acc.free - amount))
    _reduce_issuance(ctx, amount)
    ctx.emit(events.Burned(who, amount))


def _reduce_issuance(ctx: CallContext, amount: int) -> None:
    system.total_issuance.put(ctx.state, system.total_issuance.get(ctx.state) - amount)
    system.total_burned.put(ctx.state, system.total_burned.get(ctx.state) + amount)


def reserve(ctx: CallContext, who: bytes, amount: int) -> None:
    """Move spendable balance to reserved (bonds, deposits)."""
    acc = refresh_frozen(ctx, who)
    if acc.spendable < amount:
        raise errors.InsufficientBalance(f"spendable {acc.spendable}, needed {amount}")
    system.account.put(ctx.state, who, acc.replace(free=acc.free - amount, reserved=acc.reserved + amount))
    ctx.emit(events.Reserved(who, amount))


def unreserve(ctx: CallContext, who: bytes, amount: int) -> None:
    acc = system.account.get(ctx.state, who)
    if acc.reserved < amount:
        raise errors.InsufficientReserved(f"reserved {acc.reserved}, asked {amount}")
    system.account.put(ctx.state, who, acc.replace(free=acc.free + amount, reserved=acc.reserved - amount))
    ctx.emit(events.Unreserved(who, amount))


def slash_reserved(ctx: CallContext, who: bytes, amount: int, beneficiary: bytes | None = None) -> int:
    """Take up to `amount` from `who`'s reserved balance: to `beneficiary`, or burned. Returns what was taken."""
    acc = system.account.get(ctx.state, who)
    taken = min(acc.reserved, amount)
    if taken == 0:
        return 0
    system.account.put(ctx.state, who, acc.replace(reserved=acc.reserved - taken))
    if beneficiary is None:
        _reduce_issuance(ctx, taken)
        ctx.emit(events.Burned(who, taken))
    else:
        dst = system.account.get(ctx.state, beneficiary)
        system.account.put(ctx.state, beneficiary, dst.replace(free=dst.free + taken))
        ctx.emit(events.Transfer(who, beneficiary, taken))
    return taken


def set_frozen(ctx: CallContext, who: bytes, frozen: int) -> None:
    """Set the locked part of `who`'s free balance (vesting and vote locks maintain it)."""
    acc = system.account.get(ctx.state, who)
    system.account.put(ctx.state, who, acc.replace(frozen=frozen))


def withdraw_fee(ctx: CallContext, who: bytes, amount: int, current: AccountInfo | None = None) -> AccountInfo:
    """Take a fee from spendable balance and bump the nonce; the caller checked it can pay. `current`: `who`'s
    account as `get_current_account` gave it with nothing written since (saves computing its locks again)."""
    acc = refresh_frozen(ctx, who) if current is None else current
    new = AccountInfo(acc.nonce + 1, acc.free - amount, acc.reserved, acc.frozen)
    system.account.put(ctx.state, who, new)
    ctx.fresh_account = (who, new, ctx.state, ctx.state.writes)
    return new


def deposit(ctx: CallContext, who: bytes, amount: int) -> None:
    """Credit `amount` moved from elsewhere (fee shares, module payouts). Never mints: callers debit first."""
    if amount == 0:
        return
    acc = system.account.get(ctx.state, who)
    system.account.put(ctx.state, who, acc.replace(free=acc.free + amount))
