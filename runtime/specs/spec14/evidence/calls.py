"""Dispatchable calls of the evidence module. Any signed account may report; the reporter is rewarded.

Calls 0 and 1 judge the offender by the chain's own key owners; calls 2 and 3 take key authorizations too, for keys
the chain never saw (`btt_chain.primitives.key_authorization`). Call indices are never reused or reordered."""

from __future__ import annotations

from btt_chain.primitives.codec import Bytes, ListOf
from runtime.context import CallContext, Origin, ensure_signed
from runtime.dispatch import CallDef, ModuleDef

from ..evidence import logic


def report_block_equivocation(ctx: CallContext, origin: Origin, header_a: bytes, header_b: bytes) -> None:
    """Report two different headers for one slot sealed by keys of one account (canonical encodings)."""
    reporter = ensure_signed(origin)
    logic.punish(ctx, reporter, logic.check_block_equivocation(ctx, header_a, header_b))


def report_vote_equivocation(ctx: CallContext, origin: Origin, vote_a: bytes, vote_b: bytes) -> None:
    """Report two finality votes by keys of one account that double-vote or surround one another (canonical
    encodings)."""
    reporter = ensure_signed(origin)
    logic.punish(ctx, reporter, logic.check_vote_equivocation(ctx, vote_a, vote_b))


def report_block_equivocation_with_keys(
    ctx: CallContext, origin: Origin, header_a: bytes, header_b: bytes, key_authorizations: tuple[bytes, ...]
) -> None:
    """As `report_block_equivocation`, with up to two key authorizations (SCALE `KeyAuthorization`s: an account's
    signed `session.set_keys` or `bonds.register_validator` naming a key the headers are sealed with): the account
    that signed them answers for those keys."""
    reporter = ensure_signed(origin)
    logic.punish(ctx, reporter, logic.check_block_equivocation(ctx, header_a, header_b, key_authorizations))


def report_vote_equivocation_with_keys(
    ctx: CallContext, origin: Origin, vote_a: bytes, vote_b: bytes, key_authorizations: tuple[bytes, ...]
) -> None:
    """As `report_vote_equivocation`, with up to two key authorizations (SCALE `KeyAuthorization`s: an account's
    signed `session.set_keys` or `bonds.register_validator` naming a key the votes are signed with): the account that
    signed them answers for those keys."""
    reporter = ensure_signed(origin)
    logic.punish(ctx, reporter, logic.check_vote_equivocation(ctx, vote_a, vote_b, key_authorizations))


_EVIDENCE = Bytes(max_len=logic.MAX_EVIDENCE_BYTES)
_AUTHORIZATIONS = ("key_authorizations", ListOf(Bytes(max_len=logic.MAX_AUTHORIZATION_BYTES), logic.MAX_AUTHORIZATIONS))
WEIGHT = 2_000
"""Two or four signature checks, a decode, and a few reads and writes."""
WEIGHT_WITH_KEYS = 4_000
"""As WEIGHT, and up to two authorizations: an extrinsic signature and an ownership proof each."""

MODULE = ModuleDef(
    index=4,
    name="evidence",
    calls=(
        CallDef(0, "report_block_equivocation", (("header_a", _EVIDENCE), ("header_b", _EVIDENCE)), WEIGHT,
                report_block_equivocation, report_block_equivocation.__doc__ or ""),
        CallDef(1, "report_vote_equivocation", (("vote_a", _EVIDENCE), ("vote_b", _EVIDENCE)), WEIGHT,
                report_vote_equivocation, report_vote_equivocation.__doc__ or ""),
        CallDef(2, "report_block_equivocation_with_keys",
                (("header_a", _EVIDENCE), ("header_b", _EVIDENCE), _AUTHORIZATIONS), WEIGHT_WITH_KEYS,
                report_block_equivocation_with_keys, report_block_equivocation_with_keys.__doc__ or ""),
        CallDef(3, "report_vote_equivocation_with_keys",
                (("vote_a", _EVIDENCE), ("vote_b", _EVIDENCE), _AUTHORIZATIONS), WEIGHT_WITH_KEYS,
                report_vote_equivocation_with_keys, report_vote_equivocation_with_keys.__doc__ or ""),
    ),
)
