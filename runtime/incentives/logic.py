"""Incentive rules: oracles attest patients' activities for points; patients redeem points for BTT paid from
the Community Incentives pool, within a per-patient cap each epoch. Also the reads the RPC and CLI show.

Each call checks first and writes last, so a refused call changes nothing. Redemption moves BTT from the pool
with `balances.transfer`; it never mints, and it refuses to leave the pool holding dust (which would be
burned), so total issuance is unchanged by it.
"""

from __future__ import annotations

from btt_chain.primitives.accounts import module_account
from btt_chain.primitives.amounts import format_btt
from runtime.balances import logic as balances
from runtime.balances.locks import get_current_account
from runtime.consensus import logic as consensus
from runtime.context import CallContext
from runtime.incentives import errors, events, params, storage
from runtime.incentives.types import ACTIVITIES, POOL, Attestation, EpochRedemption
from runtime.overlay import Overlay
from runtime.roles import logic as roles
from runtime.system import storage as system

# reads ---------------------------------------------------------------------------------------------------


def pool_account() -> bytes:
    return module_account(POOL)


def get_points(state: Overlay, who: bytes) -> int:
    """Points `who` holds now."""
    return storage.points.get(state, who)


def get_redeemed_in_epoch(state: Overlay, who: bytes, epoch: int) -> int:
    """Base units `who` has redeemed in `epoch` (zero when its latest redemption was in another epoch)."""
    entry = storage.redeemed.get(state, who)
    return entry.amount if entry is not None and entry.epoch == epoch else 0


def compute_cap_left(cap: int, redeemed: int) -> int:
    return max(0, cap - redeemed)


def compute_payout(points: int, rate: int) -> int:
    """Base units `points` redeem for at `rate` base units per point."""
    return points * rate


def get_head_epoch(state: Overlay) -> int:
    """The epoch of the state's latest block (what a read outside a block calls "this epoch")."""
    return consensus.epoch_of(state, system.slot.get(state))


def get_attestation(state: Overlay, evidence: bytes) -> Attestation | None:
    """The attestation an evidence hash paid for, if it has been used."""
    return storage.evidence.get(state, evidence)


def get_attestations(state: Overlay, who: bytes) -> list[tuple[bytes, Attestation]]:
    """Every attestation of patient `who` as (evidence hash, attestation), oldest first."""
    prefix = storage.by_patient.prefix + who
    out = []
    for key, _ in state.iterate(prefix):
        evidence = key[len(prefix) + 8 :]
        out.append((evidence, storage.evidence.get(state, evidence)))
    return out


def check_activity(activity: str) -> None:
    if activity not in ACTIVITIES:
        raise errors.UnknownActivity(f"{activity!r} is not one of {', '.join(ACTIVITIES)}")


# transitions ---------------------------------------------------------------------------------------------


def attest(ctx: CallContext, oracle: bytes, patient: bytes, activity: str, evidence: bytes) -> None:
    """Credit `patient` the points of `activity` for `evidence`, attested by `oracle`.

    Refused: an unknown activity, a caller that is not an oracle of that activity, an oracle attesting itself,
    evidence used before (for any patient or activity), an activity whose points governance set to zero (the
    evidence stays unused then, so it can be attested once the activity earns points again)."""
    check_activity(activity)
    if not roles.is_oracle(ctx.state, activity, oracle):
        raise errors.NotOracle(f"not an oracle for {activity}")
    if oracle == patient:
        raise errors.SelfAttestation()
    used = storage.evidence.get(ctx.state, evidence)
    if used is not None:
        raise errors.EvidenceUsed(f"evidence 0x{evidence.hex()} was rewarded in block #{used.block} "
                                  f"({used.activity})")
    earned = ctx.param(params.points(activity))
    if earned == 0:
        raise errors.ActivityNotRewarded(f"{activity} earns 0 points now")
    block = ctx.env.number
    storage.evidence.put(ctx.state, evidence, Attestation(patient, activity, oracle, earned, block))
    storage.by_patient.put(ctx.state, (patient, block, evidence), True)
    storage.points.put(ctx.state, patient, storage.points.get(ctx.state, patient) + earned)
    storage.outstanding_points.put(ctx.state, storage.outstanding_points.get(ctx.state) + earned)
    ctx.emit(events.Attested(oracle, patient, activity, evidence, earned))


def redeem(ctx: CallContext, patient: bytes, points: int) -> int:
    """Pay `patient` `points` x `incentives.redeem_rate` from the Community Incentives pool and spend the points;
    return the payout in base units.

    Refused: zero points, more points than held, a zero rate, a payout past the patient's cap for this epoch
    (the error says what is left), a pool that cannot pay without being left below the existential deposit."""
    if points == 0:
        raise errors.ZeroPoints()
    held = storage.points.get(ctx.state, patient)
    if held < points:
        raise errors.InsufficientPoints(f"holds {held} points, asked to redeem {points}")
    rate = ctx.param(params.REDEEM_RATE)
    if rate == 0:
        raise errors.RedeemDisabled()
    payout = compute_payout(points, rate)
    epoch = consensus.epoch_of(ctx.state, ctx.env.slot)
    cap = ctx.param(params.REDEEM_CAP)
    already = get_redeemed_in_epoch(ctx.state, patient, epoch)
    if already + payout > cap:
        left = compute_cap_left(cap, already)
        raise errors.OverEpochCap(
            f"{points} points pay {format_btt(payout)} BTT; {format_btt(left)} BTT ({left // rate} points) of the "
            f"{format_btt(cap)} BTT cap is left in epoch {epoch}"
        )
    global_cap = ctx.param(params.GLOBAL_REDEEM_CAP)
    entry = storage.redeemed_all.get(ctx.state)
    everyone = entry.amount if entry is not None and entry.epoch == epoch else 0
    if everyone + payout > global_cap:
        left = compute_cap_left(global_cap, everyone)
        raise errors.OverGlobalEpochCap(
            f"{points} points pay {format_btt(payout)} BTT; {format_btt(left)} BTT of the {format_btt(global_cap)} "
            f"BTT all patients may redeem in epoch {epoch} is left"
        )
    pool = pool_account()
    acc = get_current_account(ctx, pool)
    remaining = acc.total - payout
    if acc.spendable < payout:
        raise errors.PoolCannotPay(f"the pool can pay {format_btt(acc.spendable)} BTT, the redemption needs "
                                   f"{format_btt(payout)} BTT")
    if 0 < remaining < ctx.param(balances.ED_PARAM):
        # the transfer would burn the pool's dust; a redemption must leave issuance as it is
        raise errors.PoolCannotPay(f"paying {format_btt(payout)} BTT would leave the pool holding dust")
    balances.transfer(ctx, pool, patient, payout, keep_alive=False)
    if held == points:
        storage.points.remove(ctx.state, patient)
    else:
        storage.points.put(ctx.state, patient, held - points)
    storage.redeemed.put(ctx.state, patient, EpochRedemption(epoch, already + payout))
    storage.redeemed_all.put(ctx.state, EpochRedemption(epoch, everyone + payout))
    storage.outstanding_points.put(ctx.state, storage.outstanding_points.get(ctx.state) - points)
    storage.total_paid.put(ctx.state, storage.total_paid.get(ctx.state) + payout)
    ctx.emit(events.Redeemed(patient, points, payout, epoch))
    return payout
