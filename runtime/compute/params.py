"""Names of the compute module's parameters (values and bounds are genesis data, see TOKENOMICS.md)."""

from __future__ import annotations

from ..compute.types import ENERGY_CLASSES, REGION_CLASSES

MIN_PROVIDER_BOND = "compute.min_provider_bond"
MAX_CAPACITY = "compute.max_capacity"
MAX_ITEMS = "compute.max_job_items"
MAX_REDUNDANCY = "compute.max_redundancy"
MIN_DEADLINE = "compute.min_deadline_ms"
MAX_DEADLINE = "compute.max_deadline_ms"
MAX_OPEN_JOBS = "compute.max_open_jobs"
MAX_OPEN_JOBS_PER_REQUESTER = "compute.max_open_jobs_per_requester"
MAX_ASSIGNMENTS_PER_BLOCK = "compute.max_assignments_per_block"
HOOK_MAX_WEIGHT = "compute.hook_max_weight"
"""The most weight the module's work at the start of a block may use; what does not fit waits for the next block's
(`hook_budget`, spec 19)."""
SAMPLE_SIZE = "compute.sample_size"
COMMIT_WINDOW = "compute.commit_window_slots"
"""How many slots from its assignment a provider has to commit; the chain fixes them, not the provider."""
REVEAL_WINDOW = "compute.reveal_window_slots"
"""How many slots from the block that fixed its sample a provider has to reveal; a committed assignment not revealed
by then turns late at once, and its job no longer waits for it (`outage`)."""
SAMPLE_AUTHORS = "compute.sample_authors"
"""Distinct validators that must author blocks after a commit before its sample is fixed (see `sample_fix`)."""
CHALLENGE_WINDOW = "compute.challenge_window_ms"
"""How long after its sample verified an assignment can be challenged; payment and credit wait for its end."""
OUTPUTS_DUE = "compute.outputs_due_ms"
"""How long a provider has to post its full outputs on chain once they are demanded or disputed; challengers
have as long again to use them."""
FRAUD_SLASH = "compute.fraud_slash"
"""The fixed amount one proven fraud (a wrong sampled or challenged item) costs the provider's bond."""
WITHHELD_SLASH = "compute.withheld_slash"
"""The fixed amount withholding costs: a drawn sample not opened by the end of its late-reveal time, or outputs
owed and not posted in time."""
HOLD_PER_PRICE = "compute.hold_per_price_bps"
"""What an assignment holds of its provider's bond per unit of its escrow, in basis points (spec 14, `holds`): above
10,000, so a count."""
MIN_ASSIGNMENT_HOLD = "compute.min_assignment_hold"
"""The least an assignment holds of its provider's bond (spec 14, `holds`); above the missed-assignment fee."""
MISSED_FEE = "compute.missed_deadline_fee_bps"
"""The share of an assignment's escrow a missed deadline costs the provider's bond (burned; see `outage`)."""
MAX_MISSED_PER_EPOCH = "compute.max_missed_per_epoch"
"""The most the escrow-proportional part of missed-deadline fees takes from one provider's bond in one epoch."""
MISSED_ASSIGNMENT_FEE = "compute.missed_assignment_fee"
"""The fixed part of what each missed assignment costs its provider's bond (a commit window closed without a commit,
or a sample not opened in time and opened late), burned, never capped per epoch: what holding a job without working
on it costs, however many one holds."""
MISSED_PAUSE = "compute.missed_pause_ms"
"""How long a provider that missed a deadline is not assigned new work (the first pause of a run of them)."""
MAX_MISSED_PAUSE = "compute.max_missed_pause_ms"
"""The longest pause: each pause without a commit or reveal since the one before lasts twice as long, up to this."""
MAX_OPEN_SHARE = "compute.max_open_share_bps"
"""The share of `compute.max_open_jobs` that the jobs on one owner's models, and the open assignments of one
provider, may hold at once (`market`)."""
MAX_OWNER_MODELS_SHARE = "compute.max_owner_models_share_bps"
"""The share of `compute.max_open_jobs` that the jobs on all owner-registered models together may hold (`market`):
the rest is room only jobs on governance models (served by every provider) can take."""
PLACE_RENT = "compute.place_rent"
"""Base units a place in the room costs per slot held when the room is empty (`rent`)."""
PLACE_RENT_DOUBLING = "compute.place_rent_doubling_bps"
"""The share of the room (basis points of `compute.max_open_jobs`) each of which, taken, doubles the rent (`rent`)."""
RECORD_WEIGHT = "compute.record_weight_bps"
"""The most a provider's record of verified work raises its weight in the draw, in basis points of its bond
(`assignment.draw_weight`)."""
RECORD_PRIOR = "compute.record_prior"
"""The record score (settled less missed less four times the frauds) at which a provider gets half of
`compute.record_weight_bps`."""
UNSERVED_WAIT = "compute.unserved_wait_ms"
"""How long a job may wait with a place vacant while no registered provider is able to serve it (none serves its
model, or, for a private job, none has a box key) before it closes as unserved, refunded (`unserved`)."""
LATE_REVEAL = "compute.late_reveal_ms"
"""How long after the deadline a provider that committed and whose sample was drawn may still open it (and keep
its bond but for the missed-deadline fee) before it loses the withholding slash."""
CREDIT_MATURITY = "compute.credit_maturity_ms"
CREDIT_PER_BURNED = "compute.credit_per_btt_burned"
"""Work units of credit one burned BTT can back: credit = min(multiply-accumulates, burned x this)."""
REWARD_CAP = "compute.reward_cap_bps"
PAYMENT_BURN = "compute.payment_burn_bps"
PROVIDER_SHARE = "compute.provider_bps"
DEVELOPMENT_SHARE = "compute.development_bps"
FOUNDATION_SHARE = "compute.foundation_bps"
RESERVE_SHARE = "compute.reserve_bps"
WORK_WINDOW = "consensus.work_window_epochs"
MODEL_REGISTRATION = "compute.model_registration"
"""Who may register a model: 0 governance only; 1 governance, and any account that reserves the deposit."""
MODEL_DEPOSIT_BASE = "compute.model_deposit_base"
"""What an owner reserves to register any model (the spec in state, the registration's work)."""
MODEL_DEPOSIT_PER_KIB = "compute.model_deposit_per_kib"
"""What an owner reserves per KiB of weights (every node keeps the blob for as long as the model is registered)."""
MAX_MODEL_BYTES = "compute.max_model_bytes"
"""The largest weights blob a model may register (at most `model.MAX_WEIGHTS_BYTES`)."""


