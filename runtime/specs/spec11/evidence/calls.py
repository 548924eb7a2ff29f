"""Dispatchable calls of the evidence module. Any signed account may report; the reporter is rewarded."""

from __future__ import annotations

from btt_chain.primitives.codec import Bytes
from runtime.context import CallContext, Origin, ensure_signed
from runtime.dispatch import CallDef, ModuleDef

from ..evidence import logic


def report_block_equivocation(ctx: CallContext, origin: Origin, header_a: bytes, header_b: bytes) -> None:
    """Report two different headers sealed by one validator for one slot (canonical encodings)."""
    reporter = ensure_signed(origin)
    offender, kind, slot = logic.check_block_equivocation(ctx, header_a, header_b)
    logic.punish(ctx, reporter, offender, kind, slot)


def report_vote_equivocation(ctx: CallContext, origin: Origin, vote_a: bytes, vote_b: bytes) -> None:
    """Report two finality votes by one validator that double-vote or surround one another (canonical
    encodings)."""
    reporter = ensure_signed(origin)
    offender, kind, epoch = logic.check_vote_equivocation(ctx, vote_a, vote_b)
    logic.punish(ctx, reporter, offender, kind, epoch)


_EVIDENCE = Bytes(max_len=logic.MAX_EVIDENCE_BYTES)
WEIGHT = 2_000
"""Two or four signature checks, a decode, and a few reads and writes."""

MODULE = ModuleDef(
    index=4,
    name="evidence",
    calls=(
        CallDef(0, "report_block_equivocation", (("header_a", _EVIDENCE), ("header_b", _EVIDENCE)), WEIGHT,
                report_block_equivocation, report_block_equivocation.__doc__ or ""),
        CallDef(1, "report_vote_equivocation", (("vote_a", _EVIDENCE), ("vote_b", _EVIDENCE)), WEIGHT,
                report_vote_equivocation, report_vote_equivocation.__doc__ or ""),
    ),
)
