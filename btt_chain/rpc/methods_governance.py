"""RPC methods of governance, read at the head (or a block `at`; a referendum's call decoded by the runtime at that
block): `btt_referenda` (referenda newest first, with the aye and nay
weight stored per house, and why a rejected or expired one did not pass), `btt_referendum` (one referendum
with its tally: each house's weight this year after empty houses are re-spread, its aye share, its aye voters,
its turnout against its whole electorate, the aye weight of its aye voters other than the
`governance.house_min_aye_voters` - 1 largest (`tally.other_aye`) against `governance.house_min_other_aye_bps` of
that electorate, and whether it counts as a house in favour (aye above nay, turnout at least
`governance.house_turnout_floor_bps`, at least `governance.house_min_aye_voters` aye voters, that weight at least
its bar), the combined aye share, the holders' turnout against the quorum, the track's threshold, the backing the
spam rule measures (`deposit`: whether rejecting, expiring or cancelling it burns the deposit): while voting,
`liveTally` from `logic.verdict` (of the spec that runs the next block), the function that closes referenda, with
the verdict if voting closed now; once closed, `tallyAtClose`, the same figures as the runtime stored them at the
close, the weight beyond the largest aye voters from `governance.other_aye_at_close`, null where the chain stored
none, a referendum closed before it did) and `btt_voter` (what an account weighs in each house, and the free
balance its votes lock).

Amounts and house weights are decimal strings of base units (credit units in the compute house, seats in
the representatives house); shares are decimal fractions as strings ("0.75", exact when the fraction has
at most 18 decimals, else cut at 18) and also parts per million; accounts are SS58 addresses; hashes are
0x-hex; times are milliseconds since the Unix epoch.
"""

from __future__ import annotations

from collections.abc import Generator
from fractions import Fraction
from typing import Any

from btt_chain.primitives.address import encode_address
from btt_chain.primitives.amounts import format_btt
from btt_chain.primitives.codec import U64_MAX, U128, AccountId, Compact, Field, ListOf, MultiAddress, Nested, Struct
from btt_chain.primitives.errors import BttError
from btt_chain.primitives.extrinsic import Call
from btt_chain.rpc import params as p
from btt_chain.rpc import runtime_info
from btt_chain.rpc.at import state_view
from btt_chain.rpc.errors import invalid_params
from btt_chain.rpc.paging import int_in, wire_index, wire_of
from btt_chain.rpc.registry import REGISTRY, Param, RpcContext, Stepwise, optional
from btt_chain.rpc.render import hex0x
from runtime.dispatch import Runtime
from runtime.governance import electorate, logic, storage, tally
from runtime.governance import params as gparams
from runtime.governance.types import (
    CANCELLED,
    EMERGENCY,
    EXPIRED,
    FAILED,
    FIXED_ONE,
    REJECTED,
    STATUSES,
    TRACKS,
    VOTING,
    ClosedOtherAye,
    ClosedTally,
    Referendum,
    TallyFigures,
)
from runtime.overlay import Overlay
from runtime.system import storage as system

method = REGISTRY.method

SCALE = 10**18
"""Shares are given as decimal fractions with at most 18 decimals."""
PPM = 1_000_000
REFERENDA_DEFAULT = 100
REFERENDA_MAX = 100
"""Referenda per `btt_referenda` page."""
REFERENDA_SCANNED = 2_000
"""Referendum ids `btt_referenda` reads per call (a status filter reads each one's status from its stored form;
only the listed referenda are decoded)."""


# parameters -----------------------------------------------------------------------------------------


def referendum_id(value: Any, ctx: RpcContext) -> int:
    return p.u64_id(value, "referendum id")


def referendum_status(value: Any, ctx: RpcContext) -> int:
    if not isinstance(value, str) or value not in STATUSES:
        raise invalid_params(f"status: expected one of {', '.join(STATUSES)}, got {p.describe(value)}")
    return STATUSES.index(value)


