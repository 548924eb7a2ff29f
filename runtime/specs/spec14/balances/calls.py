"""Dispatchable calls of the balances module."""

from __future__ import annotations

from btt_chain.primitives.codec import ADDRESS, BOOL, COMPACT_AMOUNT
from runtime.context import CallContext, Origin, ensure_signed
from runtime.dispatch import CallDef, ModuleDef

from ..balances import logic
from ..balances import storage as _frame_items  # noqa: F401  (FRAME's Locks, Freezes, Holds in the metadata)
from ..balances.locks import refresh_frozen


def transfer_allow_death(ctx: CallContext, origin: Origin, dest: bytes, value: int) -> None:
    """Send `value` to `dest`; a sender left below the existential deposit loses the dust."""
    logic.transfer(ctx, ensure_signed(origin), dest, value, keep_alive=False)


def transfer_keep_alive(ctx: CallContext, origin: Origin, dest: bytes, value: int) -> None:
    """Send `value` to `dest`, failing if the sender would drop below the existential deposit."""
    logic.transfer(ctx, ensure_signed(origin), dest, value, keep_alive=True)


def transfer_all(ctx: CallContext, origin: Origin, dest: bytes, keep_alive: bool) -> None:
    """Send the whole spendable balance (less the existential deposit when keep_alive)."""
    who = ensure_signed(origin)
    acc = refresh_frozen(ctx, who)
    amount = acc.spendable
    if keep_alive:
        amount = max(0, min(amount, acc.total - ctx.param(logic.ED_PARAM)))
    logic.transfer(ctx, who, dest, amount, keep_alive)


def burn(ctx: CallContext, origin: Origin, value: int, keep_alive: bool) -> None:
    """Destroy `value` of the caller's balance; total issuance falls for good."""
    logic.burn(ctx, ensure_signed(origin), value, keep_alive)


_DEST = ("dest", ADDRESS)
_VALUE = ("value", COMPACT_AMOUNT)
"""FRAME's argument names and types (`dest: MultiAddress`, `value: Compact<u128>`), so Substrate wallets build
these calls from the metadata as they build FRAME's."""

MODULE = ModuleDef(
    index=1,
    name="balances",
    calls=(
        CallDef(0, "transfer_allow_death", (_DEST, _VALUE), 100, transfer_allow_death,
                transfer_allow_death.__doc__ or ""),
        CallDef(1, "transfer_keep_alive", (_DEST, _VALUE), 100, transfer_keep_alive,
                transfer_keep_alive.__doc__ or ""),
        CallDef(2, "transfer_all", (_DEST, ("keep_alive", BOOL)), 110, transfer_all, transfer_all.__doc__ or ""),
        CallDef(3, "burn", (_VALUE, ("keep_alive", BOOL)), 80, burn, burn.__doc__ or ""),
    ),
)
