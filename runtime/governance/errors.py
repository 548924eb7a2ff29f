"""Errors of the governance module."""

from __future__ import annotations

from runtime.errors import ModuleError


class GovernanceError(ModuleError):
    MODULE = "governance"


class DepositTooLow(GovernanceError):
    """The deposit is below the track's minimum (governance.min_deposit, governance.emergency_deposit)."""


class BadProposal(GovernanceError):
    """The proposed call cannot be carried by a referendum."""


class EmergencyOnly(GovernanceError):
    """This call may only be carried by the emergency track (a 2/3 supermajority)."""


class TooManyOpen(GovernanceError):
    """The chain holds the most open referenda it may (governance.max_open_referenda)."""


class UnknownReferendum(GovernanceError):
    """No referendum has that id."""


class VotingClosed(GovernanceError):
    """The referendum is not open for voting."""


class NotProposer(GovernanceError):
    """Only the proposer may cancel its referendum."""


class NoVotingWeight(GovernanceError):
    """The account has no weight in any house: no balance, stake, institution seat, work credit or seat as a
    community representative."""


ERRORS = (
    DepositTooLow,
    BadProposal,
    EmergencyOnly,
    TooManyOpen,
    UnknownReferendum,
    VotingClosed,
    NotProposer,
    NoVotingWeight,
)
"""Fixed error indices in the metadata (`DispatchError::Module`): append only, never reorder or remove."""
