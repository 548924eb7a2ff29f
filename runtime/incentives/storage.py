"""Storage of the incentives module: points held, used evidence hashes, a per-patient index of attestations,
the open epoch's redemption requests, and what the latest settlement paid."""

from __future__ import annotations

from btt_chain.primitives.codec import ACCOUNT, AMOUNT, BOOL, HASH, U64, Nested
from runtime.incentives.types import Attestation, Payout, RedeemRound, RoundResult
from runtime.items import ID_KEY, StorageMap, StorageValue, u64_from_key, u64_key
from runtime.overlay import Overlay

M = "incentives"

points: StorageMap[int] = StorageMap(M, "points", U64, default=0, key_types=(ACCOUNT,))
"""Account -> points held (absent: none; the entry goes when the last point is requested for redemption)."""

evidence: StorageMap[Attestation] = StorageMap(M, "evidence", Nested(Attestation))
"""Evidence hash -> the attestation it paid for. Never removed: a stored hash can never be rewarded again."""


def patient_key(key: tuple[bytes, int, bytes]) -> bytes:
    """(patient, block, evidence) -> patient (32) | block (u64) | evidence (32): a patient's attestations share
    a prefix and iterate oldest first."""
    patient, block, evidence_hash = key
    return patient + u64_key(block) + evidence_hash


def patient_from_key(raw: bytes) -> tuple[bytes, int, bytes]:
    return raw[:32], u64_from_key(raw[32:40]), raw[40:]


by_patient: StorageMap[bool] = StorageMap(M, "by_patient", BOOL, patient_key, patient_from_key,
                                         key_types=(ACCOUNT, ID_KEY, HASH))
"""(patient, block, evidence hash) -> True for each attestation of the patient (the index behind queries)."""


def request_key(key: tuple[int, bytes]) -> bytes:
    """(epoch, patient) -> epoch (u64) | patient (32): an epoch's requests share a prefix."""
    epoch, patient = key
    return u64_key(epoch) + patient


def request_from_key(raw: bytes) -> tuple[int, bytes]:
    return u64_from_key(raw[:8]), raw[8:]


requests: StorageMap[int] = StorageMap(M, "requests", U64, request_key, request_from_key, default=0,
                                       key_types=(ID_KEY, ACCOUNT))
"""(epoch, patient) -> points the patient asked to redeem in that epoch, not yet paid. Only the open round's
epoch has entries; its settlement removes them all."""

open_round: StorageValue[RedeemRound] = StorageValue(M, "open_round", Nested(RedeemRound))
"""The open round: the epoch whose requests wait for payment, with its rate and totals (absent: none)."""

payouts: StorageMap[Payout] = StorageMap(M, "payouts", Nested(Payout), key_types=(ACCOUNT,))
"""Account -> what its latest settled request asked and was paid."""

last_round: StorageValue[RoundResult] = StorageValue(M, "last_round", Nested(RoundResult))
"""How the latest settled round was paid (absent before the first settlement)."""

outstanding_points: StorageValue[int] = StorageValue(M, "outstanding_points", U64, default=0)
"""Points attested and not yet paid, over all patients: the sum of `points` and of `requests`."""

total_paid: StorageValue[int] = StorageValue(M, "total_paid", AMOUNT, default=0)
"""Base units paid out of the Community Incentives pool by every settlement so far."""


def requests_of_epoch(state: Overlay, epoch: int) -> list[tuple[bytes, int]]:
    """(patient, points) of every request of `epoch`, in account order."""
    prefix = requests.prefix + u64_key(epoch)
    n = len(prefix)
    return [(key[n:], requests.codec.decode(raw)) for key, raw in state.iterate(prefix)]
