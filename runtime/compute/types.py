"""Types of the compute module: providers, jobs and their assignments, openings, credits."""

from __future__ import annotations

from dataclasses import dataclass

from btt_chain.primitives.codec import ACCOUNT, AMOUNT, BOOL, HASH, U64, Bytes, ListOf, Nested, Struct, UInt
from btt_chain.primitives.hashing import ZERO_HASH

from ..compute.model import ModelSpec

U8 = UInt(8)
U32 = UInt(32)

MAX_REDUNDANCY = 8
"""Storage bound on a job's redundancy (the parameter `compute.max_redundancy` is at most this)."""
MAX_ITEM_BYTES = 1025
"""An input or output item's size bound (an input is at most 1,024 values; an output is the class byte and at most
256 logits)."""
MAX_PROOF = 32
MAX_OPENINGS = 64
"""Bound on openings per reveal (the parameter `compute.sample_size` is at most this)."""
MAX_CREDIT_BUCKETS = 1024
MAX_SAMPLES_DUE = 4096
"""Commits that may wait for their sample at once (a commit beyond it is refused until samples are fixed)."""
MAX_JOB_ITEMS = 4096
"""Bound on a job's items (the parameter `compute.max_job_items` is at most this)."""
MAX_CHUNK_BYTES = 48 * 1024
"""Bound on the output bytes one `post_outputs` chunk carries: with its range proof (at most two hashes per tree
level) and the extrinsic's own fields it stays under the 64 KiB extrinsic limit, so any job's outputs can be
posted, in as many chunks as they need."""
MAX_CHUNK_ITEMS = MAX_CHUNK_BYTES // 2
"""Bound on the items one chunk carries (an output item is at least 2 bytes: the class byte and one logit)."""
MAX_RANGE_PROOF = 2 * 12
"""Bound on a chunk's range proof: two siblings for each of the 12 levels of a 4,096-item tree."""

REGION_CLASSES = ("standard", "underserved", "remote")
"""Region codes 0..2; each class's factor is the parameter `compute.region_factor_bps.<class>`."""
ENERGY_CLASSES = ("a", "b", "c", "d", "e")
"""Energy classes 0..4 (A best); each class's factor is the parameter `compute.energy_factor_bps.<class>`."""

# assignment states
ASSIGNED = 0
COMMITTED = 1
SETTLED = 2
"""Paid and credited: its challenge window closed with no fault shown."""
FRAUD = 3
"""A sampled or challenged item did not re-execute to its output, or it withheld demanded outputs."""
MISSED = 4
VERIFIED = 5
"""Its sample re-executed correctly; it is in its challenge window: payment and credit wait for the window's end."""
VOID = 6
"""A redundancy dispute nobody settled by the end of the window: not paid, not slashed, requester refunded."""
LATE = 7
"""The deadline passed after its sample was drawn and before the reveal: the requester has its refund, and the
provider may still open the sample until its late-reveal time (`outage`), or lose the withholding slash."""
STALLED = 8
"""Its commit window closed without a commit: the provider paid the missed-assignment fee and the job went back to
the market at once. A stalled entry keeps its place in the job (and its share of the escrow, unassigned again) until
another provider is drawn for that place."""
ASSIGNMENT_STATES = ("assigned", "committed", "settled", "fraud", "missed", "verified", "void", "late", "stalled")
OPEN_STATES = (ASSIGNED, COMMITTED)
"""States in which the provider still owes its work (the job's deadline applies)."""
AT_RISK_STATES = (ASSIGNED, COMMITTED, VERIFIED, LATE)
"""States in which the assignment may still cost the provider a slash (its bond must cover it)."""
REVEALED_STATES = (VERIFIED, SETTLED, VOID)
"""States that hold an output root nobody has proven wrong."""

