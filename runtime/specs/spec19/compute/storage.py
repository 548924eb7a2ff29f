"""Storage of the compute module."""

from __future__ import annotations

from collections.abc import Iterator

from btt_chain.primitives.codec import ACCOUNT, AMOUNT, HASH, U32, U64, Bytes, ListOf, Nested
from runtime.overlay import Overlay

from ..compute.types import (
    MAX_CASE_BYTES,
    MAX_CHUNK_ITEMS,
    MAX_CREDIT_BUCKETS,
    MAX_SAMPLE_AUTHORS,
    MAX_SAMPLES_DUE,
    MAX_SEALED_OUTPUT,
    CreditBucket,
    EmissionPeriodRecord,
    Job,
    JobProvider,
    Outage,
    PendingCredit,
    PrivateJob,
    Provider,
    RecentAuthor,
    RegisteredModel,
)
from ..items import ID_KEY, StorageMap, StorageValue, u64_from_key, u64_key

M = "compute"

models: StorageMap[RegisteredModel] = StorageMap(M, "models", Nested(RegisteredModel))
"""Model hash -> spec. Reference models are registered at genesis; governance may register more."""

providers: StorageMap[Provider] = StorageMap(M, "providers", Nested(Provider), key_types=(ACCOUNT,))
"""Account -> provider record."""

jobs: StorageMap[Job] = StorageMap(M, "jobs", Nested(Job), u64_key, u64_from_key)
next_job_id: StorageValue[int] = StorageValue(M, "next_job_id", U64, default=0)

queue: StorageMap[bytes] = StorageMap(M, "queue", HASH, key_size=25)
"""Jobs waiting for providers, keyed so that iteration order is the assignment order: priority byte (0 for
a 90-day-or-longer staker's job, 1 otherwise), then the price per unit of work, highest first (its complement,
u128), then job id. The value is unused (zero hash)."""

evictable: StorageMap[bytes] = StorageMap(M, "evictable", HASH, key_size=25)
"""Open jobs no provider has committed to yet (waiting, or assigned and not committed), cheapest first: priority byte
(0 for other jobs, 1 for a staker's), the job's whole price (u128; spec 13 keyed it by the price per unit of work),
then the complement of the job id (the newest of equals first). When the chain is full, a new job paying more in all
than the first takes its place (`market`)."""

evictable_owned: StorageMap[bytes] = StorageMap(M, "evictable_owned", HASH, key_size=25)
"""The entries of `evictable` whose job is on an owner-registered model (spec 14): when the owners' models' share is
full, a new job on an owner's model takes the place of the first if it pays more in all."""

evictable_by_owner: StorageMap[bytes] = StorageMap(M, "evictable_by_owner", HASH, key_size=57)
"""Model owner + an entry of `evictable` whose job is on that owner's models (spec 14): when one owner's share is full,
a new job on its models takes the place of its cheapest."""

open_by_owner: StorageMap[int] = StorageMap(M, "open_by_owner", U32, default=0, key_types=(ACCOUNT,))
"""Model owner -> the open jobs on the models it registered (bounded by `compute.max_open_share_bps` of the
open-job cap); absent at zero. Jobs on governance models are not counted: every provider serves those."""

open_on_owner_models: StorageValue[int] = StorageValue(M, "open_on_owner_models", U32, default=0)
"""Open jobs on owner-registered models, all owners together (bounded by `compute.max_owner_models_share_bps` of the
open-job cap)."""

commit_due: StorageMap[bytes] = StorageMap(M, "commit_due", HASH, key_types=(ID_KEY, ID_KEY, ACCOUNT))
"""Assigned assignments by their last commit slot: (slot u64, job id u64, provider) -> zero hash. The first block
past that slot sends the job back to the market (`outage.stall`)."""

reveal_due: StorageMap[bytes] = StorageMap(M, "reveal_due", HASH, key_types=(ID_KEY, ID_KEY, ACCOUNT))
"""Committed assignments whose sample is fixed, by their last reveal slot: (slot u64, job id u64, provider) -> zero
hash. The first block past that slot turns an unrevealed one late (`outage.reveal_missed`)."""

open_by_requester: StorageMap[int] = StorageMap(M, "open_by_requester", U32, default=0,
                                                       key_types=(ACCOUNT,))
"""Requester -> its open jobs (bounded by `compute.max_open_jobs_per_requester`); absent at zero."""

deadlines: StorageMap[bytes] = StorageMap(M, "deadlines", HASH, key_size=16)
"""Open jobs keyed by deadline (u64) then job id (u64), so expiry reads them in time order."""

sample_waiting: StorageMap[tuple[JobProvider, ...]] = StorageMap(
    M, "sample_waiting", ListOf(Nested(JobProvider), MAX_SAMPLES_DUE), u64_key, u64_from_key
)
"""Sample-start slot -> the commits whose sample the first k distinct authors from that slot on fix, not fixed
yet (see `sample_fix`)."""

samples_waiting: StorageValue[int] = StorageValue(M, "samples_waiting", U64, default=0)
"""How many commits wait for their sample, over all commit blocks (bounded by MAX_SAMPLES_DUE)."""

recent_authors: StorageValue[tuple[RecentAuthor, ...]] = StorageValue(
    M, "recent_authors", ListOf(Nested(RecentAuthor), MAX_SAMPLE_AUTHORS), default=()
)
"""The most recent distinct block authors, newest first, with the last slot each authored; kept up to date
while commits wait for their sample."""

maturing: StorageMap[bytes] = StorageMap(M, "maturing", HASH, key_types=(ID_KEY, ID_KEY, ACCOUNT))
"""Verified assignments by the end of their challenge window: (ms u64, job id u64, provider) -> zero hash."""

