"""Treasury rules: pay out of a module account, never leaving it holding dust."""

from __future__ import annotations

from btt_chain.primitives.accounts import module_account
from runtime.context import CallContext

from ..balances import logic as balances
from ..system.types import AccountInfo
from ..treasury import errors


def check_payout(ctx: CallContext, acc: AccountInfo, available: int, amount: int) -> None:
    """Refuse zero, more than `available`, or a payment that would strand dust in the module account."""
    if amount == 0:
        raise errors.ZeroAmount()
    if available < amount:
        raise errors.InsufficientFunds(f"available {available}, asked {amount}")
    remaining = acc.total - amount
    if 0 < remaining < ctx.param(balances.ED_PARAM):
        raise errors.WouldLeaveDust(f"{remaining} would remain, below the existential deposit")


def module_id(name: str) -> bytes:
    return module_account(name)