# job states
JOB_OPEN = 0
JOB_DONE = 1
JOB_EXPIRED = 2
JOB_CANCELLED = 3
JOB_EVICTED = 4
"""Waiting for providers when the chain (or its owners' share) was full, it made way for a job paying more in all;
its price was released in full."""
JOB_UNSERVED = 5
"""No registered provider was able to serve it for `compute.unserved_wait_ms` while a place of it was vacant: closed
early, what no verified result earned refunded (spec 14, `unserved`)."""
JOB_STATES = ("open", "done", "expired", "cancelled", "evicted", "unserved")


@dataclass(frozen=True)
class RegisteredModel(Struct):
    """A model jobs may name, by hash: its spec (which names the weights blob by hash and size), its work per item,
    and who registered it with what deposit reserved (governance registrations have no owner and no deposit)."""

    spec: ModelSpec
    macs_per_item: int
    owner: bytes = ZERO_HASH
    """The registering account, or all zeros for governance."""
    deposit: int = 0
    WIRE = (("spec", Nested(ModelSpec)), ("macs_per_item", U64), ("owner", ACCOUNT), ("deposit", AMOUNT))


@dataclass(frozen=True)
class Provider(Struct):
    """A registered compute provider. Its bond is its bonds-module ledger (slashable, unbonding period)."""

    capacity: int
    """Assignments it may hold open at once."""
    region: int
    energy: int
    active: int = 0
    """Assignments open now."""
    assigned: int = 0
    completed: int = 0
    """Assignments that ended in a verified receipt (always before the deadline: later reveals are refused)."""
    failed: int = 0
    """Deadlines missed."""
    frauds: int = 0
    """Reveals whose sampled outputs did not match re-execution."""
    at_risk: int = 0
    """Assignments not final yet (assigned, committed, or verified and inside their challenge window): each may
    still cost a fixed slash, so each holds that much of the bond (`providers.bond_floor`)."""
    stalled: int = 0
    """Commit windows it let close without a commit (each job went back to the market, and it paid the
    missed-assignment fee)."""

    WIRE = (
        ("capacity", U32),
        ("region", U8),
        ("energy", U8),
        ("active", U32),
        ("assigned", U64),
        ("completed", U64),
        ("failed", U64),
        ("frauds", U64),
        ("at_risk", U32),
        ("stalled", U64),
    )

    @property
    def finished(self) -> int:
        return self.completed + self.failed + self.frauds + self.stalled

    def on_time_bps(self) -> int:
        """Completed on time over all finished assignments, in basis points (10,000 before any finished)."""
        return 10_000 if self.finished == 0 else self.completed * 10_000 // self.finished


@dataclass(frozen=True)
class Outage(Struct):
    """A provider's missed deadlines as the fee and the pause see them (`outage`)."""

    epoch: int
    """The epoch `charged` counts in."""
    charged: int
    """Missed-deadline fees taken from its bond in that epoch (at most `compute.max_missed_per_epoch`)."""
    paused_until_ms: int
    """No new assignment before this time (its last missed deadline plus `compute.missed_pause_ms`, unless it
    showed since that it is back)."""
    seen_slot: int = 0
    """The slot of its last commit or reveal since it first missed a deadline: it was up then."""
    strikes: int = 0
    """Pauses in a row without a commit or reveal between them: each pause lasts twice the one before, up to
    `compute.max_missed_pause_ms` (`outage.pause`)."""

    WIRE = (("epoch", U64), ("charged", AMOUNT), ("paused_until_ms", U64), ("seen_slot", U64), ("strikes", U32))


