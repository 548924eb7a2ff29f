"""Dispatchable calls of the governance module."""

from __future__ import annotations

from btt_chain.primitives.codec import AMOUNT, BOOL, HASH, U64, Nested
from btt_chain.primitives.extrinsic import Call
from runtime.context import CallContext, Origin, ensure_signed
from runtime.dispatch import CallDef, ModuleDef

from ..governance import logic


def propose(
    ctx: CallContext, origin: Origin, call: Call, description_hash: bytes, deposit: int, emergency: bool
) -> None:
    """Put one runtime call to a referendum, reserving `deposit` (at least the track's minimum). The
    emergency track needs a 2/3 supermajority and is the only one that may release the Strategic Reserve,
    change a parameter's bounds or change a share group."""
    logic.propose(ctx, ensure_signed(origin), call, description_hash, deposit, emergency)


def vote(ctx: CallContext, origin: Origin, ref_id: int, aye: bool, balance: int) -> None:
    """Vote aye or nay with `balance` of the free balance (at most all of it) plus any stake; the balance stays
    locked until voting ends. Voting again replaces the vote."""
    logic.vote(ctx, ensure_signed(origin), ref_id, aye, balance)


def cancel(ctx: CallContext, origin: Origin, ref_id: int) -> None:
    """The proposer withdraws its referendum before voting closes. The deposit comes back if the referendum is
    backed (its aye share, counting only houses whose turnout met the floor, reaches the spam threshold);
    otherwise it is burned, as it would be at the close."""
    logic.cancel(ctx, ensure_signed(origin), ref_id)


MODULE = ModuleDef(
    index=12,
    name="governance",
    calls=(
        CallDef(0, "propose", (("call", Nested(Call)), ("description_hash", HASH), ("deposit", AMOUNT),
                               ("emergency", BOOL)), 1_000, propose, propose.__doc__ or ""),
        CallDef(1, "vote", (("ref_id", U64), ("aye", BOOL), ("balance", AMOUNT)), 500, vote, vote.__doc__ or ""),
        CallDef(2, "cancel", (("ref_id", U64),), 200, cancel, cancel.__doc__ or ""),
    ),
    on_initialize=logic.on_initialize,
)
