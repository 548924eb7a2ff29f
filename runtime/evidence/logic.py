"""Evidence rules: decode and check evidence, find the offending account, slash what it holds once per offence.

An offence is an account's, not a session key's. Two items (headers for one slot, or conflicting votes) are one
offence of account A when each was signed by a key of A: a key `session.owner_of_key` gives to A (the permanent
`session.key_owner`, the sets, the registrations), or a key A's own key authorization names
(`btt_chain.primitives.key_authorization`: A's signed `session.set_keys` or `bonds.register_validator`, e.g. from a
fork where the chain never saw the rotation). An authorization only ever convicts its own signer, so it counts for a
key the chain gives to another account too: `register_validator` took no proof of possession before spec 17 (and an
old-form claim can still be signed at any time), and another account claiming the key on this fork must not let its
holder escape.

An offence is punishable while it is inside the evidence window (`bonds.evidence_window_ms`, from the offence's slot,
or its later target epoch's first slot for votes, to the reporting block's slot) and the account holds any bonded or
unlocking funds, whether it is in a set or not: deregistering, unbonding or rotating keys changes nothing about that.
The slash is `slashing.fraction_bps` of everything the account holds in its bond ledger (active and unlocking),
taken from the active bond first and then from the unlocking chunks, newest first (`bonds.slash`);
`slashing.reporter_bps` of it goes to the reporter and the rest is burned.

The genesis hash that items commit to is read from state: the system module keeps block 0's hash (the genesis hash,
written as block 1's parent) for good.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from btt_chain.primitives.block import Header
from btt_chain.primitives.errors import DecodeError
from btt_chain.primitives.evidence import (
    BLOCK_EQUIVOCATION,
    block_pair_problem,
    offence_epoch,
    vote_offence,
    vote_pair_problem,
)
from btt_chain.primitives.key_authorization import (
    MAX_KEY_AUTHORIZATION_BYTES,
    KeyAuthorization,
    decode_key_authorization,
    key_authorization_problem,
)
from btt_chain.primitives.vote import Vote
from runtime.context import CallContext

from ..bonds import logic as bonds
from ..consensus import storage as consensus
from ..evidence import errors, events, storage
from ..session import storage as session
from ..system import storage as system

BPS = 10_000
FRACTION_PARAM = "slashing.fraction_bps"
REPORTER_PARAM = "slashing.reporter_bps"
WINDOW_PARAM = bonds.EVIDENCE_WINDOW_PARAM
MAX_EVIDENCE_BYTES = 4096
"""Largest encoded header or vote a report may carry (a header is about 300 bytes, a vote about 200)."""
MAX_AUTHORIZATIONS = 2
"""A report names at most two keys, so it needs at most two key authorizations."""
MAX_AUTHORIZATION_BYTES = MAX_KEY_AUTHORIZATION_BYTES


@dataclass(frozen=True)
class Offence:
    """What a checked report proves: `account` committed `kind` at `when` (a slot for blocks, the later target epoch
    for votes), signing with `keys`; the evidence window runs from `slot`."""

    account: bytes
    kind: str
    when: int
    slot: int
    keys: tuple[bytes, ...]


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


def check_block_equivocation(
    ctx: CallContext, header_a: bytes, header_b: bytes, authorizations: Sequence[bytes] = ()
) -> Offence:
    """The offence two encoded headers prove: two blocks for one slot sealed by keys of one account. InvalidEvidence,
    BadKeyAuthorization or NotAValidator otherwise."""
    a, b = decode_header(header_a, "header_a"), decode_header(header_b, "header_b")
    g = genesis_hash(ctx)
    reason = block_pair_problem(a, b, g)
    if reason is not None:
        raise errors.InvalidEvidence(reason)
    keys = (a.author, b.author)
    return Offence(offender_of(ctx, keys, authorizations, g), BLOCK_EQUIVOCATION, a.slot, a.slot, keys)


def check_vote_equivocation(
    ctx: CallContext, vote_a: bytes, vote_b: bytes, authorizations: Sequence[bytes] = ()
) -> Offence:
    """The offence two encoded votes prove: a double or surround vote by keys of one account, at the later target
    epoch. InvalidEvidence, BadKeyAuthorization or NotAValidator otherwise."""
    a, b = decode_vote(vote_a, "vote_a"), decode_vote(vote_b, "vote_b")
    g = genesis_hash(ctx)
    reason = vote_pair_problem(a, b, g)
    kind = vote_offence(a, b)
    if reason is not None or kind is None:
        raise errors.InvalidEvidence(reason or "the votes do not conflict")
    keys = (a.validator, b.validator)
    epoch = offence_epoch(a, b)
    first_slot = epoch * consensus.epoch_slots.get(ctx.state)  # 0 on a chain of one endless epoch (test chains)
    return Offence(offender_of(ctx, keys, authorizations, g), kind, epoch, first_slot, keys)


def offender_of(ctx: CallContext, keys: tuple[bytes, ...], authorizations: Sequence[bytes], g: bytes) -> bytes:
    """The one account every key in `keys` signs for. With authorizations: their one signer, each naming a key of
    `keys`, and every key they do not name owned by that signer on this chain. Without: the chain's owner of every
    key, one account for all."""
    named: dict[bytes, bytes] = {}
    for i, raw in enumerate(authorizations):
        auth, key = _checked_authorization(raw, i, g, ctx.runtime.spec_version)
        if key not in keys:
            raise errors.BadKeyAuthorization(f"the authorization names 0x{key.hex()}, which signed no item here")
        if key in named:
            raise errors.BadKeyAuthorization(f"two authorizations name 0x{key.hex()}")
        named[key] = auth.account
    if len(set(named.values())) > 1:
        raise errors.BadKeyAuthorization("the authorizations are signed by two accounts")
    owners = {}
    for key in dict.fromkeys(keys):
        owner = named.get(key) or session.owner_of_key(ctx.state, key)
        if owner is None:
            raise errors.NotAValidator(
                f"0x{key.hex()} never signed for an account on this chain; a key authorization can name it"
            )
        owners[key] = owner
    accounts = set(owners.values())
    if len(accounts) > 1:
        raise errors.InvalidEvidence(
            "the items are signed by keys of different accounts ("
            + ", ".join(f"0x{k.hex()} of 0x{a.hex()}" for k, a in owners.items()) + ")"
        )
    return accounts.pop()


def _checked_authorization(raw: bytes, index: int, g: bytes, spec: int) -> tuple[KeyAuthorization, bytes]:
    """The authorization in `raw` and the key it names, checked for this chain by the running `spec`'s rules (a
    `register_validator` carries its key's proof from spec 17 on); BadKeyAuthorization otherwise."""
    try:
        auth = decode_key_authorization(raw)
        problem = key_authorization_problem(auth, g, spec)
        if problem is not None:
            raise errors.BadKeyAuthorization(f"authorization {index}: {problem}")
        return auth, auth.named_key(spec).session_key
    except DecodeError as exc:
        raise errors.BadKeyAuthorization(f"authorization {index} does not decode: {exc}") from None