@dataclass(frozen=True)
class Assignment(Struct):
    """One provider's part of a job: its share of the escrow and where it is in commit / reveal."""

    provider: bytes
    portion: int
    """The part of the job's price escrowed for this assignment."""
    state: int
    assigned_block: int
    commit_by_slot: int = 0
    """The last slot whose block may carry the commit: the chain, not the provider, fixes when it commits."""
    sample_from_slot: int = 0
    """The sample is fixed by the first `compute.sample_authors` distinct authors of blocks at this slot or later:
    beyond the leader schedule's look-ahead as seen from `commit_by_slot` (see `assignment.sample_start`)."""
    commitment: bytes = ZERO_HASH
    """H(output root, salt), from the commit."""
    commit_block: int = 0
    sample_seed: bytes = ZERO_HASH
    """Fixed once `compute.sample_authors` distinct validators have authored blocks from `sample_from_slot` on
    (see `sample_fix`); zero until then."""
    output_root: bytes = ZERO_HASH
    matures_ms: int = 0
    """While verified: when its challenge window closes and it is paid (0 before the reveal). While late: the
    end of its late-reveal time."""
    outputs_due_ms: int = 0
    """Non-zero when the provider owes the chain its full outputs (demanded, or a redundancy dispute): every
    chunk must be on chain before this time, or the outputs count as withheld."""
    posted_items: int = 0
    """Output items on chain so far (chunks are posted in order, each with a range proof to the output root)."""
    outputs_posted: bool = False
    """Its full outputs are on chain (`compute.posted_chunks`) for anyone to challenge with."""
    posting_deposit: int = 0
    """What the requester reserved when it demanded the outputs, still unspent: each chunk's inclusion fee is
    paid back to the provider from it; the rest returns to the requester when the assignment is final."""
    reveal_by_slot: int = 0
    """Once its sample is fixed: the last slot whose block may carry the reveal (`compute.reveal_window_slots` from
    the block that fixed it); 0 before. A committed assignment not revealed by then turns late (`outage`)."""

    WIRE = (
        ("provider", ACCOUNT),
        ("portion", AMOUNT),
        ("state", U8),
        ("assigned_block", U64),
        ("commit_by_slot", U64),
        ("sample_from_slot", U64),
        ("commitment", HASH),
        ("commit_block", U64),
        ("sample_seed", HASH),
        ("output_root", HASH),
        ("matures_ms", U64),
        ("outputs_due_ms", U64),
        ("posted_items", U32),
        ("outputs_posted", BOOL),
        ("posting_deposit", AMOUNT),
        ("reveal_by_slot", U64),
    )


@dataclass(frozen=True)
class Job(Struct):
    """A clinic's paid inference job. The price is reserved from the requester until the job settles."""

    id: int
    requester: bytes
    model: bytes
    input_root: bytes
    input_seed: bytes
    """Non-zero for a synthetic job: item i is SHAKE-256(seed, i), so any provider can produce the inputs."""
    items: int
    price: int
    redundancy: int
    deadline_ms: int
    posted_block: int
    priority: bool
    """The requester held a 90-day-or-longer stake when posting: assigned before other jobs."""
    status: int
    assignments: tuple[Assignment, ...] = ()
    rank: int = 0
    """Base units it pays each provider per multiply-accumulate: its place in the queue (`market`)."""
    took_place: bool = False
    """It took the place of a waiting job when the chain was full: it cannot be cancelled (else evicting others
    would cost only fees)."""

    WIRE = (
        ("id", U64),
        ("requester", ACCOUNT),
        ("model", HASH),
        ("input_root", HASH),
        ("input_seed", HASH),
        ("items", U32),
        ("price", AMOUNT),
        ("redundancy", U8),
        ("deadline_ms", U64),
        ("posted_block", U64),
        ("priority", BOOL),
        ("status", U8),
        ("assignments", ListOf(Nested(Assignment), MAX_REDUNDANCY)),
        ("rank", AMOUNT),
        ("took_place", BOOL),
    )

    def portion(self, k: int) -> int:
        """The escrow of assignment number k: the price split evenly, exactly, over the redundancy."""
        return self.price * (k + 1) // self.redundancy - self.price * k // self.redundancy

    def assignment_of(self, provider: bytes) -> int | None:
        for i, a in enumerate(self.assignments):
            if a.provider == provider:
                return i
        return None

    def vacant(self) -> list[int]:
        """The places no provider holds: stalled ones (in order), then the ones never assigned."""
        return [k for k, a in enumerate(self.assignments) if a.state == STALLED] + list(
            range(len(self.assignments), self.redundancy))

    @property
    def fully_assigned(self) -> bool:
        return len(self.assignments) == self.redundancy and all(a.state != STALLED for a in self.assignments)

    @property
    def committed_any(self) -> bool:
        """Some provider committed (or got further): the job can no longer be evicted."""
        return any(a.state not in (ASSIGNED, STALLED, VOID) for a in self.assignments)

    @property
    def unassigned_escrow(self) -> int:
        return sum(self.portion(k) for k in self.vacant())


