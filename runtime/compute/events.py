"""Events of the compute module. `JobReceipt` events are the block's receipts: their root is in the header."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from btt_chain.primitives.codec import ACCOUNT, AMOUNT, BOOL, HASH, U8, U32, U64, Text
from runtime.events import Event


@dataclass(frozen=True)
class ModelRegistered(Event):
    MODULE: ClassVar[str] = "compute"
    model: bytes
    model_name: str
    weights_hash: bytes
    weights_size: int
    owner: bytes
    """The registering account, or all zeros for governance."""
    deposit: int
    WIRE = (("model", HASH), ("model_name", Text(64)), ("weights_hash", HASH), ("weights_size", U64),
            ("owner", ACCOUNT), ("deposit", AMOUNT))


@dataclass(frozen=True)
class ModelServed(Event):
    """A provider started (`serving`) or stopped taking jobs on an owner's model."""

    MODULE: ClassVar[str] = "compute"
    model: bytes
    provider: bytes
    serving: bool
    WIRE = (("model", HASH), ("provider", ACCOUNT), ("serving", BOOL))


@dataclass(frozen=True)
class ProviderRegistered(Event):
    MODULE: ClassVar[str] = "compute"
    who: bytes
    capacity: int
    region: int
    energy: int
    WIRE = (("who", ACCOUNT), ("capacity", U64), ("region", U8), ("energy", U8))


@dataclass(frozen=True)
class ProviderDeregistered(Event):
    MODULE: ClassVar[str] = "compute"
    who: bytes
    WIRE = (("who", ACCOUNT),)


@dataclass(frozen=True)
class JobPosted(Event):
    MODULE: ClassVar[str] = "compute"
    job_id: int
    requester: bytes
    model: bytes
    items: int
    price: int
    deadline_ms: int
    WIRE = (
        ("job_id", U64), ("requester", ACCOUNT), ("model", HASH), ("items", U64), ("price", AMOUNT),
        ("deadline_ms", U64),
    )


@dataclass(frozen=True)
class JobAssigned(Event):
    """The provider must commit in a block of slot `commit_by_slot` or earlier; its sample is fixed by the
    first distinct authors from `sample_from_slot` on."""

    MODULE: ClassVar[str] = "compute"
    job_id: int
    provider: bytes
    portion: int
    commit_by_slot: int
    sample_from_slot: int
    WIRE = (("job_id", U64), ("provider", ACCOUNT), ("portion", AMOUNT), ("commit_by_slot", U64),
            ("sample_from_slot", U64))


@dataclass(frozen=True)
class JobEvicted(Event):
    """The chain (or the owners' share the job was in) was full and job `by` pays more in all: this job, which no
    provider had committed to yet, made way; its price was released in full (any provider assigned to it is told by
    `AssignmentWithdrawn`)."""

    MODULE: ClassVar[str] = "compute"
    job_id: int
    by: int
    refunded: int
    WIRE = (("job_id", U64), ("by", U64), ("refunded", AMOUNT))


@dataclass(frozen=True)
class ResultCommitted(Event):
    MODULE: ClassVar[str] = "compute"
    job_id: int
    provider: bytes
    sample_from_slot: int
    """The sample is fixed once enough distinct validators authored blocks from this slot on; reveal after."""
    WIRE = (("job_id", U64), ("provider", ACCOUNT), ("sample_from_slot", U64))


@dataclass(frozen=True)
class JobReceipt(Event):
    """A verified result: the sampled items matched re-execution on every node. This is a work proof."""

    MODULE: ClassVar[str] = "compute"
    RECEIPT: ClassVar[bool] = True
    job_id: int
    provider: bytes
    model: bytes
    items: int
    output_root: bytes
    payment: int
    """The escrow this assignment settled."""
    burned: int
    provider_paid: int
    credit: int
    """Work credit (multiply-accumulates, capped by `burned`), maturing after the challenge window."""
    WIRE = (
        ("job_id", U64), ("provider", ACCOUNT), ("model", HASH), ("items", U64), ("output_root", HASH),
        ("payment", AMOUNT), ("burned", AMOUNT), ("provider_paid", AMOUNT), ("credit", AMOUNT),
    )