# rendering ------------------------------------------------------------------------------------------


def share(value: Fraction) -> str:
    """A share in [0, 1] as a decimal fraction: 3/4 -> '0.75', 2/3 -> '0.666666666666666666' (cut at 18)."""
    return format_btt(value.numerator * SCALE // value.denominator, 18)


def render_value(f: Field, value: Any, prefix: int) -> Any:
    """A decoded call argument as JSON: amounts as decimal strings, accounts as SS58, bytes as 0x-hex."""
    if isinstance(f, U128) or (isinstance(f, Compact) and f.bits > 64):
        return str(value)
    if isinstance(f, (AccountId, MultiAddress)):
        return encode_address(value, prefix)
    if isinstance(f, ListOf):
        return [render_value(f.item, v, prefix) for v in value]
    if isinstance(f, Nested) and isinstance(value, Struct):
        return {name: render_value(sub, getattr(value, name), prefix) for name, sub in value.WIRE}
    return _render_raw(value)


def _render_raw(value: Any) -> Any:
    if isinstance(value, bytes):
        return hex0x(value)
    if isinstance(value, (list, tuple)):
        return [_render_raw(v) for v in value]
    return value


def render_call(call: Call, prefix: int, runtime: Runtime) -> dict[str, Any]:
    """A call (a referendum's, an extrinsic's) decoded by `runtime`: its name and its arguments by name (raw if that
    runtime does not decode it)."""
    try:
        decoded = runtime.decode_call(call)
    except BttError:
        return {"name": None, "module": call.module, "function": call.function, "args": _render_raw(call.args)}
    return {
        "name": decoded.full_name,
        "module": decoded.module.index,
        "function": decoded.call.index,
        "args": {
            name: render_value(f, value, prefix)
            for (name, f), value in zip(decoded.call.args, decoded.args, strict=True)
        },
    }


def render_stored_tally(ref: Referendum) -> dict[str, Any]:
    """The aye and nay weight per house as stored, and the holders' turnout (free + staked, no multiplier)."""
    return {
        "houses": {
            house: {"aye": str(ref.tally.ayes[i]), "nay": str(ref.tally.nays[i])}
            for i, house in enumerate(gparams.HOUSES)
        },
        "turnout": str(ref.tally.turnout),
    }


def render_referendum(ref: Referendum, prefix: int, runtime: Runtime) -> dict[str, Any]:
    """A referendum as stored, its call decoded by `runtime` (the runtime at the block read)."""
    closed = ref.status not in (VOTING, CANCELLED)
    return {
        "id": ref.id,
        "proposer": encode_address(ref.proposer, prefix),
        "call": render_call(ref.call, prefix, runtime),
        "descriptionHash": hex0x(ref.description_hash),
        "deposit": str(ref.deposit),
        "track": TRACKS[ref.track],
        "status": STATUSES[ref.status],
        "submittedMs": ref.submitted_ms,
        "votingEndsMs": ref.voting_ends_ms,
        "enactAtMs": ref.enact_at_ms or None,
        "ayeSharePpm": ref.aye_share_ppm if closed else None,
        "ayeShare": share(Fraction(ref.aye_share_ppm, PPM)) if closed else None,
        "error": (ref.error or None) if ref.status == FAILED else None,
        "reason": (ref.error or None) if ref.status in (REJECTED, EXPIRED) else None,
        "tally": render_stored_tally(ref),
    }


def render_figures(f: TallyFigures, track: int, other: ClosedOtherAye | None) -> dict[str, Any]:
    """A tally's figures (`logic.figures`: live, or frozen when voting closed) as JSON; the same shape for both.
    `other`: each house's weight beyond its largest aye voters (`logic.other_aye_figures`, or as frozen at the close
    in `governance.other_aye_at_close`); None for a referendum closed before the chain stored it (or a live tally
    under a spec without the rule), whose figures then read null (not recorded), never a number the chain did not
    check."""
    houses = {}
    for i, house in enumerate(gparams.HOUSES):
        h = f.houses[i]
        voted = h.aye + h.nay
        house_share = Fraction(h.aye, voted) if voted else None
        beyond = tally.turnout(other.other_aye[i], h.electorate) if other is not None else None
        houses[house] = {
            "aye": str(h.aye),
            "nay": str(h.nay),
            "ayeVoters": h.aye_voters,
            "weightThisYear": fixed_share(h.weight_this_year),
            "weight": fixed_share(h.weight),
            "weightPpm": fixed_ppm(h.weight),
            "empty": voted == 0,
            "ayeShare": share(house_share) if house_share is not None else None,
            "ayeSharePpm": tally.ppm(house_share) if house_share is not None else None,
            "voted": str(h.voted),
            "electorate": str(h.electorate),
            "turnout": fixed_share(h.turnout),
            "turnoutPpm": fixed_ppm(h.turnout),
            "meetsTurnoutFloor": h.meets_floor,
            "enoughAyeVoters": h.enough_aye_voters,
            "otherAye": str(other.other_aye[i]) if other is not None else None,
            "otherAyeShare": share(beyond) if beyond is not None else None,
            "otherAyeSharePpm": tally.ppm(beyond) if beyond is not None else None,
            "enoughOtherAye": other.enough_other_aye[i] if other is not None else None,
            "inFavour": h.in_favour,
        }
    emergency = track == EMERGENCY
    return {
        "at": f.at_ms,
        "houses": houses,
        "ayeShare": fixed_share(f.aye_share),
        "ayeSharePpm": fixed_ppm(f.aye_share),
        "quorum": {
            "turnout": str(f.quorum_turnout),
            "circulating": str(f.circulating),
            "quorumBps": f.quorum_bps,
            "required": str(-(-f.circulating * f.quorum_bps // tally.BPS)),
            "met": f.quorum_met,
        },
        "housesInFavour": {
            "count": f.houses_in_favour,
            "needed": f.houses_needed,
            "turnoutFloorBps": f.turnout_floor_bps,
            "minAyeVoters": f.min_aye_voters,
            "minOtherAyeBps": other.min_other_aye_bps if other is not None else None,
            "otherAyeLeavesOut": max(0, f.min_aye_voters - 1),
            "otherAyeRecorded": other is not None,
            "met": f.houses_in_favour >= f.houses_needed,
        },
        "threshold": {
            "track": TRACKS[track],
            "thresholdBps": f.threshold_bps,
            "rule": "at least" if emergency else "above",
        },
        "deposit": {
            "backedShare": fixed_share(f.backed_share),
            "backedSharePpm": fixed_ppm(f.backed_share),
            "spamThresholdBps": f.spam_threshold_bps,
            "spam": f.spam,
        },
    }


def fixed_share(value: int) -> str:
    """A share stored in 1/10^18 (`types.FIXED_ONE`) as `share` renders the exact fraction."""
    return format_btt(value, 18)


def fixed_ppm(value: int) -> int:
    return value * PPM // FIXED_ONE


def electorate_of(state: Overlay) -> Any:
    """The electorate rules of the spec that runs the next block (spec 20 sums the compute house from per-epoch
    totals and cuts its window to the work window), as `live_tally` takes that spec's verdict."""
    return runtime_info.module_of(runtime_info.reading_runtime(state), electorate.__name__)


def live_tally(state: Overlay, ref: Referendum, work: int | None = None) -> dict[str, Any]:
    """The tally of a referendum still voting, as `logic.verdict` computes it (and `logic.figures` renders it, as
    the runtime freezes it at the close): house weights at the head's time (at the end of voting once that has
    passed), each house's electorate, the quorum and the turnout floor against the state at the head, and the
    verdict if voting closed now with its reason. `work`: the compute house's whole weight, if the caller has it
    (`electorate.work_total`). The verdict is the one of the spec that runs the next block (its own
    `governance.logic`), the rules the close would apply: each house's weight beyond its largest aye voters is that
    verdict's own (`logic.other_aye_figures`), not a second count, and null under a spec that has no such rule."""
    now = system.timestamp_ms.get(state)
    at = min(now, ref.voting_ends_ms)
    rules = runtime_info.module_of(runtime_info.reading_runtime(state), logic.__name__)
    v = rules.verdict(state, ref, at, electorate_of(state).work_total(state) if work is None else work)
    other = rules.other_aye_figures(v) if hasattr(rules, "other_aye_figures") else None
    out = render_figures(rules.figures(v), ref.track, other)
    out["verdict"] = STATUSES[v.status]
    out["verdictReason"] = v.reason or None
    return out


def tally_at_close(ref: Referendum, closed: ClosedTally, other: ClosedOtherAye | None) -> dict[str, Any]:
    """The figures the runtime stored when voting closed (or the proposer cancelled): nothing is recomputed, so
    they stay what decided the referendum. `verdict` is what it decided, `verdictReason` the stored reason of a
    rejected or expired one; `block` and `closedMs` say when. `other`: the weight beyond each house's largest aye
    voters as stored beside them (`storage.closed_other_ayes`), None if the chain stored none (closed before it
    did): those fields then read null, `housesInFavour.otherAyeRecorded` false."""
    out = render_figures(closed.figures, ref.track, other)
    out["verdict"] = STATUSES[closed.status]
    out["verdictReason"] = (ref.error or None) if closed.status in (REJECTED, EXPIRED) else None
    out["block"] = closed.block
    out["closedMs"] = closed.closed_ms
    return out


# methods --------------------------------------------------------------------------------------------


@method(
    "btt_referenda",
    optional("status", referendum_status),
    optional("at", p.block_hash),
    optional("limit", int_in("limit", 1, REFERENDA_MAX), REFERENDA_DEFAULT),
    optional("before", int_in("before", 0, U64_MAX)),
)
def btt_referenda(
    ctx: RpcContext, status: int | None, at: bytes | None, count: int, before: int | None
) -> list[dict[str, Any]]:
    """Referenda newest first with ids below `before` (default: all), only those in `status` if given, at most
    `limit` (default and at most 100): proposer, call with its arguments, description hash, deposit, track,
    status, times, the final aye share once voting closed, and the stored per-house aye and nay weight. One call
    reads at most 2,000 ids: ids [before - 2,000, before). To page on, pass the last id listed as `before` if the
    page is full, else `before` - 2,000 (nothing is left below 0)."""
    state = state_view(ctx, at)
    prefix = ctx.node.spec.ss58_prefix
    runtime = runtime_info.reading_runtime(state)
    top = storage.next_id.get(state) if before is None else min(before, storage.next_id.get(state))
    out = []
    for ref_id in range(top - 1, max(top - REFERENDA_SCANNED, 0) - 1, -1):
        raw = state.get(storage.referenda.key(ref_id))
        if raw is None or (status is not None and wire_of(Referendum, raw)[_STATUS] != status):
            continue
        out.append(render_referendum(storage.referenda.get(state, ref_id), prefix, runtime))
        if len(out) >= count:
            break
    return out


_STATUS = wire_index(Referendum, "status")


@method("btt_referendum", Param("id", referendum_id), optional("at", p.block_hash))
def btt_referendum(ctx: RpcContext, ref_id: int, at: bytes | None) -> Stepwise:
    """One referendum (as in `btt_referenda`), or null if there is no such referendum. While it is voting:
    `liveTally`, the verdict if voting closed now (`frozen` false, `tallyAtClose` null); the tally's compute-house
    electorate is the runtime's sum of the credit matured in the window, read once per block (since spec 20 from
    per-epoch totals, at most the work window's; in the first work window after that upgrade, and under earlier
    specs, also from every provider's credit history, worked out in steps of `electorate.WORK_TOTAL_STEP` histories,
    each its own unit of the RPC lane; every figure is of the block that was the head, or `at`, when the
    call began). Once voting has closed or it was cancelled: `frozen` true and `tallyAtClose`, the figures the
    runtime stored then, with the block and time (`liveTally` null: nothing is recounted against today's
    electorates). The weight beyond each house's largest aye voters costs the live tally one pass over the
    referendum's votes, inside `logic.verdict` (each vote paid its fee), and a closed one a single read
    (`storage.closed_other_ayes`), no votes."""
    state_view(ctx, at)  # an unknown or pruned block is refused now, before any step
    return Stepwise(referendum_steps(ctx, ref_id, at))


def referendum_steps(ctx: RpcContext, ref_id: int, at: bytes | None) -> Generator[None, None, dict[str, Any] | None]:
    """`btt_referendum`'s answer, in steps (see there)."""
    block_hash = at or ctx.node.chain.head_hash  # the block answered for, fixed in the first step
    state = state_view(ctx, block_hash)
    ref = storage.referenda.get(state, ref_id)
    if ref is None:
        return None
    out = render_referendum(ref, ctx.node.spec.ss58_prefix, runtime_info.reading_runtime(state))
    closed = storage.closed_tallies.get(state, ref_id)
    out["frozen"] = closed is not None
    other = storage.closed_other_ayes.get(state, ref_id) if closed is not None else None
    out["tallyAtClose"] = tally_at_close(ref, closed, other) if closed is not None else None
    out["liveTally"] = None
    if ref.status == VOTING:
        work = _WORK_TOTALS.get(block_hash)
        if work is None:
            # every history is read in this first step, as the block left them; the decoding is spread over steps
            work = yield from electorate_of(state).work_total_in_steps(state, electorate.WORK_TOTAL_STEP)
            _WORK_TOTALS.clear()
            _WORK_TOTALS[block_hash] = work
            state = state_view(ctx, block_hash)  # that block's state again, should the head have moved meanwhile
        out["liveTally"] = live_tally(state, ref, work)
    return out


_WORK_TOTALS: dict[bytes, int] = {}
"""Block hash -> the compute house's whole weight in the state after it (the last one asked for): the explorer asks
for up to 20 referenda every 2 s."""


@method("btt_voter", Param("account", p.account), optional("at", p.block_hash))
def btt_voter(ctx: RpcContext, who: bytes, at: bytes | None) -> dict[str, Any]:
    """What `account` would weigh in each house if it voted now, its holders' turnout, the free balance a vote
    would lock, its vote lock (`amount` until `untilMs`; `locked` is what it holds at the head's time, 0 once
    voting has ended) and its votes in open referenda (one read per open referendum: at most
    `governance.max_open_referenda`, itself at most 1,000)."""
    state = state_view(ctx, at)
    prefix = ctx.node.spec.ss58_prefix
    now = system.timestamp_ms.get(state)
    weight = electorate_of(state).voter_weight(state, who)
    lock = storage.locks.get(state, who)
    votes = []
    for ref_id, _ in storage.open_referenda.items(state):
        record = storage.votes.get(state, storage.vote_key(ref_id, who))
        if record is not None:
            votes.append(
                {
                    "referendum": ref_id,
                    "vote": "aye" if record.aye else "nay",
                    "weights": {house: str(record.weights[i]) for i, house in enumerate(gparams.HOUSES)},
                    "turnout": str(record.turnout),
                }
            )
    return {
        "address": encode_address(who, prefix),
        "weights": {house: str(weight.houses[i]) for i, house in enumerate(gparams.HOUSES)},
        "turnout": str(weight.turnout),
        "lockable": str(weight.lockable),
        "lock": None if lock is None else {
            "amount": str(lock.amount),
            "untilMs": lock.until_ms,
            "locked": str(lock.amount if now < lock.until_ms else 0),
        },
        "votes": sorted(votes, key=lambda v: v["referendum"]),
    }