@dataclass(frozen=True)
class Opening(Struct):
    """One sampled item opened in a reveal: input and output with their Merkle paths."""

    index: int
    input: bytes
    output: bytes
    input_proof: tuple[bytes, ...]
    output_proof: tuple[bytes, ...]

    WIRE = (
        ("index", U32),
        ("input", Bytes(max_len=MAX_ITEM_BYTES)),
        ("output", Bytes(max_len=MAX_ITEM_BYTES)),
        ("input_proof", ListOf(HASH, MAX_PROOF)),
        ("output_proof", ListOf(HASH, MAX_PROOF)),
    )


@dataclass(frozen=True)
class PendingCredit(Struct):
    """Work credit of one receipt, maturing after the challenge window."""

    credit: int
    burned: int
    """The part of the job's fee burned for it: the cap on what its mining reward may be."""
    WIRE = (("credit", AMOUNT), ("burned", AMOUNT))


@dataclass(frozen=True)
class CreditBucket(Struct):
    """Credit that matured in one epoch (the power table and governance count the recent ones)."""

    epoch: int
    credit: int
    WIRE = (("epoch", U64), ("credit", AMOUNT))


@dataclass(frozen=True)
class EmissionPeriodRecord(Struct):
    duration_ms: int
    amount: int
    WIRE = (("duration_ms", U64), ("amount", AMOUNT))


@dataclass(frozen=True)
class JobProvider(Struct):
    job_id: int
    provider: bytes
    WIRE = (("job_id", U64), ("provider", ACCOUNT))


MAX_SAMPLE_AUTHORS = 64
"""Bound on `compute.sample_authors`: the recent-authors list never holds more."""


@dataclass(frozen=True)
class RecentAuthor(Struct):
    """A block author and the slot of the last block it authored."""

    author: bytes
    slot: int
    WIRE = (("author", ACCOUNT), ("slot", U64))


# --- private jobs (spec 13): cases sealed to the assigned provider, checked on the clinic's decoys ----------------

MAX_CASE_BYTES = 1024
"""A private job's case is one model input: at most 1,024 values (`model.MAX_INPUT_BYTES`)."""
MAX_FLAG_BYTES = MAX_JOB_ITEMS // 8
"""The bitmap of items a provider flagged as not opening: one bit per item of the largest job."""
SEAL_BYTES = 48
"""What sealing adds to an item: the ephemeral public key (32) and the MAC (16) (`sealed_cases.SEAL_OVERHEAD`)."""
MAX_SEALED_OUTPUT = MAX_ITEM_BYTES + SEAL_BYTES
"""A private job's output item sealed to its clinic: the output and the sealed box's 48 bytes."""
MAX_SEALED_INPUT = MAX_CASE_BYTES + SEAL_BYTES
"""A private job's case sealed to its provider."""
MAX_EXCHANGED_ITEM = max(MAX_ITEM_BYTES, MAX_SEALED_INPUT, MAX_SEALED_OUTPUT)
"""The largest item nodes pass on: a public job's input or output, or a private job's sealed case or output."""
MAX_DECOYS = MAX_OPENINGS
"""Bound on a private job's decoys: every decoy is opened in the provider's reveal (`compute.sample_size` is the
least a job may have, up to one fewer than its items)."""