@dataclass(frozen=True)
class FraudDetected(Event):
    """A sampled output did not match: the provider's bond was slashed and the requester refunded (`refunded` is 0
    for a late reveal: the requester had its refund at the deadline)."""

    MODULE: ClassVar[str] = "compute"
    job_id: int
    provider: bytes
    item: int
    slashed: int
    refunded: int
    WIRE = (("job_id", U64), ("provider", ACCOUNT), ("item", U64), ("slashed", AMOUNT), ("refunded", AMOUNT))


@dataclass(frozen=True)
class DeadlineMissed(Event):
    """The assignment was still open at the deadline: `refunded` went back to the requester, `slashed` is the
    missed-deadline fee burned from the provider's bond (0 where it committed: a late assignment pays it when its
    late reveal lands, a commit whose sample was never drawn does not)."""

    MODULE: ClassVar[str] = "compute"
    job_id: int
    provider: bytes
    refunded: int
    slashed: int
    WIRE = (("job_id", U64), ("provider", ACCOUNT), ("refunded", AMOUNT), ("slashed", AMOUNT))


@dataclass(frozen=True)
class RevealOverdue(Event):
    """The reveal window or the deadline passed after the sample was drawn: the provider may still open it until
    `reveal_by_ms`, or lose the withholding slash then."""

    MODULE: ClassVar[str] = "compute"
    job_id: int
    provider: bytes
    reveal_by_ms: int
    WIRE = (("job_id", U64), ("provider", ACCOUNT), ("reveal_by_ms", U64))


@dataclass(frozen=True)
class LateRevealVerified(Event):
    """A late assignment's sample re-executed correctly: honest work, late. No pay, no credit; `slashed` is the
    missed-assignment fee (and the escrow-proportional missed-deadline fee) burned from the provider's bond."""

    MODULE: ClassVar[str] = "compute"
    job_id: int
    provider: bytes
    output_root: bytes
    slashed: int
    WIRE = (("job_id", U64), ("provider", ACCOUNT), ("output_root", HASH), ("slashed", AMOUNT))


@dataclass(frozen=True)
class RevealWithheld(Event):
    """A late assignment's late-reveal time ended without a valid opening: `slashed` (the withholding slash) left
    the provider's bond."""

    MODULE: ClassVar[str] = "compute"
    job_id: int
    provider: bytes
    slashed: int
    WIRE = (("job_id", U64), ("provider", ACCOUNT), ("slashed", AMOUNT))


@dataclass(frozen=True)
class JobClosed(Event):
    """The job left the open set: done, expired, cancelled or evicted; `refunded` went back to the requester at closing
    (escrow already refunded by a FraudDetected event is not counted again)."""

    MODULE: ClassVar[str] = "compute"
    job_id: int
    status: int
    refunded: int
    WIRE = (("job_id", U64), ("status", U8), ("refunded", AMOUNT))


@dataclass(frozen=True)
class MiningRewarded(Event):
    MODULE: ClassVar[str] = "compute"
    provider: bytes
    amount: int
    credit: int
    WIRE = (("provider", ACCOUNT), ("amount", AMOUNT), ("credit", AMOUNT))


@dataclass(frozen=True)
class MiningEpoch(Event):
    """The mining distribution at the start of `epoch`: budget = emission since the last one + held back."""

    MODULE: ClassVar[str] = "compute"
    epoch: int
    budget: int
    paid: int
    held_back: int
    WIRE = (("epoch", U64), ("budget", AMOUNT), ("paid", AMOUNT), ("held_back", AMOUNT))


