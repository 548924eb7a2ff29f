"""Referenda: propose (deposit reserved), vote (weights per house, voting balance locked until the end),
cancel, close at the end of voting, enact after the delay. Closing and enactment run at block start.

Lifecycle: voting -> passed | rejected | expired (no quorum) | cancelled; passed -> enacted | failed.
Deposits come back except for spam, rejected or expired with an aye share below `governance.spam_threshold_bps`,
which is burned. An enacted call runs with the governance origin, or the emergency origin on the emergency track,
inside a snapshot: if it fails, its writes are undone and the referendum is marked failed.
"""

from __future__ import annotations

from fractions import Fraction

from btt_chain.primitives.errors import BttError, DispatchError
from btt_chain.primitives.extrinsic import Call
from btt_chain.primitives.hashing import ZERO_HASH
from runtime.balances import logic as balances
from runtime.balances.locks import refresh_frozen
from runtime.context import EMERGENCY, GOVERNANCE, CallContext
from runtime.governance import electorate, errors, events, params, storage, tally
from runtime.governance.types import (
    CANCELLED,
    ENACTED,
    EXPIRED,
    FAILED,
    HOUSE_COUNT,
    PASSED,
    REJECTED,
    STANDARD,
    VOTING,
    Referendum,
    Tally,
    VoteLock,
    VoteRecord,
)
from runtime.governance.types import (
    EMERGENCY as EMERGENCY_TRACK,
)
from runtime.overlay import Overlay
from runtime.params.storage import get_param
from runtime.roles import storage as roles
from runtime.system import storage as system
from runtime.system import time

EMERGENCY_CALLS = frozenset({"treasury.release_strategic_reserve", "params.set_bounds"})
"""Calls only the emergency track may carry (TOKENOMICS.md: a 2/3 supermajority)."""
NOT_CARRIED = frozenset({"governance.propose", "governance.vote", "governance.cancel"})
"""Calls that need a signed origin: a referendum could never enact them."""


def get(state: Overlay, ref_id: int) -> Referendum:
    ref = storage.referenda.get(state, ref_id)
    if ref is None:
        raise errors.UnknownReferendum(f"no referendum {ref_id}")
    return ref


def propose(ctx: CallContext, who: bytes, call: Call, description_hash: bytes, deposit: int, emergency: bool) -> int:
    state = ctx.state
    try:
        name = ctx.runtime.decode_call(call).full_name
    except BttError as exc:
        raise errors.BadProposal(f"the call does not decode: {exc}") from None
    if name in NOT_CARRIED:
        raise errors.BadProposal(f"{name} needs a signed origin: a referendum cannot carry it")
    if name in EMERGENCY_CALLS and not emergency:
        raise errors.EmergencyOnly(f"{name} may only be carried by the emergency track")
    minimum = get_param(state, params.EMERGENCY_DEPOSIT if emergency else params.MIN_DEPOSIT)
    if deposit < minimum:
        raise errors.DepositTooLow(f"deposit {deposit} is below the track's minimum {minimum}")
    open_count = sum(1 for _ in storage.open_referenda.items(state))
    if open_count >= get_param(state, params.MAX_OPEN):
        raise errors.TooManyOpen()
    balances.reserve(ctx, who, deposit)
    ref_id = storage.next_id.get(state)
    now = ctx.env.timestamp_ms
    ends = now + get_param(state, params.VOTING_PERIOD)
    track = EMERGENCY_TRACK if emergency else STANDARD
    ref = Referendum(ref_id, who, call, description_hash, deposit, track, VOTING, now, ends)
    storage.referenda.put(state, ref_id, ref)
    storage.next_id.put(state, ref_id + 1)
    storage.open_referenda.put(state, ref_id, ZERO_HASH)
    ctx.emit(events.Proposed(ref_id, who, name, track, deposit, ends))
    return ref_id


def vote(ctx: CallContext, who: bytes, ref_id: int, aye: bool, balance: int) -> None:
    """Vote aye or nay with the account's weight in every house it belongs to; a second vote replaces the first.
    `balance` of the free balance (at most all of it) counts in the holders' house and is locked until voting
    ends, so the same tokens cannot vote twice; the rest stays spendable (fees, a second vote)."""
    state = ctx.state
    ref = get(state, ref_id)
    if ref.status != VOTING or ctx.env.timestamp_ms >= ref.voting_ends_ms:
        raise errors.VotingClosed()
    weight = electorate.voter_weight(state, who, balance, ref.voting_ends_ms)
    if not any(weight.houses):
        raise errors.NoVotingWeight()
    ayes, nays, turnout = list(ref.tally.ayes), list(ref.tally.nays), ref.tally.turnout
    previous = storage.votes.get(state, storage.vote_key(ref_id, who))
    if previous is not None:
        side = ayes if previous.aye else nays
        for i in range(HOUSE_COUNT):
            side[i] -= previous.weights[i]
        turnout -= previous.turnout
    side = ayes if aye else nays
    for i in range(HOUSE_COUNT):
        side[i] += weight.houses[i]
    turnout += weight.turnout
    storage.votes.put(state, storage.vote_key(ref_id, who), VoteRecord(aye, weight.houses, weight.turnout))
    storage.referenda.put(state, ref_id, ref.replace(tally=Tally(tuple(ayes), tuple(nays), turnout)))
    lock = storage.locks.get(state, who)
    now = ctx.env.timestamp_ms
    amount = weight.lockable
    until = ref.voting_ends_ms
    if lock is not None and lock.until_ms > now:
        amount, until = max(amount, lock.amount), max(until, lock.until_ms)
    storage.locks.put(state, who, VoteLock(amount, until))
    refresh_frozen(ctx, who)
    ctx.emit(events.Voted(ref_id, who, aye))