PRIVATE_PENDING = 0
"""Waiting for its provider, the sealed inputs, the commit or the clinic's decoy reveal."""
PRIVATE_CHECKED = 1
"""The clinic revealed its decoys in time; the provider's reveal opens exactly them."""
PRIVATE_UNREVEALED = 2
"""The clinic did not reveal its decoys before the sample was drawn: its deposit was burned; the provider is paid,
its work unchecked and uncredited."""
PRIVATE_UNSEALED = 3
"""The clinic did not give its sealed inputs in time: refunded less the missed-assignment fee, the provider released
without a penalty."""
PRIVATE_OUTCOMES = ("pending", "checked", "unrevealed", "unsealed")


@dataclass(frozen=True)
class PrivateJob(Struct):
    """What the chain holds of a private job beside its `Job`: the clinic's decoy commitment and deposit, and the
    sealed inputs of its assignment (a private job has one provider; a place that stalls is sealed again to the
    next one)."""

    decoys: int
    commitment: bytes
    """H(salt, items, decoy positions, H(decoy cases)) (`btt_chain.primitives.sealed_cases.decoy_commitment`)."""
    deposit: int
    """Reserved from the clinic at post (`compute.missed_assignment_fee`, the figure a provider forfeits for holding
    a place without working); returned when the job closes, burned if the clinic does not reveal its decoys."""
    clinic_key: bytes
    """The clinic's box key when it posted: the provider seals its outputs to it."""
    provider_key: bytes = ZERO_HASH
    """The assigned provider's box key when it was drawn: every item is sealed to it (zero while unassigned)."""
    sealed_root: bytes = ZERO_HASH
    """Merkle root over the sealed items (zero until the clinic gives it)."""
    inputs_by_slot: int = 0
    """The last slot whose block may carry the sealed root (the commit window opens after it)."""
    decoys_by_slot: int = 0
    """The last slot whose block may carry the decoy reveal: the slot before the sample start, so the decoys are on
    chain before any block can draw the sample."""
    positions: tuple[int, ...] = ()
    """The revealed decoy positions (empty until revealed): the sample the provider's reveal opens."""
    flagged: bytes = b""
    """Bitmap of the items the provider flagged as not opening (bit i of byte i // 8, least significant first)."""
    outcome: int = PRIVATE_PENDING

    WIRE = (
        ("decoys", U32),
        ("commitment", HASH),
        ("deposit", AMOUNT),
        ("clinic_key", HASH),
        ("provider_key", HASH),
        ("sealed_root", HASH),
        ("inputs_by_slot", U64),
        ("decoys_by_slot", U64),
        ("positions", ListOf(U32, MAX_DECOYS)),
        ("flagged", Bytes(max_len=MAX_FLAG_BYTES)),
        ("outcome", U8),
    )

    def is_flagged(self, index: int) -> bool:
        byte = index // 8
        return byte < len(self.flagged) and bool(self.flagged[byte] >> (index % 8) & 1)

    def flag_count(self) -> int:
        return sum(bin(b).count("1") for b in self.flagged)


@dataclass(frozen=True)
class DecoyOpening(Struct):
    """One decoy revealed by the clinic: its case and the ephemeral secret it was sealed with, and the Merkle path of
    the sealed item (which every node re-seals) to the job's sealed root."""

    index: int
    case: bytes
    secret: bytes
    proof: tuple[bytes, ...]

    WIRE = (
        ("index", U32),
        ("case", Bytes(max_len=MAX_CASE_BYTES)),
        ("secret", HASH),
        ("proof", ListOf(HASH, MAX_PROOF)),
    )


@dataclass(frozen=True)
class PrivateOpening(Struct):
    """One decoy opened in a private job's reveal: the provider's output for it, and the ephemeral secret it sealed
    that output to the clinic with (the output root is over the sealed outputs: every node re-seals it), with the
    sealed output's Merkle path."""

    index: int
    output: bytes
    secret: bytes
    output_proof: tuple[bytes, ...]

    WIRE = (
        ("index", U32),
        ("output", Bytes(max_len=MAX_ITEM_BYTES)),
        ("secret", HASH),
        ("output_proof", ListOf(HASH, MAX_PROOF)),
    )