@dataclass(frozen=True)
class SampleVerified(Event):
    """The sampled items re-executed correctly; the assignment is in its challenge window until `matures_ms`."""

    MODULE: ClassVar[str] = "compute"
    job_id: int
    provider: bytes
    output_root: bytes
    matures_ms: int
    WIRE = (("job_id", U64), ("provider", ACCOUNT), ("output_root", HASH), ("matures_ms", U64))


@dataclass(frozen=True)
class ResultsDiffer(Event):
    """Two providers of one job revealed different output roots: both owe their outputs on chain."""

    MODULE: ClassVar[str] = "compute"
    job_id: int
    provider_a: bytes
    provider_b: bytes
    WIRE = (("job_id", U64), ("provider_a", ACCOUNT), ("provider_b", ACCOUNT))


@dataclass(frozen=True)
class OutputsDemanded(Event):
    """The provider must post its full outputs on chain by `due_ms` or be slashed as withholding them."""

    MODULE: ClassVar[str] = "compute"
    job_id: int
    provider: bytes
    due_ms: int
    deposit: int
    """Reserved from the requester (when it demanded them) to pay back the provider's posting fees."""
    WIRE = (("job_id", U64), ("provider", ACCOUNT), ("due_ms", U64), ("deposit", AMOUNT))


@dataclass(frozen=True)
class OutputsPosted(Event):
    """A chunk of a provider's outputs is on chain: items [first, first + items); `posted` are on chain in all;
    `reimbursed` of its fee was paid back from the requester's posting deposit (when it demanded them)."""

    MODULE: ClassVar[str] = "compute"
    job_id: int
    provider: bytes
    first: int
    items: int
    posted: int
    reimbursed: int
    WIRE = (("job_id", U64), ("provider", ACCOUNT), ("first", U64), ("items", U64), ("posted", U64),
            ("reimbursed", AMOUNT))


@dataclass(frozen=True)
class OutputsComplete(Event):
    """Every output of the provider is on chain: anyone may check and challenge them until `matures_ms` (a full
    challenge window from now, or later)."""

    MODULE: ClassVar[str] = "compute"
    job_id: int
    provider: bytes
    items: int
    matures_ms: int
    WIRE = (("job_id", U64), ("provider", ACCOUNT), ("items", U64), ("matures_ms", U64))


@dataclass(frozen=True)
class ChallengeUpheld(Event):
    """An item outside (or inside) the sample did not re-execute to its committed output: the provider's bond
    was slashed, the challenger rewarded from the slash, the requester refunded. `challenger` is all zeros
    when the chain settled a redundancy dispute by itself with nobody to reward."""

    MODULE: ClassVar[str] = "compute"
    job_id: int
    provider: bytes
    item: int
    challenger: bytes
    slashed: int
    reward: int
    refunded: int
    WIRE = (
        ("job_id", U64), ("provider", ACCOUNT), ("item", U64), ("challenger", ACCOUNT), ("slashed", AMOUNT),
        ("reward", AMOUNT), ("refunded", AMOUNT),
    )


@dataclass(frozen=True)
class OutputsWithheld(Event):
    """The provider did not post the outputs it owed: slashed, unpaid, the requester refunded."""

    MODULE: ClassVar[str] = "compute"
    job_id: int
    provider: bytes
    slashed: int
    refunded: int
    WIRE = (("job_id", U64), ("provider", ACCOUNT), ("slashed", AMOUNT), ("refunded", AMOUNT))


@dataclass(frozen=True)
class ResultVoided(Event):
    """The window closed on a redundancy dispute nobody settled: not paid, not slashed, the requester refunded."""

    MODULE: ClassVar[str] = "compute"
    job_id: int
    provider: bytes
    refunded: int
    WIRE = (("job_id", U64), ("provider", ACCOUNT), ("refunded", AMOUNT))


@dataclass(frozen=True)
class AssignmentStalled(Event):
    """The provider's commit window closed without a commit: its place in the job went back to the market at once,
    and `slashed` (the missed-assignment fee) was burned from its bond."""

    MODULE: ClassVar[str] = "compute"
    job_id: int
    provider: bytes
    slashed: int
    WIRE = (("job_id", U64), ("provider", ACCOUNT), ("slashed", AMOUNT))


