"""RPC methods of the patient incentives, read at the head: `btt_points` (an account's points, its redemption
request of this epoch and what it would be paid if the epoch ended now, its home oracle, whether it chose it and the
rows that oracle's patients hold in the epoch's table, the points each oracle attested it, the epoch's requests
together, what its latest settled request was paid, the rate, the cap and its attestations) and `btt_oracles` (the
health oracles appointed per activity type, from the roles module's storage, with the points each activity earns).
Wherever an oracle is shown, so is what it attested this epoch against `incentives.oracle_points_per_epoch`.

Amounts and points are decimal strings (amounts in base units); accounts are SS58 addresses; hashes are 0x-hex.
"This epoch" is the epoch of the head block: the requests of an epoch are paid in the first block of a later one.
"""

from __future__ import annotations

from typing import Any

from btt_chain.primitives.address import encode_address
from btt_chain.rpc import params as p
from btt_chain.rpc.at import state_view
from btt_chain.rpc.paging import SeekableReader, bounded_scan, state_views
from btt_chain.rpc.registry import REGISTRY, Param, RpcContext, optional
from runtime.balances.logic import ED_PARAM
from runtime.incentives import home as homes
from runtime.incentives import logic, redemption, storage
from runtime.incentives import params as iparams
from runtime.incentives.types import ACTIVITIES, MAX_REQUESTS_PER_EPOCH, Attestation, Payout, RedeemRound
from runtime.overlay import Overlay
from runtime.params import storage as params
from runtime.roles import logic as roles
from runtime.system import storage as system

method = REGISTRY.method

MAX_ATTESTATIONS = 500
"""Attestations `btt_points` lists, the newest."""
ATTESTATIONS_COUNTED = 2_000
"""Attestations `btt_points` counts (keys only): `attestationCount` says how many, up to this many
(`attestationCountComplete` false if there are more)."""
MAX_ATTESTED_BY = 100
"""Oracles `btt_points` lists in `attestedBy` (the first this many by account id, read by one bounded scan:
`attestedByComplete` false if more have attested the account). Governance appoints oracles one a referendum, so a
patient attested by more is not expected; the home oracle is shown apart, whatever the list holds."""


def render_attestation(evidence: bytes, a: Attestation, prefix: int) -> dict[str, Any]:
    return {
        "evidence": "0x" + evidence.hex(),
        "activity": a.activity,
        "oracle": encode_address(a.oracle, prefix),
        "points": str(a.points),
        "block": a.block,
    }


def render_payout(payout: Payout | None) -> dict[str, Any] | None:
    if payout is None:
        return None
    return {"epoch": payout.epoch, "requested": str(payout.requested), "paid": str(payout.paid),
            "returned": str(payout.returned), "amount": str(payout.amount)}


def render_attested_by(reader: SeekableReader, state: Overlay, who: bytes, home: bytes | None, epoch: int,
                       prefix: int) -> tuple[list[dict[str, Any]], bool]:
    """The oracles that attested `who` (at most MAX_ATTESTED_BY, listed most points first) and whether that is all
    of them. Each: the points it attested `who` in all, whether it is `who`'s home, whether it is an oracle of some
    activity now (only then may `who` choose it) and what it attested this epoch (against the cap, shown once)."""
    index = storage.attested.prefix + who
    scan = bounded_scan(reader, index, MAX_ATTESTED_BY)
    rows = []
    for key, raw in scan.items:
        oracle = key[len(index):]
        rows.append((storage.attested.codec.decode(raw), oracle))
    rows.sort(key=lambda r: (-r[0], r[1]))
    listed = [{
        "oracle": encode_address(oracle, prefix),
        "points": str(points),
        "home": oracle == home,
        "isOracle": homes.is_any_oracle(state, oracle),
        "epochPoints": str(logic.get_oracle_epoch_points(state, oracle, epoch)),
    } for points, oracle in rows]
    return listed, scan.next is None