def slashable(ctx: CallContext, account: bytes) -> tuple[int, int]:
    """(what `account` holds in its bond ledger, active and unlocking; what a slash takes of it)."""
    led = bonds.get_ledger(ctx.state, account)
    held = 0 if led is None else led.total
    return held, held * ctx.param(FRACTION_PARAM) // BPS


def punish(ctx: CallContext, reporter: bytes, offence: Offence) -> None:
    """Slash `offence.account` for the offence, once. Conditions first (OffenceTooOld, DuplicateReport,
    NothingToSlash), before anything is written. A member of the active set keeps its bond there less what was
    taken, and leaves it at nothing (never the last one); `bonds.slash` restricts the queued set and the next
    schedule to the new active bond."""
    window = ctx.param(WINDOW_PARAM)
    age_ms = max(0, ctx.env.slot - offence.slot) * consensus.slot_ms.get(ctx.state)
    if age_ms > window:
        raise errors.OffenceTooOld(
            f"{offence.kind} at {offence.when} is {age_ms} ms old (from slot {offence.slot}); reports are taken for "
            f"{window} ms"
        )
    who = offence.account
    if storage.offences.contains(ctx.state, storage.offence_key(who, offence.kind, offence.when)):
        raise errors.DuplicateReport(f"{offence.kind} at {offence.when} by 0x{who.hex()} was already reported")
    held, amount = slashable(ctx, who)
    if amount == 0:
        raise errors.NothingToSlash(f"0x{who.hex()} holds {held} bonded or unlocking, nothing to slash")

    validators = list(session.validators.get(ctx.state))
    index = next((i for i, v in enumerate(validators) if v.account == who), None)
    burned, reward = bonds.slash(ctx, who, amount, reporter)
    removed = False
    if index is not None:
        v = validators[index]
        new_bond = max(0, v.bond - burned - reward)
        removed = new_bond == 0 and len(validators) > 1
        if removed:
            # never the last validator: a chain with none cannot author the block that would add one
            del validators[index]
        else:
            validators[index] = v.replace(bond=new_bond)
        session.validators.put(ctx.state, tuple(validators))
    storage.offences.put(ctx.state, storage.offence_key(who, offence.kind, offence.when), ctx.env.number)
    if removed:
        ctx.emit(events.ValidatorRemoved(who))
    ctx.emit(events.Slashed(who, burned, reward, offence.kind))
