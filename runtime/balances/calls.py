"""Dispatchable calls of the balances module."""

from __future__ import annotations

from btt_chain.primitives.codec import ACCOUNT, AMOUNT, BOOL
from runtime.balances import logic
from runtime.balances.locks import refresh_frozen
from runtime.context import CallContext, Origin, ensure_signed
from runtime.dispatch import CallDef, ModuleDef


def transfer(ctx: CallContext, origin: Origin, dest: bytes, amount: int) -> None:
    """Send `amount` to `dest`; a sender left below the existential deposit loses the dust."""
    logic.transfer(ctx, ensure_signed(origin), dest, amount, keep_alive=False)


def transfer_keep_alive(ctx: CallContext, origin: Origin, dest: bytes, amount: int) -> None:
    """Send `amount` to `dest`, failing if the sender would drop below the existential deposit."""
    logic.transfer(ctx, ensure_signed(origin), dest, amount, keep_alive=True)


def transfer_all(ctx: CallContext, origin: Origin, dest: bytes, keep_alive: bool) -> None:
    """Send the whole spendable balance (less the existential deposit when keep_alive)."""
    who = ensure_signed(origin)
    acc = refresh_frozen(ctx, who)
    amount = acc.spendable
    if keep_alive:
        amount = max(0, min(amount, acc.total - ctx.param(logic.ED_PARAM)))
    logic.transfer(ctx, who, dest, amount, keep_alive)


def burn(ctx: CallContext, origin: Origin, amount: int, keep_alive: bool) -> None:
    """Destroy `amount` of the caller's balance; total issuance falls for good."""
    logic.burn(ctx, ensure_signed(origin), amount, keep_alive)


_DEST = ("dest", ACCOUNT)
_AMOUNT = ("amount", AMOUNT)

MODULE = ModuleDef(
    index=1,
    name="balances",
    calls=(
        CallDef(0, "transfer", (_DEST, _AMOUNT), 100, transfer, transfer.__doc__ or ""),
        CallDef(1, "transfer_keep_alive", (_DEST, _AMOUNT), 100, transfer_keep_alive,
                transfer_keep_alive.__doc__ or ""),
        CallDef(2, "transfer_all", (_DEST, ("keep_alive", BOOL)), 110, transfer_all, transfer_all.__doc__ or ""),
        CallDef(3, "burn", (_AMOUNT, ("keep_alive", BOOL)), 80, burn, burn.__doc__ or ""),
    ),
)