def region_factor(region: int) -> str:
    return f"compute.region_factor_bps.{REGION_CLASSES[region]}"


def energy_factor(energy: int) -> str:
    return f"compute.energy_factor_bps.{ENERGY_CLASSES[energy]}"


ALL = (
    MIN_PROVIDER_BOND, MAX_CAPACITY, MAX_ITEMS, MAX_REDUNDANCY, MIN_DEADLINE, MAX_DEADLINE, MAX_OPEN_JOBS,
    MAX_OPEN_JOBS_PER_REQUESTER, MAX_ASSIGNMENTS_PER_BLOCK, SAMPLE_SIZE, COMMIT_WINDOW, SAMPLE_AUTHORS,
    CHALLENGE_WINDOW, OUTPUTS_DUE, FRAUD_SLASH, WITHHELD_SLASH, MISSED_FEE, MAX_MISSED_PER_EPOCH, MISSED_PAUSE,
    LATE_REVEAL, REVEAL_WINDOW, MISSED_ASSIGNMENT_FEE, MAX_MISSED_PAUSE, MAX_OPEN_SHARE, MAX_OWNER_MODELS_SHARE,
    CREDIT_MATURITY, PLACE_RENT, PLACE_RENT_DOUBLING, UNSERVED_WAIT, RECORD_WEIGHT, RECORD_PRIOR,
    CREDIT_PER_BURNED,
    REWARD_CAP, PAYMENT_BURN, PROVIDER_SHARE, DEVELOPMENT_SHARE, FOUNDATION_SHARE, RESERVE_SHARE, WORK_WINDOW,
    MODEL_REGISTRATION, MODEL_DEPOSIT_BASE, MODEL_DEPOSIT_PER_KIB, MAX_MODEL_BYTES, HOLD_PER_PRICE, MIN_ASSIGNMENT_HOLD,
    HOOK_MAX_WEIGHT,
    *(region_factor(i) for i in range(len(REGION_CLASSES))),
    *(energy_factor(i) for i in range(len(ENERGY_CLASSES))),
)
"""Every parameter the compute and consensus modules read: a genesis must define each one."""
