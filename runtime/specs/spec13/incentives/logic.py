"""Attestation rules: oracles attest patients' activities for points, each evidence hash once. Also the reads of
points and attestations the RPC and CLI show. Redemption of points is in `redemption.py`.

Each call checks first and writes last, so a refused call changes nothing.
"""

from __future__ import annotations

from btt_chain.primitives.accounts import module_account
from runtime.context import CallContext
from runtime.overlay import Overlay

from ..consensus import logic as consensus
from ..incentives import errors, events, params, storage
from ..incentives.types import ACTIVITIES, POOL, Attestation
from ..roles import logic as roles
from ..system import storage as system

# reads ---------------------------------------------------------------------------------------------------


def pool_account() -> bytes:
    return module_account(POOL)


def get_points(state: Overlay, who: bytes) -> int:
    """Points `who` holds now."""
    return storage.points.get(state, who)


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
    """Credit `patient` the points of `activity` for `evidence`, attested by `oracle`; a patient's first attestation
    makes its oracle the patient's home oracle, whose group its redemption requests belong to (`redemption.py`).

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
    if not storage.home_oracle.contains(ctx.state, patient):  # the first attestation: its oracle is the home
        storage.home_oracle.put(ctx.state, patient, oracle)
    storage.points.put(ctx.state, patient, storage.points.get(ctx.state, patient) + earned)
    storage.outstanding_points.put(ctx.state, storage.outstanding_points.get(ctx.state) + earned)
    ctx.emit(events.Attested(oracle, patient, activity, evidence, earned))
