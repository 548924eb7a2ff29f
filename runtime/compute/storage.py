"""Storage of the compute module."""

from __future__ import annotations

from btt_chain.primitives.codec import AMOUNT, HASH, U64, ListOf, Nested
from runtime.compute.types import (
    MAX_CREDIT_BUCKETS,
    MAX_SAMPLES_DUE,
    CreditBucket,
    EmissionPeriodRecord,
    Job,
    JobProvider,
    PendingCredit,
    Provider,
    RegisteredModel,
)
from runtime.items import StorageMap, StorageValue, u64_from_key, u64_key

M = "compute"

models: StorageMap[RegisteredModel] = StorageMap(M, "models", Nested(RegisteredModel))
"""Model hash -> spec. Reference models are registered at genesis; governance may register more."""

providers: StorageMap[Provider] = StorageMap(M, "providers", Nested(Provider))
"""Account -> provider record."""

jobs: StorageMap[Job] = StorageMap(M, "jobs", Nested(Job), u64_key, u64_from_key)
next_job_id: StorageValue[int] = StorageValue(M, "next_job_id", U64, default=0)

queue: StorageMap[bytes] = StorageMap(M, "queue", HASH)
"""Jobs waiting for providers, keyed so that iteration order is the assignment order: priority byte (0 for
a 90-day-or-longer staker's job, 1 otherwise), then job id. The value is unused (zero hash)."""

deadlines: StorageMap[bytes] = StorageMap(M, "deadlines", HASH)
"""Open jobs keyed by deadline (u64) then job id (u64), so expiry reads them in time order."""

sample_due: StorageMap[tuple[JobProvider, ...]] = StorageMap(
    M, "sample_due", ListOf(Nested(JobProvider), MAX_SAMPLES_DUE), u64_key, u64_from_key
)
"""Block number -> the commits whose sample is drawn from the randomness of that block."""

pending_credit: StorageMap[PendingCredit] = StorageMap(M, "pending_credit", Nested(PendingCredit))
"""(matures at ms u64, job id u64, provider) -> credit not yet matured."""

epoch_credit: StorageMap[PendingCredit] = StorageMap(M, "epoch_credit", Nested(PendingCredit))
"""Provider -> credit matured since the last mining reward, with the fees burned for it."""

credit_history: StorageMap[tuple[CreditBucket, ...]] = StorageMap(
    M, "credit_history", ListOf(Nested(CreditBucket), MAX_CREDIT_BUCKETS)
)
"""Provider -> matured credit by epoch, for the consensus work window and governance."""

emission_periods: StorageValue[tuple[EmissionPeriodRecord, ...]] = StorageValue(
    M, "emission_periods", ListOf(Nested(EmissionPeriodRecord), 64), default=()
)
"""The mining pool's emission schedule (genesis data)."""

rewarded_epochs: StorageValue[int] = StorageValue(M, "rewarded_epochs", U64, default=0)
"""Epochs whose emission has been budgeted: the next mining distribution adds epochs from here on."""

held_back: StorageValue[int] = StorageValue(M, "held_back", AMOUNT, default=0)
"""Budget the per-credit cap held back; it rolls into the next distribution."""

total_rewarded: StorageValue[int] = StorageValue(M, "total_rewarded", AMOUNT, default=0)


def queue_key(priority: bool, job_id: int) -> bytes:
    return (b"\x00" if priority else b"\x01") + u64_key(job_id)


def deadline_key(deadline_ms: int, job_id: int) -> bytes:
    return u64_key(deadline_ms) + u64_key(job_id)


def pending_credit_key(mature_ms: int, job_id: int, provider: bytes) -> bytes:
    return u64_key(mature_ms) + u64_key(job_id) + provider


open_jobs: StorageValue[int] = StorageValue(M, "open_jobs", U64, default=0)
"""Jobs neither done, expired nor cancelled (bounded by `compute.max_open_jobs`)."""

epoch: StorageValue[int] = StorageValue(M, "epoch", U64, default=0)
"""The epoch of the last block: the mining distribution runs when a block starts a later one."""
