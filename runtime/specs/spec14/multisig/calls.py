"""Dispatchable calls of the multisig module."""

from __future__ import annotations

from typing import Any

from btt_chain.primitives.codec import ACCOUNT, HASH, U16, Bytes, ListOf
from btt_chain.primitives.errors import DecodeError, InvalidExtrinsic
from runtime.context import CallContext, Origin, ensure_signed
from runtime.dispatch import CallDef, ModuleDef, Runtime
from runtime.overlay import Overlay

from ..multisig import logic
from ..multisig.types import MAX_SIGNATORIES


def approve(ctx: CallContext, origin: Origin, other_signatories: list[bytes], threshold: int,
            call_data: bytes) -> None:
    """Approve the encoded call for the multisig of the caller and `other_signatories` at `threshold`. The
    first approval reserves the deposit; the approval that reaches the threshold runs the call as the
    multisig account and returns the deposit, whether the call succeeds or fails."""
    logic.approve(ctx, ensure_signed(origin), tuple(other_signatories), threshold, call_data)


def cancel(ctx: CallContext, origin: Origin, other_signatories: list[bytes], threshold: int,
           call_hash: bytes) -> None:
    """Drop a call awaiting approval (the first approver only); its deposit is returned."""
    logic.cancel(ctx, ensure_signed(origin), tuple(other_signatories), threshold, call_hash)


_OTHERS = ("other_signatories", ListOf(ACCOUNT, MAX_SIGNATORIES))
_THRESHOLD = ("threshold", U16)
WEIGHT = 3_000
"""The approval's own work; every approval also pays the weight of the call it carries (`inner_weight`), since
the approval that reaches the threshold runs it and nobody can tell in advance which one that is."""


def inner_weight(runtime: Runtime, state: Overlay, args: tuple[Any, ...]) -> int:
    """The weight of the call inside `call_data` (0 if it does not decode: the approval then fails)."""
    try:
        return runtime.weight(state, runtime.decode_call(runtime.call_of(args[2], logic.MAX_CALL_BYTES)))
    except (DecodeError, InvalidExtrinsic):
        return 0


MODULE = ModuleDef(
    index=8,
    name="multisig",
    calls=(
        CallDef(0, "approve", (_OTHERS, _THRESHOLD, ("call_data", Bytes(max_len=logic.MAX_CALL_BYTES))), WEIGHT,
                approve, approve.__doc__ or "", extra_weight=inner_weight),
        CallDef(1, "cancel", (_OTHERS, _THRESHOLD, ("call_hash", HASH)), 500, cancel, cancel.__doc__ or ""),
    ),
)
