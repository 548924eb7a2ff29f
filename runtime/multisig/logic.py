"""Multisig rules: check the signatory set, record approvals, execute at the threshold, cancel."""

from __future__ import annotations

from contextvars import ContextVar

from btt_chain.primitives.accounts import multisig_account
from btt_chain.primitives.errors import DecodeError, DispatchError, InvalidExtrinsic
from btt_chain.primitives.hashing import blake2b_256
from runtime.context import CallContext, Origin
from runtime.dispatch import DecodedCall

from ..balances import logic as balances
from ..multisig import errors, events, storage
from ..multisig.types import Pending

DEPOSIT_PARAM = "multisig.deposit"
MAX_SIGNATORIES_PARAM = "multisig.max_signatories"
MAX_CALL_BYTES = 8192
"""Largest encoded call a multisig may approve."""
MAX_NESTING = 1
"""Multisig executions that may be open while another one starts (a multisig inside a multisig)."""

_executing: ContextVar[int] = ContextVar("multisig_executing", default=0)
"""How many multisig executions enclose the current dispatch (the runtime is synchronous)."""


def check_signatories(ctx: CallContext, who: bytes, others: tuple[bytes, ...], threshold: int) -> bytes:
    """The multisig account of `who` + `others` at `threshold`, after checking the set is well formed."""
    if who in others:
        raise errors.SenderInSignatories()
    if len(set(others)) != len(others):
        raise errors.DuplicateSignatory()
    n = len(others) + 1
    limit = ctx.param(MAX_SIGNATORIES_PARAM)
    if n > limit:
        raise errors.TooManySignatories(f"{n} signatories, at most {limit}")
    if not 2 <= threshold <= n:
        raise errors.ThresholdOutOfRange(f"threshold {threshold} with {n} signatories")
    return multisig_account((who, *others), threshold)


def decode_call_data(ctx: CallContext, call_data: bytes) -> DecodedCall:
    """Decode strictly: a canonical Call encoding whose indices and arguments match the runtime."""
    try:
        return ctx.runtime.decode_call(ctx.runtime.call_of(call_data, MAX_CALL_BYTES))
    except (DecodeError, InvalidExtrinsic) as exc:
        raise errors.InvalidCall(str(exc)) from None


def approve(ctx: CallContext, who: bytes, others: tuple[bytes, ...], threshold: int, call_data: bytes) -> None:
    account = check_signatories(ctx, who, others, threshold)
    decoded = decode_call_data(ctx, call_data)
    call_hash = blake2b_256(call_data)
    key = storage.pending_key(account, call_hash)
    current = storage.pending.get(ctx.state, key)
    if current is not None and who in current.approvals:
        raise errors.AlreadyApproved()
    if current is None:
        deposit = ctx.param(DEPOSIT_PARAM)
        balances.reserve(ctx, who, deposit)
        storage.pending.put(ctx.state, key, Pending(who, deposit, (who,), ctx.env.number))
        ctx.emit(events.NewMultisig(account, who, call_hash))
        return
    approvals = (*current.approvals, who)
    if len(approvals) < threshold:
        storage.pending.put(ctx.state, key, current.replace(approvals=approvals))
        ctx.emit(events.Approval(account, who, call_hash, len(approvals)))
        return
    depth = _executing.get()
    if depth >= MAX_NESTING and decoded.module.name == "multisig":
        raise errors.NestingTooDeep()
    storage.pending.remove(ctx.state, key)
    balances.unreserve(ctx, current.depositor, current.deposit)
    ctx.emit(events.Approval(account, who, call_hash, len(approvals)))
    _execute(ctx, account, call_hash, decoded, depth)


def _execute(ctx: CallContext, account: bytes, call_hash: bytes, decoded: DecodedCall, depth: int) -> None:
    """Run the call as the multisig account in a snapshot; a failure is undone and reported in the event."""
    n_events = len(ctx.events)
    token = _executing.set(depth + 1)
    ctx.state.begin()
    try:
        ctx.runtime.dispatch(ctx, Origin.signed(account), decoded)
    except DispatchError as exc:
        ctx.state.rollback()
        del ctx.events[n_events:]
        ctx.emit(events.Executed(account, call_hash, False, str(exc)[:512]))
    else:
        ctx.state.commit()
        ctx.emit(events.Executed(account, call_hash, True, ""))
    finally:
        _executing.reset(token)


def cancel(ctx: CallContext, who: bytes, others: tuple[bytes, ...], threshold: int, call_hash: bytes) -> None:
    account = check_signatories(ctx, who, others, threshold)
    key = storage.pending_key(account, call_hash)
    current = storage.pending.get(ctx.state, key)
    if current is None:
        raise errors.NotFound()
    if current.depositor != who:
        raise errors.NotOwner()
    storage.pending.remove(ctx.state, key)
    balances.unreserve(ctx, who, current.deposit)
    ctx.emit(events.Cancelled(account, call_hash))
