"""Storage of the incentives module: points held, used evidence hashes, a per-patient index of attestations,
and what each patient redeemed in its latest epoch."""

from __future__ import annotations

from btt_chain.primitives.codec import AMOUNT, BOOL, U64, Nested
from runtime.incentives.types import Attestation, EpochRedemption
from runtime.items import StorageMap, StorageValue, u64_from_key, u64_key

M = "incentives"

points: StorageMap[int] = StorageMap(M, "points", U64, default=0)
"""Account -> points held (absent: none; the entry goes when a redemption spends the last point)."""

evidence: StorageMap[Attestation] = StorageMap(M, "evidence", Nested(Attestation))
"""Evidence hash -> the attestation it paid for. Never removed: a stored hash can never be rewarded again."""


def patient_key(key: tuple[bytes, int, bytes]) -> bytes:
    """(patient, block, evidence) -> patient (32) | block (u64) | evidence (32): a patient's attestations share
    a prefix and iterate oldest first."""
    patient, block, evidence_hash = key
    return patient + u64_key(block) + evidence_hash


def patient_from_key(raw: bytes) -> tuple[bytes, int, bytes]:
    return raw[:32], u64_from_key(raw[32:40]), raw[40:]


by_patient: StorageMap[bool] = StorageMap(M, "by_patient", BOOL, patient_key, patient_from_key)
"""(patient, block, evidence hash) -> True for each attestation of the patient (the index behind queries)."""

redeemed: StorageMap[EpochRedemption] = StorageMap(M, "redeemed", Nested(EpochRedemption))
"""Account -> BTT redeemed in its latest epoch with a redemption (an entry of an older epoch counts as zero)."""

redeemed_all: StorageValue[EpochRedemption] = StorageValue(M, "redeemed_all", Nested(EpochRedemption))
"""BTT redeemed by all patients in the latest epoch with a redemption (an older epoch's entry counts as zero)."""

outstanding_points: StorageValue[int] = StorageValue(M, "outstanding_points", U64, default=0)
"""Points attested and not yet redeemed, over all patients (the sum of `points`)."""

total_paid: StorageValue[int] = StorageValue(M, "total_paid", AMOUNT, default=0)
"""Base units paid out of the Community Incentives pool by every redemption so far."""
