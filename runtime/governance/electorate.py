"""What one account weighs in each house when it votes, read from the state at the time of the vote.

- institutions: its genesis allocation if it is a founding institution;
- compute contributors: its verified work credit matured over the last `governance.compute_window_days`, at most
  the work window (`consensus.work_window_epochs`, as long as credit is kept: spec 20);
- token holders: free balance (the part the voter chooses to vote with, which stays locked until voting
  ends) + the principal of term deposits that stay locked until voting ends (a deposit that unlocks
  earlier could be withdrawn and voted again from another account, so it does not count); the principal of
  365- and 1095-day deposits counts x1.5 (`staking.governance_multiplier_bps`), nothing else does. The
  plain sum is its turnout for the quorum. One token, one vote per house: nothing counted can move
  before voting ends;
- community representatives: one account, one vote.

Each house's whole electorate, the denominator of its turnout (`house_electorates`), weighs the same way:
every founding institution's allocation; the work credit every provider matured over the same window; the
circulating supply (plain balance: the holders' turnout is the plain balance that voted, see `tally`); the
number of representatives.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass

from btt_chain.primitives.accounts import MODULE_ACCOUNTS, module_account
from runtime.overlay import Overlay

from ..compute import credit
from ..compute.params import WORK_WINDOW
from ..consensus import logic as consensus
from ..consensus import storage as consensus_storage
from ..governance import params
from ..params.storage import get_param
from ..roles import storage as roles
from ..staking import logic as staking
from ..staking import storage as staking_storage
from ..system import storage as system
from ..system import time

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


def work_window(state: Overlay) -> tuple[int, int]:
    """(the head's epoch, the window in epochs): the compute house counts credit matured in these epochs. The
    governance window is cut to the work window, the credit the chain keeps (spec 20: before it, a longer governance
    window counted whatever of the older credit its providers' histories happened to hold)."""
    window = min(compute_window_epochs(state), get_param(state, WORK_WINDOW))
    return consensus.epoch_of(state, system.slot.get(state)), window


def voter_weight(state: Overlay, who: bytes, balance: int | None = None, until_ms: int | None = None) -> VoterWeight:
    """`balance`: the free balance to vote with (and lock), at most the account's free balance; None: all of it.
    `until_ms`: when voting ends; a deposit counts only if it is still locked then (None: the head's time, for
    a view of what running deposits would count)."""
    institution = roles.institutions.get(state, who) or 0
    work = credit.recent_credit(state, who, *work_window(state))
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


def institutions_total(state: Overlay) -> int:
    """The institutions house's whole weight: every founding institution's genesis allocation (genesis data,
    a handful of rows)."""
    return sum(weight for _, weight in roles.institutions.items(state))


def work_total(state: Overlay) -> int:
    """The compute house's whole weight: every provider's work credit matured in the window, counted as
    `voter_weight` counts one account's (`credit.total_in_window`: the window's per-epoch totals since spec 20, no
    longer a pass over every provider's history but while a chain that took spec 20 has not yet run compute's
    migration 3 -> 4). Read when a referendum someone voted on in the compute house closes (once for all that close
    in a block) or is withdrawn, and per RPC tally."""
    return credit.total_in_window(state, *work_window(state))


WORK_TOTAL_STEP = 2_000
"""Credit histories `work_total_in_steps` sums between two yields (about 20-40 ms of decoding on a busy machine)."""


def work_total_in_steps(state: Overlay, per_step: int) -> Generator[None, None, int]:
    """`work_total`, for a reader that must hand its thread back meanwhile (the RPC lane): the histories it still
    reads (`credit.total_in_window_in_steps`) `per_step` at a time with a yield after each group, all read in the
    first step as the state stood then; the same sum as `work_total`."""
    epoch, window = work_window(state)
    return (yield from credit.total_in_window_in_steps(state, epoch, window, per_step))


def representatives_total(state: Overlay) -> int:
    return len(roles.representatives.get(state))


def house_electorates(state: Overlay, work: int | None = None) -> tuple[int, int, int, int]:
    """Each house's whole weight now (institutions, compute, holders, representatives), the denominator of its
    turnout. `work`: the compute house's total if the caller has read it already (see `work_total`)."""
    return (
        institutions_total(state),
        work_total(state) if work is None else work,
        circulating(state),
        representatives_total(state),
    )