@dataclass(frozen=True)
class AssignmentWithdrawn(Event):
    """The provider's job was evicted by job `by` before it committed: nothing is owed either way (no pay, no fee);
    stop working on it."""

    MODULE: ClassVar[str] = "compute"
    job_id: int
    provider: bytes
    by: int
    WIRE = (("job_id", U64), ("provider", ACCOUNT), ("by", U64))


@dataclass(frozen=True)
class RevealMissed(Event):
    """The provider's sample was fixed and it did not reveal within its reveal window: `refunded` went back to the
    requester at once, and the assignment is late (`RevealOverdue` says until when it may still be opened)."""

    MODULE: ClassVar[str] = "compute"
    job_id: int
    provider: bytes
    refunded: int
    WIRE = (("job_id", U64), ("provider", ACCOUNT), ("refunded", AMOUNT))


@dataclass(frozen=True)
class BoxKeySet(Event):
    """`who` set its box key: private cases (as a provider) and results (as a clinic) are sealed to it from now."""

    MODULE: ClassVar[str] = "compute"
    who: bytes
    key: bytes
    WIRE = (("who", ACCOUNT), ("key", HASH))


@dataclass(frozen=True)
class PrivateJobPosted(Event):
    """Job `job_id` is private: `decoys` of its items are the clinic's decoys, committed to by `commitment`; the
    clinic reserved `deposit` as its pledge to reveal them."""

    MODULE: ClassVar[str] = "compute"
    job_id: int
    decoys: int
    commitment: bytes
    deposit: int
    WIRE = (("job_id", U64), ("decoys", U32), ("commitment", HASH), ("deposit", AMOUNT))


@dataclass(frozen=True)
class InputsSealed(Event):
    """The clinic gave the root over its items sealed to `provider` (`key`); the provider's commit window runs."""

    MODULE: ClassVar[str] = "compute"
    job_id: int
    provider: bytes
    key: bytes
    sealed_root: bytes
    WIRE = (("job_id", U64), ("provider", ACCOUNT), ("key", HASH), ("sealed_root", HASH))


@dataclass(frozen=True)
class InputsNotSealed(Event):
    """The clinic did not give its sealed inputs in time: `provider` is released without a penalty, the job is
    closed, `fee` burned from the price and the rest refunded (in `JobClosed`)."""

    MODULE: ClassVar[str] = "compute"
    job_id: int
    provider: bytes
    fee: int
    WIRE = (("job_id", U64), ("provider", ACCOUNT), ("fee", AMOUNT))


@dataclass(frozen=True)
class InputsPosted(Event):
    """A chunk of a job's input items is on chain (a private job's sealed to its provider): items [first, first +
    items); `posted` are on chain in all (spec 17: a public job is drawn, a private job's provider may commit, once all
    are)."""

    MODULE: ClassVar[str] = "compute"
    job_id: int
    first: int
    items: int
    posted: int
    WIRE = (("job_id", U64), ("first", U32), ("items", U32), ("posted", U32))


@dataclass(frozen=True)
class ItemsFlagged(Event):
    """`provider` says `count` more items of the job do not open with its key (`flagged` in all): it is paid for
    them unless the clinic shows one opens."""

    MODULE: ClassVar[str] = "compute"
    job_id: int
    provider: bytes
    count: int
    flagged: int
    WIRE = (("job_id", U64), ("provider", ACCOUNT), ("count", U32), ("flagged", U32))


@dataclass(frozen=True)
class DecoysRevealed(Event):
    """The clinic revealed the job's decoys; every one re-sealed to its committed item. The provider's reveal opens
    exactly them."""

    MODULE: ClassVar[str] = "compute"
    job_id: int
    decoys: int
    WIRE = (("job_id", U64), ("decoys", U32))


