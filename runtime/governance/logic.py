"""Referenda: propose (deposit reserved), vote (weights per house, voting balance locked until the end),
cancel, close at the end of voting, enact after the delay. Closing and enactment run at block start.

Lifecycle: voting -> passed | rejected | expired (no quorum) | cancelled; passed -> enacted | failed.
Deposits come back except for spam: a referendum rejected, expired or cancelled whose backing (the aye share
counting only houses whose turnout met `governance.house_turnout_floor_bps`, `tally.backed_share`) is below
`governance.spam_threshold_bps` loses its deposit to the burn. A rejected or expired referendum keeps why, in
words, in its `error` field. An enacted call runs with the governance origin, or the emergency origin on the
emergency track, inside a snapshot: if it fails, its writes are undone and the referendum is marked failed.

The tally is frozen when voting closes (and when a proposal is cancelled): every figure the verdict was taken on
(per house aye, nay, aye voters, weights, turnout against the electorate, floor and head count met; the houses
rule, quorum, threshold and backing, with the parameters they were checked against) is stored once in
`storage.closed_tallies` with the block and time, so what is shown of a closed referendum is what decided it,
not a recount against electorates that have moved since (the compute house's is a sliding window). The weight
beyond each house's largest aye voters (`tally.other_aye`, `governance.house_min_other_aye_bps`) is frozen beside
it in `storage.closed_other_ayes`.

That weight is read from the referendum's votes when the verdict is taken (one pass over them: at the close, on a
cancellation, per RPC tally): which voters are the largest can change with every vote, and a running maximum
cannot be kept when a vote is replaced, so the tally keeps no figure of it. Each vote paid its fee, so the pass is
bounded by what voting cost, never by anything free.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from btt_chain.primitives.errors import BttError, DispatchError
from btt_chain.primitives.extrinsic import Call
from btt_chain.primitives.hashing import ZERO_HASH
from runtime.context import EMERGENCY, GOVERNANCE, CallContext
from runtime.overlay import Overlay

from ..balances import logic as balances
from ..balances.locks import lock_identifier, refresh_frozen
from ..governance import electorate, errors, events, params, storage, tally
from ..governance.types import (
    CANCELLED,
    ENACTED,
    EXPIRED,
    FAILED,
    FIXED_ONE,
    HOUSE_COUNT,
    PASSED,
    REJECTED,
    STANDARD,
    VOTING,
    ClosedOtherAye,
    ClosedTally,
    HouseFigures,
    Referendum,
    Tally,
    TallyFigures,
    VoteLock,
    VoteRecord,
)
from ..governance.types import (
    EMERGENCY as EMERGENCY_TRACK,
)
from ..params.storage import get_param
from ..roles import storage as roles
from ..system import storage as system
from ..system import time

EMERGENCY_CALLS = frozenset({
    "treasury.release_strategic_reserve", "params.set_bounds", "params.set_shares", "system.schedule_spec",
})
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
    ends, so the same tokens cannot vote twice; the rest stays spendable (fees, a second vote). The lock holds
    against every withdrawal, the inclusion fee and the tip included, as Substrate's conviction-voting locks do
    (`WithdrawReasons::except(RESERVE)`): a fee or tip from counted tokens would hand them to the block author
    while they still count here. Wallets keep a margin out of the vote for fees (`btt-chain vote` does)."""
    state = ctx.state
    ref = get(state, ref_id)
    if ref.status != VOTING or ctx.env.timestamp_ms >= ref.voting_ends_ms:
        raise errors.VotingClosed()
    weight = electorate.voter_weight(state, who, balance, ref.voting_ends_ms)
    if not any(weight.houses):
        raise errors.NoVotingWeight()
    ayes, nays, turnout = list(ref.tally.ayes), list(ref.tally.nays), ref.tally.turnout
    aye_voters = list(ref.tally.aye_voters)
    previous = storage.votes.get(state, storage.vote_key(ref_id, who))
    if previous is not None:
        side = ayes if previous.aye else nays
        for i in range(HOUSE_COUNT):
            side[i] -= previous.weights[i]
            if previous.aye and previous.weights[i]:
                aye_voters[i] -= 1
        turnout -= previous.turnout
    side = ayes if aye else nays
    for i in range(HOUSE_COUNT):
        side[i] += weight.houses[i]
        if aye and weight.houses[i]:  # an account is one aye voter in each house it weighs in, however it votes again
            aye_voters[i] += 1
    turnout += weight.turnout
    storage.votes.put(state, storage.vote_key(ref_id, who), VoteRecord(aye, weight.houses, weight.turnout))
    new_tally = Tally(tuple(ayes), tuple(nays), turnout, tuple(aye_voters))
    storage.referenda.put(state, ref_id, ref.replace(tally=new_tally))
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
    """The proposer withdraws its referendum; the deposit comes back only if the referendum is backed as the
    spam rule asks at the close (otherwise it is burned): a free withdrawal would let anyone hold every open
    slot for a whole voting period and take the deposits back just before the end."""
    ref = get(ctx.state, ref_id)
    if ref.proposer != who:
        raise errors.NotProposer()
    if ref.status != VOTING or ctx.env.timestamp_ms >= ref.voting_ends_ms:
        raise errors.VotingClosed()
    v = verdict(ctx.state, ref, ctx.env.timestamp_ms)
    _settle_deposit(ctx, ref, v.backed)
    _freeze(ctx, ref.id, CANCELLED, v)
    _finish(ctx, ref.replace(status=CANCELLED))
    ctx.emit(events.Cancelled(ref_id))


