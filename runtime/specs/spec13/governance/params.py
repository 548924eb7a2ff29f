"""Names of the governance module's parameters (values and bounds are genesis data, see TOKENOMICS.md)."""

from __future__ import annotations

MIN_DEPOSIT = "governance.min_deposit"
EMERGENCY_DEPOSIT = "governance.emergency_deposit"
VOTING_PERIOD = "governance.voting_period_ms"
ENACTMENT_DELAY = "governance.enactment_delay_ms"
THRESHOLD = "governance.threshold_bps"
"""A standard referendum passes when the weighted aye share is above this."""
EMERGENCY_THRESHOLD = "governance.emergency_threshold_bps"
"""An emergency referendum passes when the weighted aye share is at least this (a 2/3 supermajority)."""
QUORUM = "governance.quorum_bps"
"""Token-holder turnout needed, as a share of the circulating supply (issuance minus module accounts)."""
SPAM_THRESHOLD = "governance.spam_threshold_bps"
"""A rejected referendum whose aye share is below this loses its deposit (burned)."""
MIN_HOUSES = "governance.min_houses_in_favour"
"""A referendum passes only if at least this many houses (2 or more) have an aye majority: no house decides alone."""
HOUSE_TURNOUT_FLOOR = "governance.house_turnout_floor_bps"
"""A house counts toward `min_houses_in_favour` only when its turnout (votes cast over the house's whole
electorate weight) reaches this share."""
HOUSE_MIN_AYE_VOTERS = "governance.house_min_aye_voters"
"""A house counts toward `min_houses_in_favour` only when at least this many accounts voted aye in it (each with
weight in that house): one seat, or one institution, is not a house however large its share of a small house.
Counting aye voters (not all voters) keeps the rule monotone: a nay can never help a house count in favour."""
COMPUTE_WINDOW_DAYS = "governance.compute_window_days"
"""The compute house weighs verified work credit matured over this many days."""
MAX_OPEN = "governance.max_open_referenda"
HOUSES = ("institutions", "compute", "holders", "representatives")
"""The four houses, in tally order."""


def house_weight(house: str) -> str:
    return f"governance.house_bps.{house}"


ALL = (
    MIN_DEPOSIT, EMERGENCY_DEPOSIT, VOTING_PERIOD, ENACTMENT_DELAY, THRESHOLD, EMERGENCY_THRESHOLD, QUORUM,
    SPAM_THRESHOLD, MIN_HOUSES, HOUSE_TURNOUT_FLOOR, HOUSE_MIN_AYE_VOTERS, COMPUTE_WINDOW_DAYS, MAX_OPEN,
    *(house_weight(h) for h in HOUSES),
)
"""Every parameter the governance module reads: a genesis must define each one."""