@dataclass(frozen=True)
class DecoysNotRevealed(Event):
    """The clinic did not reveal its decoys before the sample was drawn: its deposit `burned`; the provider is paid
    when its result matures, with no work credit (nothing was checked)."""

    MODULE: ClassVar[str] = "compute"
    job_id: int
    burned: int
    WIRE = (("job_id", U64), ("burned", AMOUNT))


@dataclass(frozen=True)
class PlaceRentPaid(Event):
    """The job left its place after holding it `slots` slots: its rent, `burned`, was burned from its deposit (spec 14;
    the rest of the deposit was released)."""

    MODULE: ClassVar[str] = "compute"
    job_id: int
    slots: int
    burned: int
    WIRE = (("job_id", U64), ("slots", U64), ("burned", AMOUNT))


@dataclass(frozen=True)
class JobReassigned(Event):
    """`provider`'s place in job `job_id` ended without a verified result (late, or a wrong item shown): its portion,
    refunded, was posted again as job `new_job` for another provider, same inputs and deadline (spec 14)."""

    MODULE: ClassVar[str] = "compute"
    job_id: int
    provider: bytes
    new_job: int
    WIRE = (("job_id", U64), ("provider", ACCOUNT), ("new_job", U64))


@dataclass(frozen=True)
class ReassignSkipped(Event):
    """`provider`'s failed place in job `job_id` was not posted again: `reason` 0 a private job (the clinic reposts
    it sealed), 1 the deadline is too near for a whole timetable, 2 the portion is below one provider's fees, 3 the
    requester cannot pay the place's rent deposit (`RequesterLowBalance`), 4 the market refused the post (spec 14)."""

    MODULE: ClassVar[str] = "compute"
    job_id: int
    provider: bytes
    reason: int
    WIRE = (("job_id", U64), ("provider", ACCOUNT), ("reason", U8))


@dataclass(frozen=True)
class RequesterLowBalance(Event):
    """The chain needed `needed` of `who`'s spendable balance for a job of its own (a failed place posted again) and
    it had less: top the account up (spec 14)."""

    MODULE: ClassVar[str] = "compute"
    who: bytes
    needed: int
    WIRE = (("who", ACCOUNT), ("needed", AMOUNT))


@dataclass(frozen=True)
class WorkCarried(Event):
    """The start of this block used `weight` (`compute.hook_max_weight` or the first item past it) and stopped in due
    step `step` (0 the epoch's credits, 1 expiries, 2 unserved checks, 3 commit windows, 4 reveal windows, 5 late
    reveals, 6 challenge windows): the rest waits for the next block's start, and the module's calls from accounts,
    but a party's obligations, are refused until then (spec 19)."""

    MODULE: ClassVar[str] = "compute"
    step: int
    weight: int
    WIRE = (("step", U8), ("weight", U64))


EVENTS = (
    ModelRegistered,
    ModelServed,
    ProviderRegistered,
    ProviderDeregistered,
    JobPosted,
    JobAssigned,
    JobEvicted,
    ResultCommitted,
    JobReceipt,
    FraudDetected,
    DeadlineMissed,
    RevealOverdue,
    LateRevealVerified,
    RevealWithheld,
    JobClosed,
    MiningRewarded,
    MiningEpoch,
    SampleVerified,
    ResultsDiffer,
    OutputsDemanded,
    OutputsPosted,
    OutputsComplete,
    ChallengeUpheld,
    OutputsWithheld,
    ResultVoided,
    AssignmentStalled,
    AssignmentWithdrawn,
    RevealMissed,
    BoxKeySet,
    PrivateJobPosted,
    InputsSealed,
    InputsNotSealed,
    ItemsFlagged,
    DecoysRevealed,
    DecoysNotRevealed,
    PlaceRentPaid,
    JobReassigned,
    ReassignSkipped,
    RequesterLowBalance,
    InputsPosted,
    WorkCarried,
)
"""Fixed variant indices in the metadata: append only, never reorder or remove."""