def cancel(ctx: CallContext, who: bytes, ref_id: int) -> None:
    ref = get(ctx.state, ref_id)
    if ref.proposer != who:
        raise errors.NotProposer()
    if ref.status != VOTING or ctx.env.timestamp_ms >= ref.voting_ends_ms:
        raise errors.VotingClosed()
    balances.unreserve(ctx, who, ref.deposit)
    _finish(ctx, ref.replace(status=CANCELLED))
    ctx.emit(events.Cancelled(ref_id))


def vote_lock(ctx: CallContext, who: bytes) -> int | None:
    """Lock source: the free balance `who`'s votes hold at the block's time (0 once voting has ended)."""
    lock = storage.locks.get(ctx.state, who)
    if lock is None:
        return None
    return lock.amount if ctx.env.timestamp_ms < lock.until_ms else 0


# --- the tally ---------------------------------------------------------------------------------------


def current_house_weights(state: Overlay, now_ms: int) -> tuple[Fraction, ...]:
    base = [get_param(state, params.house_weight(h)) for h in params.HOUSES]
    year = tally.schedule_year(now_ms - system.genesis_time_ms.get(state), time.year_ms(state))
    return tally.house_weights(base, roles.institution_share_bps.get(state) or (), year)


def verdict(state: Overlay, ref: Referendum, now_ms: int) -> tuple[int, Fraction]:
    """(passed / rejected / expired, weighted aye share) if voting closed now."""
    weights = current_house_weights(state, now_ms)
    share = tally.aye_share(weights, ref.tally.ayes, ref.tally.nays)
    if not tally.quorum_met(ref.tally.turnout, electorate.circulating(state), get_param(state, params.QUORUM)):
        return EXPIRED, share
    emergency = ref.track == EMERGENCY_TRACK
    threshold = get_param(state, params.EMERGENCY_THRESHOLD if emergency else params.THRESHOLD)
    if tally.houses_in_favour(ref.tally.ayes, ref.tally.nays) < get_param(state, params.MIN_HOUSES):
        return REJECTED, share  # one house alone decides nothing
    return (PASSED if tally.passes(share, threshold, emergency) else REJECTED), share


# --- block start: close and enact --------------------------------------------------------------------


def on_initialize(ctx: CallContext) -> None:
    if ctx.env.speculative:
        return
    state = ctx.state
    now = ctx.env.timestamp_ms
    for ref_id, _ in list(storage.open_referenda.items(state)):
        ref = storage.referenda.get(state, ref_id)
        if ref.status == VOTING and now >= ref.voting_ends_ms:
            ref = _close(ctx, ref)
        if ref.status == PASSED and now >= ref.enact_at_ms:
            _enact(ctx, ref)


def _close(ctx: CallContext, ref: Referendum) -> Referendum:
    state = ctx.state
    status, share = verdict(state, ref, ref.voting_ends_ms)
    burned = 0
    if status == PASSED:
        ref = ref.replace(status=PASSED, enact_at_ms=ref.voting_ends_ms + get_param(state, params.ENACTMENT_DELAY),
                          aye_share_ppm=tally.ppm(share))
        storage.referenda.put(state, ref.id, ref)
    else:
        # a referendum nobody backs loses its deposit whether it was voted down or ignored (expired without a
        # quorum): otherwise anyone could fill every open slot with proposals nobody votes on, for fees alone
        if status in (REJECTED, EXPIRED) and share < Fraction(get_param(state, params.SPAM_THRESHOLD), tally.BPS):
            burned = balances.slash_reserved(ctx, ref.proposer, ref.deposit)
        if ref.deposit - burned:
            balances.unreserve(ctx, ref.proposer, ref.deposit - burned)
        ref = ref.replace(status=status, aye_share_ppm=tally.ppm(share))
        _finish(ctx, ref)
    ctx.emit(events.VotingClosed(ref.id, status, tally.ppm(share), burned))
    return ref


def _enact(ctx: CallContext, ref: Referendum) -> None:
    origin = EMERGENCY if ref.track == EMERGENCY_TRACK else GOVERNANCE
    n_events = len(ctx.events)
    ctx.state.begin()
    try:
        decoded = ctx.runtime.decode_call(ref.call)
        ctx.runtime.dispatch(ctx, origin, decoded)
    except (DispatchError, BttError) as exc:
        ctx.state.rollback()
        del ctx.events[n_events:]
        error = str(exc)[:512]
        status = FAILED
    else:
        ctx.state.commit()
        error = ""
        status = ENACTED
    balances.unreserve(ctx, ref.proposer, ref.deposit)
    _finish(ctx, ref.replace(status=status, error=error))
    ctx.emit(events.Enacted(ref.id, status == ENACTED, error))


def _finish(ctx: CallContext, ref: Referendum) -> None:
    storage.referenda.put(ctx.state, ref.id, ref)
    storage.open_referenda.remove(ctx.state, ref.id)