@lock_identifier(b"pyconvot")  # FRAME's pallet_conviction_voting identifier: what a referendum vote locks
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


@dataclass(frozen=True, slots=True)
class Verdict:
    """What closing a referendum now would decide, why, and every figure it was decided on."""

    status: int
    """PASSED, REJECTED or EXPIRED."""
    share: Fraction
    """The weighted aye share (every house that voted, empty houses re-spread)."""
    houses: tuple[tally.HouseResult, ...]
    in_favour: int
    """Houses in favour: aye above nay, turnout at least the floor, enough aye voters and enough aye weight beyond
    the largest of them."""
    needed: int
    """`governance.min_houses_in_favour`."""
    floor_bps: int
    backed: Fraction
    """The aye share counting only houses at or above their turnout floor: the spam rule's measure."""
    reason: str
    """Why it does not pass, in words ("" when it passes)."""
    at_ms: int
    """The time the house weights were taken at."""
    year_weights: tuple[Fraction, ...]
    """Each house's weight this year (after the decentralisation schedule)."""
    counted: tuple[Fraction, ...]
    """Each house's weight as the tally counts it (empty houses re-spread)."""
    min_aye_voters: int
    """`governance.house_min_aye_voters`."""
    min_other_bps: int
    """`governance.house_min_other_aye_bps`."""
    circulating: int
    quorum_bps: int
    threshold_bps: int
    spam_bps: int


def verdict(state: Overlay, ref: Referendum, now_ms: int, work: int | None = None) -> Verdict:
    """The verdict if voting closed now: house weights at `now_ms`, each house's electorate and the circulating
    supply as the state holds them. `work`: the compute house's electorate if already read (None: read it
    here, but only if someone voted in that house: an empty house counts toward nothing whatever its size)."""
    weights = current_house_weights(state, now_ms)
    ayes, nays = ref.tally.ayes, ref.tally.nays
    if work is None:
        work = electorate.work_total(state) if ayes[tally.COMPUTE] + nays[tally.COMPUTE] else 0
    share = tally.aye_share(weights, ayes, nays)
    electorates = electorate.house_electorates(state, work)
    floor_bps = get_param(state, params.HOUSE_TURNOUT_FLOOR)
    min_aye_voters = get_param(state, params.HOUSE_MIN_AYE_VOTERS)
    min_other_bps = get_param(state, params.HOUSE_MIN_OTHER_AYE)
    houses = tally.house_results(ayes, nays, ref.tally.aye_voters, tally.voted(ayes, nays, ref.tally.turnout),
                                 electorates, floor_bps, min_aye_voters,
                                 others=others_aye(state, ref, min_aye_voters), min_other_bps=min_other_bps)
    in_favour = tally.houses_in_favour(houses)
    needed = get_param(state, params.MIN_HOUSES)
    backed = tally.backed_share(weights, houses)
    emergency = ref.track == EMERGENCY_TRACK
    threshold = get_param(state, params.EMERGENCY_THRESHOLD if emergency else params.THRESHOLD)
    quorum = get_param(state, params.QUORUM)
    circulating = electorates[tally.HOLDERS]
    counted = tally.counted_weights(weights, ayes, nays)
    spam_bps = get_param(state, params.SPAM_THRESHOLD)

    def decided(status: int, reason: str) -> Verdict:
        return Verdict(status, share, houses, in_favour, needed, floor_bps, backed, reason, now_ms, weights, counted,
                       min_aye_voters, min_other_bps, circulating, quorum, threshold, spam_bps)

    if not tally.quorum_met(ref.tally.turnout, circulating, quorum):
        return decided(EXPIRED, f"expired: token holders' turnout "
                                f"{tally.percent(tally.turnout(ref.tally.turnout, circulating))} of the circulating "
                                f"supply, below the quorum of {tally.percent(Fraction(quorum, tally.BPS))}")
    if in_favour < needed:  # one house alone decides nothing, nor does a house almost nobody voted in
        return decided(REJECTED, _houses_reason(houses, in_favour, needed, floor_bps, min_aye_voters, min_other_bps))
    if not tally.passes(share, threshold, emergency):
        rule = "at least" if emergency else "more than"
        return decided(REJECTED, f"rejected: aye share {tally.percent(share)}, needs {rule} "
                                 f"{tally.percent(Fraction(threshold, tally.BPS))}")
    return decided(PASSED, "")