late_reveals: StorageMap[bytes] = StorageMap(M, "late_reveals", HASH, key_types=(ID_KEY, ID_KEY, ACCOUNT))
"""Late assignments by the end of their late-reveal time: (ms u64, job id u64, provider) -> zero hash (`outage`)."""

outages: StorageMap[Outage] = StorageMap(M, "outages", Nested(Outage), key_types=(ACCOUNT,))
"""Provider -> its missed-deadline fees in its last epoch with one, and its pause from new assignments
(`outage`); absent for a provider that never missed a deadline it could have met."""

posted_chunks: StorageMap[tuple[bytes, ...]] = StorageMap(
    M, "posted_chunks", ListOf(Bytes(max_len=MAX_SEALED_OUTPUT), MAX_CHUNK_ITEMS),
    key_types=(ID_KEY, ACCOUNT, Bytes(4)),
)
"""(job id u64, provider, chunk number u32) -> that chunk of the assignment's output items, posted on chain for
anyone to challenge with (`costs.chunk_plan` cuts them); removed when the assignment is final."""

pending_credit: StorageMap[PendingCredit] = StorageMap(M, "pending_credit", Nested(PendingCredit),
                                                             key_types=(ID_KEY, ID_KEY, ACCOUNT))
"""(matures at ms u64, job id u64, provider) -> credit not yet matured."""

epoch_credit: StorageMap[PendingCredit] = StorageMap(M, "epoch_credit", Nested(PendingCredit),
                                                           key_types=(ACCOUNT,))
"""Provider -> credit matured since the last mining reward, with the fees burned for it."""

credit_history: StorageMap[tuple[CreditBucket, ...]] = StorageMap(
    M, "credit_history", ListOf(Nested(CreditBucket), MAX_CREDIT_BUCKETS), key_types=(ACCOUNT,)
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

model_servers: StorageMap[bytes] = StorageMap(M, "model_servers", HASH, key_types=(HASH, ACCOUNT))
"""(model hash, provider) -> zero hash: providers that said they hold an owner-registered model's weights and take
its jobs (`models.serve`). Jobs on such a model are drawn among them only; a model registered by governance (the
shipped reference models among them) is served by every provider."""


def server_key(model: bytes, provider: bytes) -> bytes:
    return model + provider


U128_MAX = 2**128 - 1


def queue_key(priority: bool, rank: int, job_id: int) -> bytes:
    return (b"\x00" if priority else b"\x01") + (U128_MAX - rank).to_bytes(16, "big") + u64_key(job_id)


def evictable_key(priority: bool, price: int, job_id: int) -> bytes:
    return (b"\x01" if priority else b"\x00") + min(price, U128_MAX).to_bytes(16, "big") + u64_key(2**64 - 1 - job_id)


def job_of_evictable_key(key: bytes) -> int:
    """The job id of an `evictable` (or `evictable_owned`) key, or of the last 25 bytes of an `evictable_by_owner`
    key."""
    return 2**64 - 1 - int.from_bytes(key[-8:], "big")


def deadline_key(deadline_ms: int, job_id: int) -> bytes:
    return u64_key(deadline_ms) + u64_key(job_id)


def maturing_key(matures_ms: int, job_id: int, provider: bytes) -> bytes:
    return u64_key(matures_ms) + u64_key(job_id) + provider


def due_key(slot: int, job_id: int, provider: bytes) -> bytes:
    """The key of an assignment in `commit_due` or `reveal_due`."""
    return u64_key(slot) + u64_key(job_id) + provider


def chunk_key(job_id: int, provider: bytes, chunk: int) -> bytes:
    return u64_key(job_id) + provider + chunk.to_bytes(4, "big")


def posted_outputs(state: Overlay, job_id: int, provider: bytes) -> Iterator[bytes]:
    """The output items of the assignment posted so far, in order."""
    for _, raw in state.iterate(posted_chunks.prefix + u64_key(job_id) + provider):
        yield from posted_chunks.codec.decode(raw)


def remove_posted(state: Overlay, job_id: int, provider: bytes) -> None:
    """Drop every posted chunk of the assignment (at most the chunks of one job's plan)."""
    prefix = posted_chunks.prefix + u64_key(job_id) + provider
    for key in [k for k, _ in state.iterate(prefix)]:
        state.delete(key)


def pending_credit_key(mature_ms: int, job_id: int, provider: bytes) -> bytes:
    return u64_key(mature_ms) + u64_key(job_id) + provider


open_jobs: StorageValue[int] = StorageValue(M, "open_jobs", U64, default=0)
"""Jobs neither done, expired nor cancelled (bounded by `compute.max_open_jobs`)."""

epoch: StorageValue[int] = StorageValue(M, "epoch", U64, default=0)
"""The epoch of the last block: the mining distribution runs when a block starts a later one."""


box_keys: StorageMap[bytes] = StorageMap(M, "box_keys", HASH, key_types=(ACCOUNT,))
"""Account -> its X25519 box key (`set_box_key`): a provider's to receive private cases, a clinic's to receive
results. Set again to rotate: an assignment keeps the key it was drawn with."""

private_jobs: StorageMap[PrivateJob] = StorageMap(M, "private_jobs", Nested(PrivateJob), u64_key, u64_from_key)
"""Job id -> what the chain holds of a private job beside its `Job` record (spec 13)."""

decoy_cases: StorageMap[bytes] = StorageMap(M, "decoy_cases", Bytes(max_len=MAX_CASE_BYTES),
                                            key_types=(ID_KEY, Bytes(4)))
"""(job id u64, item u32) -> a decoy case the clinic revealed, until the job closes: the provider's reveal opens
these items, and re-execution runs on them."""


def decoy_key(job_id: int, index: int) -> bytes:
    return u64_key(job_id) + index.to_bytes(4, "big")
