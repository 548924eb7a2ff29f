"""What one account weighs in each house when it votes, read from the state at the time of the vote.

- institutions: its genesis allocation if it is a founding institution;
- compute contributors: its verified work credit matured over the last `governance.compute_window_days`;
- token holders: free balance (the part the voter chooses to vote with, which stays locked until voting
  ends) + the principal of term deposits that stay locked until voting ends (a deposit that unlocks
  earlier could be withdrawn and voted again from another account, so it does not count); the principal of
  365- and 1095-day deposits counts x1.5 (`staking.governance_multiplier_bps`), nothing else does. The
  plain sum is its turnout for the quorum. One token, one vote per house: nothing counted can move
  before voting ends;
- community representatives: one account, one vote.
"""

from __future__ import annotations

from dataclasses import dataclass

from btt_chain.primitives.accounts import MODULE_ACCOUNTS, module_account
from runtime.compute import credit
from runtime.consensus import logic as consensus
from runtime.consensus import storage as consensus_storage
from runtime.governance import params
from runtime.overlay import Overlay
from runtime.params.storage import get_param
from runtime.roles import storage as roles
from runtime.staking import logic as staking
from runtime.staking import storage as staking_storage
from runtime.system import storage as system
from runtime.system import time

BPS = 10_000


@dataclass(frozen=True)
class VoterWeight:
    houses: tuple[int, int, int, int]
    """Weight in institutions, compute, holders, representatives."""
    turnout: int
    """Free + staked balance, without the multiplier."""
    lockable: int
    """The free balance the vote locks until voting ends."""


def compute_window_epochs(state: Overlay) -> int:
    epoch_ms = consensus_storage.epoch_ms(state)
    days = get_param(state, params.COMPUTE_WINDOW_DAYS)
    return max(1, days * time.day_ms(state) // epoch_ms) if epoch_ms else 0


def voter_weight(state: Overlay, who: bytes, balance: int | None = None, until_ms: int | None = None) -> VoterWeight:
    """`balance`: the free balance to vote with (and lock), at most the account's free balance; None: all of it.
    `until_ms`: when voting ends; a deposit counts only if it is still locked then (None: the head's time, for
    a view of what running deposits would count)."""
    institution = roles.institutions.get(state, who) or 0
    epoch = consensus.epoch_of(state, system.slot.get(state))
    work = credit.recent_credit(state, who, epoch, compute_window_epochs(state))
    free = system.account.get(state, who).free
    if balance is not None:
        free = min(free, balance)
    until = system.timestamp_ms.get(state) + 1 if until_ms is None else until_ms
    staked = multiplied = 0
    if staking.staked_total(state, who):
        for d in staking_storage.deposits_of(state, who):
            if d.unlock_ms >= until:
                staked += d.amount
                if d.tier >= staking.GOVERNANCE_MULTIPLIER_FROM:
                    multiplied += d.amount
    multiplier = get_param(state, staking.GOVERNANCE_MULTIPLIER_PARAM)
    holder = free + staked - multiplied + multiplied * multiplier // BPS
    representative = 1 if who in roles.representatives.get(state) else 0
    return VoterWeight((institution, work, holder, representative), free + staked, free)


def circulating(state: Overlay) -> int:
    """Total issuance minus what module accounts hold: the balance that can vote in the holders' house."""
    held = sum(system.account.get(state, module_account(n)).total for n in MODULE_ACCOUNTS)
    return system.total_issuance.get(state) - held