def others_aye(state: Overlay, ref: Referendum, min_aye_voters: int) -> tuple[int, ...]:
    """Each house's aye weight beyond its `min_aye_voters` - 1 largest aye voters (`tally.other_aye`), from the
    referendum's current votes (no pass when nobody voted aye)."""
    if not any(ref.tally.aye_voters):
        return (0,) * HOUSE_COUNT
    votes = ((v.aye, v.weights, v.turnout) for v in storage.votes_of(state, ref.id))
    return tally.others_aye_by_house(votes, min_aye_voters)


def _houses_reason(houses: tuple[tally.HouseResult, ...], in_favour: int, needed: int, floor_bps: int,
                   min_aye_voters: int, min_other_bps: int) -> str:
    names = [params.HOUSES[i] for i, h in enumerate(houses) if h.in_favour]
    counted = f" ({', '.join(names)})" if names else ""
    text = (f"rejected: {in_favour} house{'' if in_favour == 1 else 's'}{counted} in favour at or above "
            f"the turnout floor of {tally.percent(Fraction(floor_bps, tally.BPS))}, {needed} needed")
    below = [f"{params.HOUSES[i]} ({tally.percent(h.turnout)} turnout)" for i, h in enumerate(houses)
             if h.aye > h.nay and not h.meets_floor]
    if below:
        text += f"; in favour below the floor: {', '.join(below)}"
    few = [f"{params.HOUSES[i]} ({h.aye_voters})" for i, h in enumerate(houses)
           if h.aye > h.nay and h.meets_floor and not h.enough_aye_voters]
    if few:
        text += (f"; in favour with fewer than {min_aye_voters} aye voter{'' if min_aye_voters == 1 else 's'}: "
                 f"{', '.join(few)}")
    light = [f"{params.HOUSES[i]} ({tally.percent(tally.turnout(h.other_aye, h.electorate))})"
             for i, h in enumerate(houses)
             if h.aye > h.nay and h.meets_floor and h.enough_aye_voters and not h.enough_other_aye]
    if light:
        text += (f"; in favour with under {tally.percent(Fraction(min_other_bps, tally.BPS))} of the house's weight "
                 f"{_beyond(min_aye_voters)}: {', '.join(light)}")
    return text


def _beyond(min_aye_voters: int) -> str:
    """Whose aye weight `governance.house_min_other_aye_bps` measures, in words."""
    largest = min_aye_voters - 1
    if largest <= 0:
        return "voting aye"
    if largest == 1:
        return "voting aye beyond the largest aye voter"
    return f"voting aye beyond the {largest} largest aye voters"


