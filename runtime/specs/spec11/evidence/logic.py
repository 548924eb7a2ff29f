"""Evidence rules: decode and check evidence, find the offender, slash its bond once per offence.

The genesis hash that votes commit to is read from state: the system module keeps block 0's hash (the
genesis hash, written as block 1's parent) for good.
"""

from __future__ import annotations

from btt_chain.primitives.block import Header
from btt_chain.primitives.errors import DecodeError
from btt_chain.primitives.evidence import BLOCK_EQUIVOCATION, is_block_equivocation, is_vote_equivocation, vote_offence
from btt_chain.primitives.vote import Vote
from runtime.context import CallContext

from ..bonds import logic as bonds
from ..evidence import errors, events, storage
from ..session import storage as session
from ..system import storage as system

BPS = 10_000
FRACTION_PARAM = "slashing.fraction_bps"
REPORTER_PARAM = "slashing.reporter_bps"
MAX_EVIDENCE_BYTES = 4096
"""Largest encoded header or vote a report may carry (a header is about 300 bytes, a vote about 200)."""


def genesis_hash(ctx: CallContext) -> bytes:
    h = system.block_hash.get(ctx.state, 0)
    if h is None:  # only before block 1 is initialised, when no extrinsic can run
        raise errors.InvalidEvidence("the genesis hash is not known yet")
    return h


def decode_header(raw: bytes, label: str) -> Header:
    try:
        return Header.decode(raw, MAX_EVIDENCE_BYTES)
    except DecodeError as exc:
        raise errors.InvalidEvidence(f"{label} is not a header: {exc}") from None


def decode_vote(raw: bytes, label: str) -> Vote:
    try:
        return Vote.decode(raw, MAX_EVIDENCE_BYTES)
    except DecodeError as exc:
        raise errors.InvalidEvidence(f"{label} is not a vote: {exc}") from None


def check_block_equivocation(ctx: CallContext, header_a: bytes, header_b: bytes) -> tuple[bytes, str, int]:
    """The offence (session key, kind, slot) the two encoded headers prove; InvalidEvidence otherwise."""
    a, b = decode_header(header_a, "header_a"), decode_header(header_b, "header_b")
    reason = is_block_equivocation(a, b, genesis_hash(ctx))
    if reason is not None:
        raise errors.InvalidEvidence(reason)
    return a.author, BLOCK_EQUIVOCATION, a.slot


def check_vote_equivocation(ctx: CallContext, vote_a: bytes, vote_b: bytes) -> tuple[bytes, str, int]:
    """The offence (session key, kind, later target epoch) the two encoded votes prove; InvalidEvidence
    otherwise."""
    a, b = decode_vote(vote_a, "vote_a"), decode_vote(vote_b, "vote_b")
    reason = is_vote_equivocation(a, b, genesis_hash(ctx))
    kind = vote_offence(a, b)
    if reason is not None or kind is None:
        raise errors.InvalidEvidence(reason or "the votes do not conflict")
    return a.validator, kind, max(a.target.epoch, b.target.epoch)


def punish(ctx: CallContext, reporter: bytes, session_key: bytes, kind: str, when: int) -> None:
    """Slash the validator with `session_key` for the offence (kind, when), once. Conditions first: raises
    NotAValidator or DuplicateReport before writing anything."""
    validators = list(session.validators.get(ctx.state))
    index = next((i for i, v in enumerate(validators) if v.session_key == session_key), None)
    if index is None:  # a key the validator has rotated away from (`session.set_keys`) is still its own
        owner = session.owner_of_key(ctx.state, session_key)
        index = next((i for i, v in enumerate(validators) if owner is not None and v.account == owner), None)
    if index is None:
        raise errors.NotAValidator(f"0x{session_key.hex()} is not the session key of a current validator")
    key = storage.offence_key(session_key, kind, when)
    if storage.reports.contains(ctx.state, key):
        raise errors.DuplicateReport(f"{kind} at {when} by 0x{session_key.hex()} was already reported")

    v = validators[index]
    # the bonds module keeps the bond ledger (unlocking chunks included) and reserved balance consistent
    burned, reward = bonds.slash(ctx, v.account, v.bond * ctx.param(FRACTION_PARAM) // BPS, reporter)
    new_bond = max(0, v.bond - burned - reward)
    removed = new_bond == 0 and len(validators) > 1
    if removed:
        # never the last validator: a chain with none cannot author the block that would add one
        del validators[index]
    else:
        validators[index] = v.replace(bond=new_bond)
    session.validators.put(ctx.state, tuple(validators))
    storage.reports.put(ctx.state, key, ctx.env.number)
    if removed:
        ctx.emit(events.ValidatorRemoved(v.account))
    ctx.emit(events.Slashed(v.account, burned, reward, kind))