def points_report(reader: SeekableReader, state: Overlay, who: bytes, prefix: int) -> dict[str, Any]:
    """What `btt_points` answers for `who` at `state` (`reader`: the same state, for bounded scans)."""
    held = logic.get_points(state, who)
    epoch = logic.get_head_epoch(state)
    rate_now = params.get_param(state, iparams.REDEEM_RATE)
    rate = redemption.get_epoch_rate(state, epoch, rate_now)
    cap = params.get_param(state, iparams.REDEEM_CAP)
    global_cap = params.get_param(state, iparams.GLOBAL_REDEEM_CAP)
    requested = redemption.get_request(state, who, epoch)
    left = redemption.compute_cap_left(cap, requested * rate)
    rnd = redemption.get_open_round(state, epoch) or RedeemRound(epoch, rate, 0, 0, 0, 0)
    home = storage.home_oracle.get(state, who)
    home_rows = redemption.get_group_rows(state, epoch, redemption.get_home_oracle(state, who))
    refused = requested == 0 and not redemption.is_admitted(rnd.requests, rnd.largest, home_rows)
    pool = system.account.get(state, logic.pool_account())
    budget = 0
    if rate_now:
        budget = redemption.compute_budget(rnd.asked, global_cap, pool.spendable, pool.total,
                                           params.get_param(state, ED_PARAM))
    index = storage.by_patient.prefix + who
    newest = bounded_scan(reader, index, MAX_ATTESTATIONS, reverse=True).items
    attestations = []
    for key, _ in reversed(newest):
        evidence = key[len(index) + 8:]
        attestations.append((evidence, storage.evidence.get(state, evidence)))
    counted = bounded_scan(reader, index, ATTESTATIONS_COUNTED)
    attested_by, attested_by_complete = render_attested_by(reader, state, who, home, epoch, prefix)
    return {
        "account": encode_address(who, prefix),
        "points": str(held),
        "value": str(logic.compute_payout(held, rate)),
        "rate": str(rate),
        "epoch": epoch,
        "requested": str(requested),
        "requestedAmount": str(logic.compute_payout(requested, rate)),
        "paidIfSettledNow": str(redemption.get_paid_if_settled(state, rnd, who, budget)),
        "capPerEpoch": str(cap),
        "capLeft": str(left),
        "redeemableNow": str(0 if not rate_now or refused else min(held, left // rate)),
        "homeOracle": None if home is None else encode_address(home, prefix),
        "homeOracleRows": home_rows,
        "homeOracleChosen": homes.is_home_chosen(state, who),
        "homeOracleAttested": str(0 if home is None else homes.get_attested(state, who, home)),
        "homeOracleEpochPoints": str(0 if home is None else logic.get_oracle_epoch_points(state, home, epoch)),
        "oraclePointsPerEpoch": str(params.get_param(state, iparams.ORACLE_POINTS_CAP)),
        "attestedBy": attested_by,
        "attestedByComplete": attested_by_complete,
        "epochRequests": {
            "epoch": epoch, "requests": rnd.requests, "maxRequests": MAX_REQUESTS_PER_EPOCH,
            "points": str(rnd.points), "asked": str(rnd.asked), "globalCap": str(global_cap),
            "budgetIfSettledNow": str(budget), "oracleGroups": rnd.groups, "largestGroupRows": rnd.largest,
        },
        "lastPayout": render_payout(storage.payouts.get(state, who)),
        "poolBalance": str(pool.spendable),
        "attestationCount": len(counted.items),
        "attestationCountComplete": counted.next is None,
        "attestations": [render_attestation(e, a, prefix) for e, a in attestations],
    }


@method("btt_points", Param("account", p.account), optional("at", p.block_hash))
def btt_points(ctx: RpcContext, who: bytes, at: bytes | None) -> dict[str, Any]:
    """An account's incentive points: held and their value at this epoch's rate; the head's epoch; the points its
    request of this epoch holds (paid in the first block of the next epoch), their worth in full and the points
    it would be paid if the epoch ended now; the per-patient cap, what is left of it and the points it may still
    request now (0 when the table is full and would not admit it); its home oracle (the oracle that attested it
    the most points, or the one it chose: `homeOracleChosen`; null before a first attestation), the rows that
    oracle's patients hold in this epoch's table, the points it attested the account in all and the points it
    attested this epoch, against `oraclePointsPerEpoch`, the most one oracle may; `attestedBy`, the oracles that
    attested it (the first 100 by account id, `attestedByComplete` false if there are more; listed most points
    first), each with the points it attested the account, whether it is the home, whether it is an oracle now (only
    then may the account choose it: `incentives.choose_oracle`) and its points this epoch; the epoch's
    requests together (patients, the table's size, points, BTT asked, the global cap, the budget if the epoch ended
    now, the oracle groups holding rows and the rows of the largest); what its latest settled request was paid (or
    null); the pool's spendable balance; and its attestations oldest first (the newest 500, read back from the
    newest by a seek), with `attestationCount` counting them up to 2,000 (`attestationCountComplete` false if there
    are more)."""
    reader, state = state_views(ctx, at)
    return points_report(reader, state, who, ctx.node.spec.ss58_prefix)


@method("btt_oracles", optional("at", p.block_hash))
def btt_oracles(ctx: RpcContext, at: bytes | None) -> list[dict[str, Any]]:
    """Each activity type with the points it earns and the oracles governance appointed for it (one appointment
    per referendum: the lists stay short); with the head's `epoch`, `epochPoints` (each of those oracles' address ->
    the points it attested in that epoch, over all its activities) and `oraclePointsPerEpoch`, the most one oracle
    may attest an epoch."""
    state = state_view(ctx, at)
    prefix = ctx.node.spec.ss58_prefix
    epoch = logic.get_head_epoch(state)
    cap = str(params.get_param(state, iparams.ORACLE_POINTS_CAP))
    out = []
    for activity in ACTIVITIES:
        oracles = roles.oracles_of(state, activity)
        out.append({
            "activity": activity,
            "points": str(params.get_param(state, iparams.points(activity))),
            "oracles": [encode_address(who, prefix) for who in oracles],
            "epoch": epoch,
            "epochPoints": {encode_address(who, prefix): str(logic.get_oracle_epoch_points(state, who, epoch))
                            for who in oracles},
            "oraclePointsPerEpoch": cap,
        })
    return out