def figures(v: Verdict) -> TallyFigures:
    """A verdict's figures as integers (shares in 1/10^18): what the runtime freezes when voting closes and what
    the RPC shows, for an open referendum as for a closed one."""
    one = FIXED_ONE
    houses = tuple(
        HouseFigures(h.aye, h.nay, h.aye_voters, tally.fixed(v.year_weights[i], one), tally.fixed(v.counted[i], one),
                     h.voted, h.electorate, tally.fixed(h.turnout, one), h.meets_floor, h.enough_aye_voters,
                     h.in_favour)
        for i, h in enumerate(v.houses)
    )
    quorum_turnout = v.houses[tally.HOLDERS].voted
    return TallyFigures(
        at_ms=v.at_ms,
        houses=houses,
        aye_share=tally.fixed(v.share, one),
        houses_in_favour=v.in_favour,
        houses_needed=v.needed,
        turnout_floor_bps=v.floor_bps,
        min_aye_voters=v.min_aye_voters,
        quorum_turnout=quorum_turnout,
        circulating=v.circulating,
        quorum_bps=v.quorum_bps,
        quorum_met=tally.quorum_met(quorum_turnout, v.circulating, v.quorum_bps),
        threshold_bps=v.threshold_bps,
        backed_share=tally.fixed(v.backed, one),
        spam_threshold_bps=v.spam_bps,
        spam=v.backed < Fraction(v.spam_bps, tally.BPS),
    )


def other_aye_figures(v: Verdict) -> ClosedOtherAye:
    """A verdict's weight rule per house (`tally.other_aye` against `governance.house_min_other_aye_bps`)."""
    return ClosedOtherAye(tuple(h.other_aye for h in v.houses), tuple(h.enough_other_aye for h in v.houses),
                          v.min_other_bps)


def _freeze(ctx: CallContext, ref_id: int, status: int, v: Verdict) -> None:
    """Keep the figures that decided the referendum: after this, nothing the chain does moves what is shown."""
    closed = ClosedTally(ctx.env.number, ctx.env.timestamp_ms, status, figures(v))
    storage.closed_tallies.put(ctx.state, ref_id, closed)
    storage.closed_other_ayes.put(ctx.state, ref_id, other_aye_figures(v))


# --- block start: close and enact --------------------------------------------------------------------


def on_initialize(ctx: CallContext) -> None:
    if ctx.env.speculative:
        return
    state = ctx.state
    now = ctx.env.timestamp_ms
    work: int | None = None
    for ref_id, _ in list(storage.open_referenda.items(state)):
        ref = storage.referenda.get(state, ref_id)
        if ref.status == VOTING and now >= ref.voting_ends_ms:
            # the compute house's electorate (a sum of per-epoch credit totals; under spec 19 a pass over every
            # credit history): read once for the referenda closing in this block, and only if someone voted there
            if work is None and ref.tally.ayes[tally.COMPUTE] + ref.tally.nays[tally.COMPUTE]:
                work = electorate.work_total(state)
            ref = _close(ctx, ref, work)
        if ref.status == PASSED and now >= ref.enact_at_ms:
            _enact(ctx, ref)
            work = None  # an enacted call may change what it counts (the window's length, say): read it again


def _close(ctx: CallContext, ref: Referendum, work: int | None) -> Referendum:
    state = ctx.state
    v = verdict(state, ref, ref.voting_ends_ms, work)
    _freeze(ctx, ref.id, v.status, v)
    burned = 0
    if v.status == PASSED:
        ref = ref.replace(status=PASSED, enact_at_ms=ref.voting_ends_ms + get_param(state, params.ENACTMENT_DELAY),
                          aye_share_ppm=tally.ppm(v.share))
        storage.referenda.put(state, ref.id, ref)
    else:
        # a referendum nobody backs loses its deposit whether it was voted down or ignored (expired without a
        # quorum): otherwise anyone could fill every open slot with proposals nobody votes on, for fees alone
        burned = _settle_deposit(ctx, ref, v.backed)
        ref = ref.replace(status=v.status, aye_share_ppm=tally.ppm(v.share), error=v.reason)
        _finish(ctx, ref)
    ctx.emit(events.VotingClosed(ref.id, v.status, tally.ppm(v.share), burned))
    return ref


def _settle_deposit(ctx: CallContext, ref: Referendum, backed: Fraction) -> int:
    """Give the deposit back, or burn it if the referendum's backing is below the spam threshold. Returns what
    was burned. Backing counts only houses at or above their turnout floor, so a proposer's own aye with a few
    tokens (which alone would make the plain aye share 100%) does not save a proposal nobody else backs."""
    burned = 0
    if backed < Fraction(get_param(ctx.state, params.SPAM_THRESHOLD), tally.BPS):
        burned = balances.slash_reserved(ctx, ref.proposer, ref.deposit)
    if ref.deposit - burned:
        balances.unreserve(ctx, ref.proposer, ref.deposit - burned)
    return burned


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
