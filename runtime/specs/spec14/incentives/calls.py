"""Dispatchable calls of the incentives module: oracles attest, patients request redemption and choose their home
oracle (signed origins); and the block-start hook that pays an ended epoch's requests."""

from __future__ import annotations

from btt_chain.primitives.codec import ACCOUNT, HASH, U64, Text
from runtime.context import CallContext, Origin, ensure_signed
from runtime.dispatch import CallDef, ModuleDef

from ..incentives import home, hooks, logic, redemption
from ..incentives.types import MAX_ACTIVITY_NAME

REDEEM_WEIGHT = 200
"""`redeem`'s weight (microseconds of import on the reference host, as `balances.transfer`'s 100): measured
2026-11-25 on a 2-core host beside a transfer's 84 us, a request took 120 us and one that evicts another from a full
table 140-152 us (the oracle-group bookkeeping: a fixed number of reads and writes, never a scan)."""
CHOOSE_WEIGHT = 100
"""`choose_oracle`'s weight: a fixed handful of reads (the home, the four activities' oracle entries, the points
attested) and two writes, fewer than `attest`'s, which weighs 100."""


def attest(ctx: CallContext, origin: Origin, patient: bytes, activity: str, evidence: bytes) -> None:
    """As a health oracle of `activity` (preventive_visit, treatment_adherence, healthy_lifestyle, referral),
    credit `patient` that activity's points (`incentives.points.<activity>`) for `evidence`, a hash of the
    off-chain record. Each evidence hash is rewarded once, ever; one oracle attests at most
    `incentives.oracle_points_per_epoch` points an epoch. The oracle that has attested a patient the most points
    is its home oracle, unless the patient chose one."""
    logic.attest(ctx, ensure_signed(origin), patient, activity, evidence)


def redeem(ctx: CallContext, origin: Origin, points: int) -> None:
    """Ask to convert `points` of your points to BTT at `incentives.redeem_rate` base units per point (the rate of
    the epoch's first request), from the Community Incentives pool: your request of this epoch may ask at most
    `incentives.redeem_cap_per_epoch` BTT. The epoch's requests are paid in the first block of the next epoch,
    all in full if they fit `incentives.redeem_cap_global_per_epoch` and the pool, else each home oracle's group
    of requests an equal share of the budget (a group asking less is paid in full and the rest shared equally by
    the others) and each request its group's share pro rata, in whole points; unpaid points come back to you. Your
    request joins the group of your home oracle (the oracle that attested you the most points, or the one you
    chose). At most 1,024 patients file in one epoch: when that many have, you are admitted only if your group holds
    at least two rows fewer than the largest oracle group, in place of that group's newest request, whose points go
    back to its patient."""
    redemption.request(ctx, ensure_signed(origin), points)


def choose_oracle(ctx: CallContext, origin: Origin, oracle: bytes) -> None:
    """Make `oracle`, a health oracle that has attested you, your home oracle for good: your next new redemption
    request joins its group, and no attestation by another oracle moves you out of it (you may choose again)."""
    home.choose(ctx, ensure_signed(origin), oracle)


MODULE = ModuleDef(
    index=16,
    name="incentives",
    calls=(
        CallDef(0, "attest", (("patient", ACCOUNT), ("activity", Text(MAX_ACTIVITY_NAME)), ("evidence", HASH)), 100,
                attest, attest.__doc__ or ""),
        CallDef(1, "redeem", (("points", U64),), REDEEM_WEIGHT, redeem, redeem.__doc__ or ""),
        CallDef(2, "choose_oracle", (("oracle", ACCOUNT),), CHOOSE_WEIGHT, choose_oracle, choose_oracle.__doc__ or ""),
    ),
    on_initialize=hooks.on_initialize,
)
