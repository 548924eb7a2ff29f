"""Errors of the compute module."""

from __future__ import annotations

from runtime.errors import ModuleError


class ComputeError(ModuleError):
    MODULE = "compute"


class UnknownModel(ComputeError):
    """No model with that hash is registered."""


class ModelExists(ComputeError):
    """A model with that hash is already registered."""


class BadModel(ComputeError):
    """The model spec is not valid."""


class MalformedWeights(ComputeError):
    """The model's weights blob matches its registered hash but is not what its spec describes: it cannot run."""


class RegistrationClosed(ComputeError):
    """This chain registers models by governance only."""


class AlreadyProvider(ComputeError):
    """The account is already a registered provider."""


class NotProvider(ComputeError):
    """The account is not a registered provider."""


class BondTooLow(ComputeError):
    """A provider needs an active bond of at least the parameter `compute.min_provider_bond`."""


class BadProviderClass(ComputeError):
    """Capacity, region or energy class is out of range."""


class ProviderBusy(ComputeError):
    """The provider still holds open assignments."""


class BadJob(ComputeError):
    """The job's figures are out of range."""


class UnknownJob(ComputeError):
    """No job has that id."""


class JobNotOpen(ComputeError):
    """The job is no longer open."""


class NotRequester(ComputeError):
    """Only the job's requester may do that."""


class AlreadyAssigned(ComputeError):
    """The job already has providers; it can no longer be cancelled."""


class NotAssigned(ComputeError):
    """The caller holds no assignment of this job."""


class WrongState(ComputeError):
    """The assignment is not in the state this call needs."""


class DeadlinePassed(ComputeError):
    """The job's deadline has passed."""


class SampleNotFixed(ComputeError):
    """The sample of this commit is not fixed yet: reveal in a later block."""


class CommitmentMismatch(ComputeError):
    """H(output root, salt) does not match the commitment."""


class BadOpenings(ComputeError):
    """The openings are not the sampled items, or a Merkle path does not verify."""


class ChallengeFailed(ComputeError):
    """The challenged item re-executes to the committed output: there is no fault to show."""


class BadChallenge(ComputeError):
    """The challenged item's input or output does not lead by its Merkle path to the job's roots."""


class BadOutputs(ComputeError):
    """The posted outputs are not the provider's revealed output items (count, size or Merkle root)."""


class CommitWindowClosed(ComputeError):
    """The assignment's commit window has closed: the chain fixed at assignment the slots it may commit in, and the
    job went back to the market."""


class OutputsLate(ComputeError):
    """The outputs were due earlier: posted now they count as withheld, and challengers would get no window."""


class PriceTooLow(ComputeError):
    """The price does not cover each provider's commit, reveal and output posting fees."""


class TooManyOpenJobs(ComputeError):
    """This requester already holds the most open jobs one requester may (`compute.max_open_jobs_per_requester`)."""


class MarketFull(ComputeError):
    """The chain holds the most open jobs it may, and no waiting job pays less per unit of work than this one."""


class CannotCancel(ComputeError):
    """The job took a waiting job's place when the chain was full: it runs to its deadline like any other."""


class OwnerShareFull(ComputeError):
    """The jobs on models this model's owner registered hold the most open jobs one owner's models may
    (`compute.max_open_share_bps` of `compute.max_open_jobs`), or all owners' models together hold their share
    (`compute.max_owner_models_share_bps`)."""


class NoBoxKey(ComputeError):
    """The account has no box key (`compute.set_box_key`): a clinic needs one to receive its results."""


class BadBoxKey(ComputeError):
    """Not a usable X25519 public key: 32 bytes, canonical, not a low-order point."""


class NotPrivate(ComputeError):
    """The job is not a private one (or this call is not for private jobs)."""


class InputsNotSealed(ComputeError):
    """The clinic has not given the sealed inputs of this assignment yet, or no longer may."""


class BadDecoys(ComputeError):
    """The revealed decoys do not open the job's decoy commitment, or a revealed decoy does not re-seal to its
    committed sealed item: nothing is recorded (the clinic may reveal correctly until its window ends)."""


class DecoysClosed(ComputeError):
    """The decoys are already revealed, or the window to reveal them has closed."""


class BadInputs(ComputeError):
    """The posted input items are not the job's next chunk under its input root (or sealed root): order, count, size
    or range proof (spec 17)."""


class InputsNotOwed(ComputeError):
    """The job takes no inputs on chain (synthetic, or of spec 16), or has them all already (spec 17)."""


class RevealWindowClosed(ComputeError):
    """The reveal window of this commit closed (spec 19: refused by the call itself while the block's start that
    turns it late waits)."""


class LateRevealClosed(ComputeError):
    """The late-reveal time of this assignment ended (spec 19, as `RevealWindowClosed`)."""


class CatchingUp(ComputeError):
    """Work that fell due waits for the next block's start (`compute.hook_max_weight`): the module's calls are taken
    again once it is done (spec 19)."""


ERRORS = (
    UnknownModel,
    ModelExists,
    BadModel,
    MalformedWeights,
    RegistrationClosed,
    AlreadyProvider,
    NotProvider,
    BondTooLow,
    BadProviderClass,
    ProviderBusy,
    BadJob,
    UnknownJob,
    JobNotOpen,
    NotRequester,
    AlreadyAssigned,
    NotAssigned,
    WrongState,
    DeadlinePassed,
    SampleNotFixed,
    CommitmentMismatch,
    BadOpenings,
    ChallengeFailed,
    BadChallenge,
    BadOutputs,
    CommitWindowClosed,
    OutputsLate,
    PriceTooLow,
    TooManyOpenJobs,
    MarketFull,
    CannotCancel,
    OwnerShareFull,
    NoBoxKey,
    BadBoxKey,
    NotPrivate,
    InputsNotSealed,
    BadDecoys,
    DecoysClosed,
    BadInputs,
    InputsNotOwed,
    CatchingUp,
    RevealWindowClosed,
    LateRevealClosed,
)
"""Fixed error indices in the metadata (`DispatchError::Module`): append only, never reorder or remove."""
