"""Chain-spec loading and validation: the presets, the seed tables, and one test per validation rule."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from btt_chain.primitives.accounts import module_account
from btt_chain.primitives.address import b58decode, b58encode, encode_address
from btt_chain.primitives.errors import GenesisError
from btt_chain.primitives.hash_chain import hash_chain_for
from btt_chain.primitives.hashing import blake2b_256
from btt_chain.primitives.keys import dev_keypair
from genesis.loader import (
    PRESETS,
    REQUIRED_PARAMETERS,
    SHARE_GROUPS,
    canonical_json,
    dev_hash_chain_commitment,
    load_chain_spec,
    load_chain_spec_doc,
    materialise,
    parse_chain_spec,
)
from genesis.spec import DEFAULT_HASH_CHAIN_LENGTH, ChainSpec, MiningPeriod
from runtime.compute import params as compute_params
from runtime.compute.model_json import spec_to_json
from runtime.governance import params as governance_params
from tests.support.models import dense_blob

FIXTURES = Path(__file__).parent / "fixtures"
UNIT = 10**18
BTT_21M = 21_000_000 * UNIT


def preset_doc(name: str = "btt-21m") -> dict[str, Any]:
    return copy.deepcopy(load_chain_spec_doc(name))


def problems(doc: Any) -> list[str]:
    """The problem lines of a document that must be rejected."""
    with pytest.raises(GenesisError) as info:
        parse_chain_spec(doc, "test")
    return str(info.value).splitlines()


def one_problem(doc: Any, *needles: str) -> str:
    """Exactly one problem line, containing every needle."""
    lines = problems(doc)
    assert len(lines) == 1, lines
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def row(doc: dict, index: int) -> dict:
    return next(r for r in doc["allocations"] if r["index"] == index)


# ------------------------------------------------------------------------------------------- presets


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_loads(name: str) -> None:
    spec = load_chain_spec(name)
    assert isinstance(spec, ChainSpec)
    assert sum(r.percent_ppm for r in spec.allocations) == 1_000_000
    assert sum(r.amount for r in spec.allocations) == spec.token.total_supply
    assert spec.raw == load_chain_spec_doc(name)


def test_preset_loads_from_its_path_too() -> None:
    path = Path(__file__).parents[2] / "genesis" / "presets" / "btt-21m.json"
    assert load_chain_spec(path) == load_chain_spec("btt-21m")
    assert load_chain_spec(str(path)) == load_chain_spec("btt-21m")


# (index, percent, BTT, release kind, cliff, duration, holder) from TOKENOMICS.md, seed 000
TOKENOMICS_TABLE = [
    (1, 10, 2_100_000, "linear", 6, 36, None),
    (2, 5, 1_050_000, "linear", 3, 30, None),
    (3, 3, 630_000, "linear", 3, 30, None),
    (4, 3, 630_000, "linear", 3, 30, None),
    (5, 2, 420_000, "linear", 3, 30, None),
    (6, 8, 1_680_000, "linear", 12, 48, None),
    (7, 17, 3_570_000, "milestones", 0, 48, "module:foundation"),
    (8, 30, 6_300_000, "module", 0, 0, "module:mining_pool"),
    (9, 12, 2_520_000, "module", 0, 0, "module:community_incentives"),
    (10, 7, 1_470_000, "module", 0, 0, "module:ecosystem_fund"),
    (11, 2, 420_000, "liquid", 0, 0, None),
    (12, 1, 210_000, "reserve", 0, 0, "module:strategic_reserve"),
]


def test_btt_21m_matches_tokenomics_exactly() -> None:
    spec = load_chain_spec("btt-21m")
    assert spec.token.symbol == "BTT"
    assert spec.token.decimals == 18
    assert spec.token.total_supply == BTT_21M == 21 * 10**24
    assert spec.chain_type == "live" and spec.ss58_prefix == 42
    assert spec.genesis_time_ms == 1_798_761_600_000
    assert (spec.consensus.slot_ms, spec.consensus.epoch_slots, spec.consensus.max_drift_ms) == (6000, 600, 1000)
    assert (spec.time.month_seconds, spec.time.year_seconds) == (30 * 86400, 365 * 86400)
    assert len(spec.allocations) == 12
    rows = {r.index: r for r in spec.allocations}
    for index, pct, btt, kind, cliff, duration, holder in TOKENOMICS_TABLE:
        r = rows[index]
        assert r.percent_ppm == pct * 10_000
        assert r.amount == btt * UNIT
        assert (r.release.kind, r.release.cliff_months, r.release.duration_months) == (kind, cliff, duration)
        assert sum(h.amount for h in r.holders) == r.amount
        if holder is not None:
            assert [h.label for h in r.holders] == [holder]
            assert r.holders[0].account == module_account(holder.removeprefix("module:"))
    assert sum(r.percent_ppm for r in spec.allocations) == 1_000_000
    assert sum(r.amount for r in spec.allocations) == BTT_21M
    # row 11: a foundation-liquidity placeholder plus 4 bootstrap validators with 10,000 BTT each
    liquidity = rows[11].holders
    assert len(liquidity) == 5
    assert liquidity[0].amount == 380_000 * UNIT
    assert [h.amount for h in liquidity[1:]] == [10_000 * UNIT] * 4
    assert [v.account for v in spec.validators] == [h.account for h in liquidity[1:]]
    assert all(v.bond == 10_000 * UNIT and v.session_key == v.account for v in spec.validators)
    # placeholder validators have no known key: their commitments are placeholders too
    assert [v.hash_chain_commitment for v in spec.validators] == [
        blake2b_256(b"placeholder-commitment" + v.account) for v in spec.validators
    ]
    # live validators author for years: 2**24 reveals last 12 years of 6-second slots shared by 4 validators
    assert spec.consensus.hash_chain_length == 2**24
    assert DEFAULT_HASH_CHAIN_LENGTH == 2**20
    # row 8: the mining pool's emission, 40/30/20/10% over four two-year periods
    assert [m.name for m in spec.compute.models] == ["breast-cancer-v1", "digits-conv-v1"]
    assert spec.compute.mining_periods == tuple(
        MiningPeriod(2, btt * UNIT) for btt in (2_520_000, 1_890_000, 1_260_000, 630_000)
    )
    assert sum(p.amount for p in spec.compute.mining_periods) == rows[8].amount
    assert [(b.name, b.amount, b.at_genesis) for b in spec.milestone_burns] == [
        ("launch", 30_000 * UNIT, True),
        ("hospitals_100", 70_000 * UNIT, False),
        ("hospitals_1000", 170_000 * UNIT, False),
        ("interoperability", 100_000 * UNIT, False),
    ]
    assert [(p.label, p.cumulative_percent) for p in spec.published_release] == [
        ("2025", 22),
        ("2026", 40),
        ("2027", 55),
        ("2028", 67),
        ("2029", 77),
        ("2030+", 100),
    ]


def test_btt_21m_parameters() -> None:
    spec = load_chain_spec("btt-21m")
    for name, unit in REQUIRED_PARAMETERS.items():
        assert spec.param(name).unit == unit
    ed = spec.param("balances.existential_deposit")
    assert (ed.value, ed.min, ed.max) == (UNIT // 100, UNIT // 1_000_000, UNIT)
    assert spec.param("fees.base").value == UNIT // 1000
    assert spec.param("fees.per_byte").value == UNIT // 100_000
    assert spec.param("fees.per_weight").value == UNIT // 1_000_000
    shares = [spec.param(f"fees.{n}_bps").value for n in ("author", "stakers", "development")]
    assert shares == [5000, 3000, 2000]
    expected = {
        "compute.payment_burn_bps": (200, 100, 300),
        "compute.provider_bps": (7000, 7000, 7000),
        "compute.development_bps": (1500, 1500, 1500),
        "compute.foundation_bps": (1000, 1000, 1000),
        "compute.reserve_bps": (500, 500, 500),
        "assets.mint_fee_bps": (200, 100, 300),
        "assets.mint_fee_burn_bps": (300, 200, 500),
        "assets.trade_fee_bps": (75, 50, 100),
        "assets.trade_fee_burn_bps": (300, 200, 500),
        "assets.revalue_fee_bps": (25, 25, 50),
        "assets.revalue_fee_burn_bps": (300, 200, 500),
        "payments.fee_bps": (60, 50, 80),
        "payments.fee_burn_bps": (75, 50, 100),
        "staking.burn_365d_bps": (1000, 500, 2000),
        "staking.burn_1095d_bps": (2000, 1000, 4000),
        "block.max_weight": (2_000_000, 100_000, 10_000_000),
        "block.max_bytes": (4_194_304, 65_536, 8_388_608),
        "block.max_extrinsics": (10_000, 100, 20_000),
        **LIVE_COMPUTE_PARAMETERS,
    }
    for name, (value, lo, hi) in expected.items():
        p = spec.param(name)
        assert (p.value, p.min, p.max) == (value, lo, hi), name
    assert [p.name for p in spec.parameters] == sorted(p.name for p in spec.parameters)


# (value, min, max) of the compute marketplace's parameters on the live presets
LIVE_COMPUTE_PARAMETERS = {
    "compute.min_provider_bond": (10_000 * UNIT, 100 * UNIT, 1_000_000 * UNIT),
    "compute.max_capacity": (64, 1, 1024),
    "compute.max_job_items": (1024, 1, 4096),
    "compute.max_redundancy": (3, 1, 8),
    "compute.min_deadline_ms": (14_400_000, 1000, 86_400_000),
    "compute.max_deadline_ms": (604_800_000, 60_000, 2_592_000_000),
    "compute.max_open_jobs": (1000, 1, 100_000),
    "compute.max_open_jobs_per_requester": (64, 1, 10_000),
    "compute.max_assignments_per_block": (64, 1, 1024),
    "compute.hook_max_weight": (500_000, 10_000, 1_000_000),
    "compute.sample_size": (8, 1, 64),
    "compute.commit_window_slots": (100, 10, 1200),
    "compute.sample_authors": (16, 1, 64),
    "compute.challenge_window_ms": (86_400_000, 3_600_000, 604_800_000),
    "compute.outputs_due_ms": (3_600_000, 60_000, 86_400_000),
    "compute.fraud_slash": (1000 * UNIT, 100 * UNIT, 1_000_000 * UNIT),
    "compute.withheld_slash": (1000 * UNIT, 100 * UNIT, 1_000_000 * UNIT),
    # issue 52: an assignment holds 100x its escrow plus a challenge's fee of its provider's bond, 1 BTT at least
    "compute.hold_per_price_bps": (1_000_000, 100_000, 10_000_000),
    # issue 52: a place's rent, 0.000002 BTT a slot in an empty room, doubling with each 5% of the room taken; a
    # job nobody is able to serve closes after an hour; a verified record raises the draw weight up to twice
    "compute.place_rent": (2 * UNIT // 1_000_000, 0, UNIT),
    "compute.place_rent_doubling_bps": (500, 100, 10_000),
    "compute.unserved_wait_ms": (3_600_000, 60_000, 86_400_000),
    "compute.record_weight_bps": (10_000, 0, 10_000),
    "compute.record_prior": (20, 1, 10_000),
    "compute.min_assignment_hold": (UNIT, UNIT, 100 * UNIT),
    # a missed deadline: 10% of the escrow, at most 10 BTT (0.1% of the minimum bond) per provider per one-hour
    # epoch; no new work for an hour; a day to open a drawn sample late
    "compute.missed_deadline_fee_bps": (1000, 0, 2500),
    "compute.max_missed_per_epoch": (10 * UNIT, UNIT, 1000 * UNIT),
    "compute.missed_pause_ms": (3_600_000, 0, 86_400_000),
    "compute.late_reveal_ms": (86_400_000, 3_600_000, 604_800_000),
    # issue 42: a sample not opened within 100 slots of being fixed ends the assignment; 1 BTT per missed assignment,
    # never capped; pauses double up to a day; one model owner's jobs or one provider hold at most 5% of the room
    "compute.reveal_window_slots": (100, 10, 1200),
    "compute.missed_assignment_fee": (UNIT, UNIT // 100, UNIT),
    "compute.max_missed_pause_ms": (86_400_000, 0, 604_800_000),
    "compute.max_open_share_bps": (500, 100, 2500),
    "compute.max_owner_models_share_bps": (2500, 500, 5000),
    "compute.reward_cap_bps": (8000, 0, 8000),
    "compute.credit_maturity_ms": (86_400_000, 0, 2_592_000_000),
    "compute.credit_per_btt_burned": (100_000_000, 1, 10**12),
    "compute.region_factor_bps.standard": (10_000, 10_000, 10_000),
    "compute.region_factor_bps.underserved": (12_500, 10_000, 15_000),
    "compute.region_factor_bps.remote": (15_000, 10_000, 15_000),
    "compute.energy_factor_bps.a": (12_000, 8000, 12_000),
    "compute.energy_factor_bps.b": (11_000, 8000, 12_000),
    "compute.energy_factor_bps.c": (10_000, 8000, 12_000),
    "compute.energy_factor_bps.d": (9000, 8000, 12_000),
    "compute.energy_factor_bps.e": (8000, 8000, 12_000),
    "consensus.work_window_epochs": (720, 1, 1000),
    # owners register trained models, reserving 100 BTT and 1 BTT per KiB of weights (an 8 MiB blob: 8,292 BTT)
    "compute.model_registration": (1, 0, 1),
    "compute.model_deposit_base": (100 * UNIT, 0, 1_000_000 * UNIT),
    "compute.model_deposit_per_kib": (UNIT, 0, 10_000 * UNIT),
    "compute.max_model_bytes": (8 * 1024 * 1024, 1024, 8 * 1024 * 1024),
}
# where the dev preset differs: a small provider bond and a fast clock
DEV_COMPUTE_PARAMETERS = {
    "compute.unserved_wait_ms": (120_000, 60_000, 86_400_000),  # two minutes: the demo's jobs move on
    # one-second slots: a block full of the heaviest calls (1 weight unit ~ 1 us) must import within one
    "block.max_weight": (1_000_000, 100_000, 10_000_000),
    "compute.min_provider_bond": (100 * UNIT, 1 * UNIT, 1_000_000 * UNIT),
    "compute.min_deadline_ms": (90_000, 1000, 86_400_000),
    "compute.max_deadline_ms": (600_000, 60_000, 2_592_000_000),
    "compute.max_open_jobs_per_requester": (32, 1, 10_000),
    "compute.commit_window_slots": (10, 2, 600),
    "compute.fraud_slash": (25 * UNIT, UNIT, 1_000_000 * UNIT),
    "compute.withheld_slash": (25 * UNIT, UNIT, 1_000_000 * UNIT),
    "compute.min_assignment_hold": (UNIT, UNIT, 25 * UNIT),
    "compute.max_missed_per_epoch": (UNIT // 2, 0, 25 * UNIT),
    "compute.missed_pause_ms": (20_000, 0, 86_400_000),
    "compute.late_reveal_ms": (300_000, 10_000, 604_800_000),
    "compute.reveal_window_slots": (10, 2, 600),
    "compute.missed_assignment_fee": (UNIT // 20, UNIT // 1000, UNIT),
    "compute.max_missed_pause_ms": (300_000, 0, 86_400_000),
    "compute.max_open_share_bps": (500, 100, 10_000),
    "compute.max_owner_models_share_bps": (5000, 500, 10_000),
    "compute.credit_maturity_ms": (10_000, 0, 2_592_000_000),
    "compute.sample_authors": (3, 1, 64),
    "compute.challenge_window_ms": (15_000, 1000, 604_800_000),
    "compute.outputs_due_ms": (10_000, 1000, 86_400_000),
    "consensus.work_window_epochs": (30, 1, 1000),
}


# (value, min, max) of the governance parameters on the live presets (TOKENOMICS.md, Governance)
LIVE_GOVERNANCE_PARAMETERS = {
    "governance.min_deposit": (10_000 * UNIT, UNIT, 1_000_000 * UNIT),
    "governance.emergency_deposit": (100_000 * UNIT, UNIT, 10_000_000 * UNIT),
    "governance.voting_period_ms": (604_800_000, 10_000, 2_592_000_000),
    "governance.enactment_delay_ms": (172_800_000, 0, 2_592_000_000),
    "governance.threshold_bps": (5000, 5000, 9000),
    "governance.emergency_threshold_bps": (6667, 6667, 9500),
    "governance.quorum_bps": (1000, 100, 5000),
    "governance.spam_threshold_bps": (1000, 0, 5000),
    "governance.compute_window_days": (30, 1, 365),
    "governance.max_open_referenda": (100, 1, 1000),
    "governance.min_houses_in_favour": (2, 2, 4),
    "governance.house_turnout_floor_bps": (500, 50, 5000),
    "governance.house_min_aye_voters": (2, 2, 5),
    "governance.house_min_other_aye_bps": (100, 50, 5000),
    "governance.house_bps.institutions": (3000, 1500, 4500),
    "governance.house_bps.compute": (2500, 1250, 3750),
    "governance.house_bps.holders": (3500, 1750, 4900),
    "governance.house_bps.representatives": (1000, 500, 1500),
}
# where the dev preset differs: small deposits, a short vote, a low quorum
DEV_GOVERNANCE_PARAMETERS = {
    "governance.min_deposit": (100 * UNIT, UNIT, 1_000_000 * UNIT),
    "governance.emergency_deposit": (1000 * UNIT, UNIT, 10_000_000 * UNIT),
    "governance.voting_period_ms": (30_000, 10_000, 2_592_000_000),
    "governance.enactment_delay_ms": (5000, 0, 2_592_000_000),
    "governance.quorum_bps": (100, 100, 5000),
    "governance.house_turnout_floor_bps": (100, 50, 5000),
    "governance.house_min_aye_voters": (1, 1, 5),
    "governance.house_min_other_aye_bps": (50, 0, 5000),
    # a dev day lasts 2 s: 365 of them (12 minutes) keep the compute walk's work credit in the compute house while
    # the governance walk votes (30 would be a minute)
    "governance.compute_window_days": (365, 1, 365),
}


def test_the_seed_figures_are_on_the_emergency_track_and_floors_keep_mechanisms_on() -> None:
    for name in PRESETS:
        spec = load_chain_spec(name)
        tracks = {p.name: p.track for p in spec.parameters}
        seed = [n for n in tracks if n.startswith(("fees.author", "fees.stakers", "fees.development", "assets.",
                                                    "payments.", "governance.house_bps.", "governance.threshold",
                                                    "governance.emergency_threshold"))]
        seed += [n for n in tracks if n.startswith("staking.")]
        # the missed-deadline fee and the market share are no seed figures: like the fixed slashes they are ours, on
        # the standard track
        seed += [n for n in tracks if n.startswith("compute.") and n.endswith("_bps") and "slash" not in n
                 and n not in ("compute.missed_deadline_fee_bps", "compute.max_open_share_bps",
                                  "compute.max_owner_models_share_bps", "compute.hold_per_price_bps",
                                  "compute.place_rent_doubling_bps", "compute.record_weight_bps")]
        seed += [n for n in tracks if "_factor_bps." in n]
        assert seed and all(tracks[n] == "emergency" for n in seed), [n for n in seed if tracks[n] != "emergency"]
        assert tracks["governance.quorum_bps"] == tracks["fees.base"] == "standard"
        tiers = ("30d", "90d", "180d", "365d", "1095d")
        stakes = tuple(f"staking.{t}.{k}" for t in tiers for k in ("yield_bps", "min"))
        for floor in ("governance.quorum_bps", "compute.withheld_slash", "compute.fraud_slash", *stakes):
            assert spec.param(floor).min > 0, (name, floor)
        # a missed assignment's fixed fee is always there to take: never above the smallest hold it may be set to
        fee = spec.param("compute.missed_assignment_fee").max
        assert fee <= min(spec.param("compute.fraud_slash").min, spec.param("compute.withheld_slash").min), name
        assert fee <= spec.param("compute.min_assignment_hold").min, name
        assert spec.param("compute.missed_assignment_fee").min > 0, name  # holding a job idle always costs
        assert all(spec.param(h).max < 5000 for h in SHARE_GROUPS["governance houses"]), name


def test_every_governance_parameter_is_required() -> None:
    assert set(governance_params.ALL) <= set(REQUIRED_PARAMETERS)
    assert set(governance_params.ALL) == set(LIVE_GOVERNANCE_PARAMETERS)
    for name in ("btt-21m", "btt-210m"):
        spec = load_chain_spec(name)
        for param, (value, lo, hi) in LIVE_GOVERNANCE_PARAMETERS.items():
            p = spec.param(param)
            assert p.unit == REQUIRED_PARAMETERS[param], (name, param)
            assert (p.value, p.min, p.max) == (value, lo, hi), (name, param)
    assert REQUIRED_PARAMETERS["governance.min_deposit"] == "btt"
    assert REQUIRED_PARAMETERS["governance.voting_period_ms"] == "count"
    assert REQUIRED_PARAMETERS["governance.house_bps.holders"] == "bps"


def test_every_compute_parameter_is_required() -> None:
    assert set(compute_params.ALL) <= set(REQUIRED_PARAMETERS)
    assert set(compute_params.ALL) == set(LIVE_COMPUTE_PARAMETERS) | {
        "compute.payment_burn_bps",
        "compute.provider_bps",
        "compute.development_bps",
        "compute.foundation_bps",
        "compute.reserve_bps",
    }
    assert REQUIRED_PARAMETERS["compute.min_provider_bond"] == "btt"
    # factors go above 10,000, where a 'bps' value stops: they are counts
    assert all(REQUIRED_PARAMETERS[n] == "count" for n in compute_params.ALL if "_factor_bps." in n)
    assert REQUIRED_PARAMETERS["compute.fraud_slash"] == "btt"
    assert REQUIRED_PARAMETERS["consensus.work_window_epochs"] == "count"
    # the loader checks a share group's sum only once every member is there in 'bps': they must all be required
    assert all(REQUIRED_PARAMETERS.get(n) == "bps" for names in SHARE_GROUPS.values() for n in names)
    for name in PRESETS:
        spec = load_chain_spec(name)
        for param in compute_params.ALL:
            assert spec.param(param).unit == REQUIRED_PARAMETERS[param], (name, param)


def test_btt_210m_totals() -> None:
    spec = load_chain_spec("btt-210m")
    small = load_chain_spec("btt-21m")
    assert spec.token.total_supply == 210_000_000 * UNIT
    assert sum(r.amount for r in spec.allocations) == 210_000_000 * UNIT
    for big, ref in zip(spec.allocations, small.allocations, strict=True):
        assert (big.index, big.category, big.percent_ppm, big.release) == (
            ref.index,
            ref.category,
            ref.percent_ppm,
            ref.release,
        )
        assert big.amount == 10 * ref.amount
    assert [b.amount for b in spec.milestone_burns] == [n * 1_000_000 * UNIT for n in (1, 2, 5, 3)]
    assert [b.at_genesis for b in spec.milestone_burns] == [True, False, False, False]
    assert spec.parameters == small.parameters
    assert spec.compute.models == small.compute.models
    assert [(p.years, p.amount) for p in spec.compute.mining_periods] == [
        (p.years, 10 * p.amount) for p in small.compute.mining_periods
    ]
    assert sum(p.amount for p in spec.compute.mining_periods) == 63_000_000 * UNIT
    assert all(v.hash_chain_commitment == blake2b_256(b"placeholder-commitment" + v.account) for v in spec.validators)
    # its own placeholder addresses
    big_accounts = {h.account for r in spec.allocations for h in r.holders if not h.label.startswith("module:")}
    small_accounts = {h.account for r in small.allocations for h in r.holders if not h.label.startswith("module:")}
    assert not big_accounts & small_accounts


def test_dev_preset() -> None:
    spec = load_chain_spec("dev")
    assert (spec.id, spec.chain_type, spec.genesis_time_ms) == ("dev", "dev", 0)
    assert (spec.consensus.slot_ms, spec.consensus.epoch_slots, spec.consensus.max_drift_ms) == (1000, 20, 500)
    assert (spec.time.month_seconds, spec.time.year_seconds) == (60, 720)
    rows = {r.index: r for r in spec.allocations}
    assert [h.label for h in rows[2].holders] == ["dave"]
    assert rows[2].holders[0].account == dev_keypair("dave").public
    assert {h.label: h.amount // UNIT for h in rows[11].holders} == {
        "alice": 130_000,
        "multisig:2:alice,bob,charlie": 20_000,
        "bob": 100_000,
        "charlie": 100_000,
        "eve": 50_000,
        "ferdie": 20_000,
    }
    assert [(v.account, v.bond) for v in spec.validators] == [(dev_keypair("alice").public, 10_000 * UNIT)]
    assert [r.amount for r in spec.allocations] == [r.amount for r in load_chain_spec("btt-21m").allocations]
    live = {p.name: p for p in load_chain_spec("btt-21m").parameters}
    dev = {p.name: p for p in spec.parameters}
    assert dev.keys() == live.keys()
    dev_only = {**DEV_COMPUTE_PARAMETERS, **DEV_GOVERNANCE_PARAMETERS}
    for name, (value, lo, hi) in dev_only.items():
        assert (dev[name].value, dev[name].min, dev[name].max) == (value, lo, hi), name
    assert {n: p for n, p in dev.items() if n not in dev_only} == {n: p for n, p in live.items() if n not in dev_only}
    assert spec.milestone_burns == load_chain_spec("btt-21m").milestone_burns
    assert spec.compute == load_chain_spec("btt-21m").compute
    assert spec.consensus.hash_chain_length == DEFAULT_HASH_CHAIN_LENGTH
    assert "hash_chain_length" not in preset_doc("dev")["consensus"]


# ------------------------------------------------------------------------------------------- the seed tables


def test_seed_002_is_rejected_85_percent() -> None:
    with pytest.raises(GenesisError) as info:
        load_chain_spec(FIXTURES / "seed-002.json")
    lines = str(info.value).splitlines()
    assert lines[0] == "allocations: percentages sum to 85%, 15% short of 100%"
    assert "85%" in lines[0] and "15% short" in lines[0]
    assert lines[1] == (
        "allocations: row amounts sum to 178500000 BTT, 31500000 BTT short of the total supply 210000000 BTT"
    )
    assert len(lines) == 2


def test_seed_004_is_rejected_89_percent() -> None:
    with pytest.raises(GenesisError) as info:
        load_chain_spec(FIXTURES / "seed-004.json")
    lines = str(info.value).splitlines()
    assert lines[0] == "allocations: percentages sum to 89%, 11% short of 100%"
    assert "row amounts sum to 18690000 BTT, 2310000 BTT short of the total supply 21000000 BTT" in lines[1]
    assert len(lines) == 2


def test_percentages_over_100_named() -> None:
    doc = preset_doc()
    row(doc, 12)["percent"] = 6
    lines = problems(doc)
    assert "allocations: percentages sum to 105%, 5% over 100%" in lines


# ------------------------------------------------------------------------------------------- one test per rule


def test_float_amount_rejected() -> None:
    doc = preset_doc()
    doc["token"]["total_supply"] = 21000000.0
    one_problem(doc, "token.total_supply: floats are not allowed", '"12.5"')


def test_float_integer_field_rejected() -> None:
    doc = preset_doc()
    doc["consensus"]["slot_ms"] = 6000.0
    one_problem(doc, "consensus.slot_ms: floats are not allowed")


def test_negative_amount_rejected() -> None:
    doc = preset_doc()
    doc["milestone_burns"][1]["amount"] = "-70000"
    one_problem(doc, "milestone_burns[1].amount: negative amounts are not allowed")
    doc["milestone_burns"][1]["amount"] = -70000
    one_problem(doc, "milestone_burns[1].amount: negative amounts are not allowed")


def test_boolean_is_not_an_integer() -> None:
    doc = preset_doc()
    doc["ss58_prefix"] = True
    one_problem(doc, "ss58_prefix: expected an integer, got boolean")


def test_amount_with_too_many_decimals() -> None:
    doc = preset_doc()
    doc["parameters"]["fees.base"]["value"] = "0.0000000000000000001"
    one_problem(doc, "parameters.fees.base.value:", "decimals")


def test_unknown_field_top_level() -> None:
    doc = preset_doc()
    doc["colour"] = "blue"
    one_problem(doc, "colour: unknown field 'colour'")


def test_unknown_field_nested() -> None:
    doc = preset_doc()
    doc["allocations"][3]["holders"][0]["vesting"] = "fast"
    one_problem(doc, "allocations[3].holders[0].vesting: unknown field 'vesting'")
    doc = preset_doc()
    doc["token"]["name"] = "Bitwave"
    one_problem(doc, "token.name: unknown field")


def test_missing_field() -> None:
    doc = preset_doc()
    del doc["consensus"]["epoch_slots"]
    one_problem(doc, "consensus.epoch_slots: missing required field")
    doc = preset_doc()
    del doc["validators"]
    one_problem(doc, "validators: missing required field")


def test_missing_required_parameter() -> None:
    doc = preset_doc()
    del doc["parameters"]["fees.per_byte"]
    one_problem(doc, "parameters.fees.per_byte: missing required parameter")


def test_wrong_type_names_expected_and_got() -> None:
    doc = preset_doc()
    doc["allocations"][0]["holders"] = {"account": "alice"}
    one_problem(doc, "allocations[0].holders: expected an array, got object")


def test_top_level_must_be_an_object() -> None:
    with pytest.raises(GenesisError, match="expected a JSON object|must be a JSON object"):
        parse_chain_spec([1, 2], "x")  # type: ignore[arg-type]


def test_duplicate_account_rejected() -> None:
    doc = preset_doc()
    row(doc, 3)["holders"][0]["account"] = row(doc, 1)["holders"][0]["account"]
    one_problem(doc, "allocations[2].holders[0].account: duplicate account", "allocations[0].holders[0]")


def test_duplicate_module_account_rejected() -> None:
    doc = preset_doc()
    row(doc, 10)["holders"][0]["account"] = "module:mining_pool"
    one_problem(doc, "allocations[9].holders[0].account: duplicate account 'module:mining_pool'")


def test_dev_name_on_live_chain_rejected() -> None:
    doc = preset_doc()
    row(doc, 1)["holders"][0]["account"] = "alice"
    one_problem(doc, "allocations[0].holders[0].account: dev account 'alice' is allowed only on dev and local")


def test_dev_name_allowed_on_local_chain() -> None:
    doc = preset_doc()
    doc["chain_type"] = "local"
    row(doc, 1)["holders"][0]["account"] = "alice"
    spec = parse_chain_spec(doc)
    assert spec.allocations[0].holders[0].account == dev_keypair("alice").public


def test_bad_address_checksum_rejected() -> None:
    doc = preset_doc()
    good = row(doc, 4)["holders"][0]["account"]
    raw = bytearray(b58decode(good))
    raw[-1] ^= 0xFF
    row(doc, 4)["holders"][0]["account"] = b58encode(bytes(raw))
    one_problem(doc, "allocations[3].holders[0].account:", "bad checksum")


def test_address_of_other_network_rejected() -> None:
    doc = preset_doc()
    row(doc, 4)["holders"][0]["account"] = encode_address(bytes(range(32)), 7)
    one_problem(doc, "allocations[3].holders[0].account:", "network prefix 7")


def test_unknown_module_rejected() -> None:
    doc = preset_doc()
    row(doc, 8)["holders"][0]["account"] = "module:moon_fund"
    one_problem(doc, "allocations[7].holders[0].account: unknown module account 'moon_fund'")


def test_parameter_outside_range_names_the_range() -> None:
    doc = preset_doc()
    doc["parameters"]["compute.payment_burn_bps"]["value"] = 400
    one_problem(doc, "parameters.compute.payment_burn_bps: value 400 is outside its range [100, 300]")
    doc = preset_doc()
    doc["parameters"]["balances.existential_deposit"]["value"] = "2"
    one_problem(doc, "parameters.balances.existential_deposit: value 2 is outside its range [0.000001, 1]")


def test_parameter_bps_above_10000_rejected() -> None:
    doc = preset_doc()
    doc["parameters"]["staking.burn_365d_bps"]["max"] = 10001
    one_problem(doc, "parameters.staking.burn_365d_bps.max: must be between 0 and 10000")


def test_parameter_unknown_unit_rejected() -> None:
    doc = preset_doc()
    doc["parameters"]["payments.fee_bps"]["unit"] = "percent"
    one_problem(doc, "parameters.payments.fee_bps.unit: must be one of btt, bps, count")


def test_fee_shares_must_sum_to_10000() -> None:
    doc = preset_doc()
    for name in ("fees.author_bps",):
        doc["parameters"][name] = {"value": 4000, "min": 0, "max": 10000, "unit": "bps"}
    one_problem(doc, "fees.author_bps + fees.stakers_bps + fees.development_bps must sum to 10000", "got 9000")


def test_compute_shares_must_sum_to_10000() -> None:
    doc = preset_doc()
    doc["parameters"]["compute.reserve_bps"] = {"value": 400, "min": 400, "max": 400, "unit": "bps"}
    one_problem(doc, "compute.provider_bps + compute.development_bps", "got 9900")


def test_validator_bond_above_liquid_holding() -> None:
    doc = preset_doc()
    doc["validators"][0]["bond"] = "10000.5"
    one_problem(doc, "validators[0].bond: bond 10000.5 BTT exceeds", "liquid genesis holding of 10000 BTT")


def test_validator_without_liquid_holding() -> None:
    doc = preset_doc()
    doc["validators"][0]["account"] = row(doc, 1)["holders"][0]["account"]
    one_problem(doc, "validators[0].bond:", "holds no liquid allocation")


def test_duplicate_validator_rejected() -> None:
    doc = preset_doc()
    doc["validators"][1]["account"] = doc["validators"][0]["account"]
    one_problem(doc, "validators[1].account: duplicate validator")


def test_module_account_cannot_validate() -> None:
    doc = preset_doc()
    doc["validators"][0]["account"] = "module:foundation"
    one_problem(doc, "validators[0].account:", "module account")


def test_validators_must_not_be_empty() -> None:
    doc = preset_doc()
    doc["validators"] = []
    one_problem(doc, "validators: must not be empty")


def test_session_key_hex_or_address() -> None:
    doc = preset_doc()
    doc["validators"][0]["session_key"] = "ab" * 32
    doc["validators"][1]["session_key"] = encode_address(bytes([7]) * 32, 42)
    spec = parse_chain_spec(doc)
    assert spec.validators[0].session_key == bytes([0xAB]) * 32
    assert spec.validators[1].session_key == bytes([7]) * 32
    doc["validators"][2]["session_key"] = "abcd"
    one_problem(doc, "validators[2].session_key:")


def test_rows_not_summing_to_supply() -> None:
    doc = preset_doc()
    row(doc, 11)["amount"] = "419999"
    row(doc, 11)["holders"][0]["amount"] = "379999"
    lines = problems(doc)
    assert "allocations: row amounts sum to 20999999 BTT, 1 BTT short of the total supply 21000000 BTT" in lines
    assert any(line.startswith("allocations[10].amount: 419999 BTT is not 2% of the total supply") for line in lines)
    assert len(lines) == 2


def test_row_amount_must_match_percent() -> None:
    doc = preset_doc()
    row(doc, 1)["amount"], row(doc, 2)["amount"] = "1050000", "2100000"
    row(doc, 1)["holders"][0]["amount"], row(doc, 2)["holders"][0]["amount"] = "1050000", "2100000"
    lines = problems(doc)
    assert lines == [
        "allocations[0].amount: 1050000 BTT is not 10% of the total supply 21000000 BTT (that is 2100000 BTT)",
        "allocations[1].amount: 2100000 BTT is not 5% of the total supply 21000000 BTT (that is 1050000 BTT)",
    ]


def test_holders_must_sum_to_row_amount() -> None:
    doc = preset_doc()
    row(doc, 11)["holders"][1]["amount"] = "9999"
    lines = problems(doc)
    assert lines[0] == (
        "allocations[10].holders: holder amounts sum to 419999 BTT, 1 BTT short of the row amount 420000 BTT"
    )


def test_percent_with_decimals() -> None:
    doc = preset_doc()
    row(doc, 1)["percent"] = "10.0000"
    assert parse_chain_spec(doc).allocations[0].percent_ppm == 100_000
    row(doc, 1)["percent"] = "10.00001"
    one_problem(doc, "allocations[0].percent:", "at most 4")


def test_row_indexes_must_be_1_to_n_unique() -> None:
    doc = preset_doc()
    row(doc, 12)["index"] = 11
    one_problem(doc, "allocations[11].index: index 11 is already used by allocations[10]")
    doc = preset_doc()
    row(doc, 12)["index"] = 13
    one_problem(doc, "allocations[11].index: must be between 1 and 12, got 13")


def test_release_rules() -> None:
    doc = preset_doc()
    row(doc, 11)["release"] = {"kind": "liquid", "cliff_months": 3, "duration_months": 0}
    one_problem(doc, "allocations[10].release: a 'liquid' release has no schedule")
    doc = preset_doc()
    row(doc, 1)["release"] = {"kind": "linear", "cliff_months": 6, "duration_months": 0}
    one_problem(doc, "allocations[0].release.duration_months: a 'linear' release needs duration_months > 0")
    doc = preset_doc()
    row(doc, 1)["release"]["kind"] = "instant"
    one_problem(doc, "allocations[0].release.kind: must be one of")


def test_module_and_reserve_rows_held_by_module_accounts() -> None:
    doc = preset_doc()
    row(doc, 8)["holders"][0]["account"] = "5" + "1" * 10  # a wrong address: reported once, as an address
    lines = problems(doc)
    assert len(lines) == 1 and lines[0].startswith("allocations[7].holders[0].account:")
    doc = preset_doc()
    row(doc, 1)["release"] = {"kind": "module"}
    one_problem(doc, "allocations[0].holders[0].account: a 'module' row must be held by module accounts")
    doc = preset_doc()
    row(doc, 12)["holders"][0]["account"] = "module:treasury"
    one_problem(doc, "allocations[11].holders[0].account: a 'reserve' row must be held by module:strategic_reserve")


def test_burns_limited_by_foundation_holding() -> None:
    doc = preset_doc()
    doc["milestone_burns"].append({"name": "moon", "amount": "3300000", "at_genesis": False})
    one_problem(doc, "milestone_burns: burns total 3670000 BTT, more than the Foundation allocation")
    doc = preset_doc()
    doc["milestone_burns"][1]["name"] = "launch"
    one_problem(doc, "milestone_burns[1].name: duplicate milestone 'launch'")


def test_published_release_non_decreasing() -> None:
    doc = preset_doc()
    doc["published_release"][2]["cumulative_percent"] = 30
    one_problem(doc, "published_release[2].cumulative_percent: 30 is less than the previous entry's 40")


def test_scalar_rules() -> None:
    doc = preset_doc()
    doc["id"] = "BTT Main"
    doc["chain_type"] = "prod"
    doc["ss58_prefix"] = 64
    doc["consensus"]["slot_ms"] = 99
    doc["token"]["decimals"] = 19
    doc["time"]["month_seconds"] = 0
    lines = problems(doc)
    prefixes = [line.split(":")[0] for line in lines]
    assert prefixes == ["id", "chain_type", "ss58_prefix", "token.decimals", "consensus.slot_ms", "time.month_seconds"]


def test_several_problems_reported_together_one_per_line() -> None:
    doc = preset_doc()
    doc["extra"] = 1
    doc["token"]["total_supply"] = 2.1e7
    row(doc, 1)["holders"][0]["account"] = "bob"
    doc["parameters"]["payments.fee_bps"]["value"] = 90
    del doc["time"]["year_seconds"]
    lines = problems(doc)
    assert len(lines) == 5, lines
    assert [line.split(":")[0] for line in lines] == [
        "extra",
        "token.total_supply",
        "time.year_seconds",
        "allocations[0].holders[0].account",
        "parameters.payments.fee_bps",
    ]
    assert all(re.match(r"^[a-z_\[\]0-9.]+: \S", line) for line in lines)


# ------------------------------------------------------------------------------------------- loading


def test_unknown_preset_lists_known_presets() -> None:
    with pytest.raises(GenesisError) as info:
        load_chain_spec("btt-2m")
    message = str(info.value)
    assert "\n" not in message
    assert "unknown chain spec 'btt-2m'" in message
    assert "dev, btt-21m, btt-210m" in message


def test_missing_file_lists_known_presets(tmp_path: Path) -> None:
    with pytest.raises(GenesisError) as info:
        load_chain_spec(tmp_path / "nope.json")
    message = str(info.value)
    assert "\n" not in message and "not found" in message and "dev, btt-21m, btt-210m" in message


def test_invalid_json_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"id": "x",}')
    with pytest.raises(GenesisError, match="not valid JSON"):
        load_chain_spec(path)
    path.write_text('{"id": "x", "id": "y"}')
    with pytest.raises(GenesisError, match="duplicate key 'id'"):
        load_chain_spec(path)


def test_file_round_trip(tmp_path: Path) -> None:
    doc = preset_doc("dev")
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(doc))
    spec = load_chain_spec(str(path))
    assert spec == load_chain_spec("dev")
    assert spec.raw == doc


def test_canonical_json_and_materialise() -> None:
    doc = preset_doc("dev")
    encoded = canonical_json(doc)
    assert encoded == json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert json.loads(encoded) == doc
    shuffled = dict(reversed(list(doc.items())))
    assert canonical_json(shuffled) == encoded
    fixed = materialise(doc, 1_700_000_000_000)
    assert fixed["genesis_time_ms"] == 1_700_000_000_000
    assert doc["genesis_time_ms"] == 0
    assert parse_chain_spec(fixed).genesis_time_ms == 1_700_000_000_000
    with pytest.raises(GenesisError):
        materialise(doc, -1)


def test_raw_is_the_loaded_document() -> None:
    doc = preset_doc()
    spec = parse_chain_spec(doc)
    assert spec.raw == doc
    doc["name"] = "changed"
    assert spec.raw["name"] != "changed"


# ------------------------------------------------------------------------------------------- properties

_NUMERIC = re.compile(r"\d+(\.\d+)?")


def _numeric_paths(value: Any, path: tuple = ()) -> list[tuple]:
    """Paths to every number and every numeric string (amounts, percents) in a document."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _numeric_paths(v, (*path, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _numeric_paths(v, (*path, i))]
    if (type(value) is int) or (isinstance(value, str) and _NUMERIC.fullmatch(value)):
        return [path]
    return []


BASE_DOC = load_chain_spec_doc("btt-21m")
NUMERIC_PATHS = _numeric_paths(BASE_DOC)


def _set(doc: Any, path: tuple, value: Any) -> None:
    for key in path[:-1]:
        doc = doc[key]
    doc[path[-1]] = value


def test_numeric_paths_cover_the_document() -> None:
    assert ("token", "total_supply") in NUMERIC_PATHS
    assert ("parameters", "fees.base", "value") in NUMERIC_PATHS
    assert ("allocations", 10, "holders", 1, "amount") in NUMERIC_PATHS
    assert len(NUMERIC_PATHS) > 100


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(path=st.sampled_from(NUMERIC_PATHS), number=st.floats())
def test_any_numeric_field_as_float_is_a_genesis_error(path: tuple, number: float) -> None:
    doc = copy.deepcopy(BASE_DOC)
    _set(doc, path, number)
    with pytest.raises(GenesisError) as info:
        parse_chain_spec(doc)
    assert "floats are not allowed" in str(info.value)


def _all_paths(value: Any, path: tuple = ()) -> list[tuple]:
    out = [path] if path else []
    if isinstance(value, dict):
        out += [p for k, v in value.items() for p in _all_paths(v, (*path, k))]
    elif isinstance(value, list):
        out += [p for i, v in enumerate(value) for p in _all_paths(v, (*path, i))]
    return out


ALL_PATHS = _all_paths(BASE_DOC)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(path=st.sampled_from(ALL_PATHS), value=JSON_VALUES)
def test_any_mutation_is_accepted_or_a_genesis_error(path: tuple, value: Any) -> None:
    doc = copy.deepcopy(BASE_DOC)
    _set(doc, path, value)
    try:
        parse_chain_spec(doc)
    except GenesisError as exc:
        assert str(exc).strip()


def test_validator_payee_defaults_to_the_account_and_accepts_stash_names() -> None:
    from btt_chain.primitives.keys import dev_keypair

    spec = load_chain_spec("dev")
    [alice] = spec.validators
    assert alice.payee == dev_keypair("alice//stash").public
    assert alice.account == alice.session_key == dev_keypair("alice").public
    live = parse_chain_spec(preset_doc("btt-21m"))
    assert all(v.payee == v.account for v in live.validators)


def test_validator_payee_errors() -> None:
    doc = preset_doc("dev")
    doc["validators"][0]["payee"] = "not-an-address"
    one_problem(doc, "validators[0].payee")
    doc = preset_doc("btt-21m")
    doc["validators"][0]["payee"] = "alice//stash"
    one_problem(doc, "validators[0].payee", "only on dev and local chains")


# ------------------------------------------------------------------------------------------- hash-chain commitments


def alice_commitment(length: int = 2**20) -> bytes:
    return hash_chain_for(dev_keypair("alice").seed, length).commitment


def test_dev_validator_commitment_is_derived() -> None:
    [alice] = load_chain_spec("dev").validators
    assert alice.hash_chain_commitment == alice_commitment()
    assert alice.hash_chain_commitment == dev_hash_chain_commitment("alice")
    assert "hash_chain_commitment" not in preset_doc("dev")["validators"][0]


def test_dev_commitment_follows_hash_chain_length() -> None:
    doc = preset_doc("dev")
    doc["consensus"]["hash_chain_length"] = 16
    spec = parse_chain_spec(doc)
    assert spec.consensus.hash_chain_length == 16
    assert spec.validators[0].hash_chain_commitment == alice_commitment(16) != alice_commitment()


def test_dev_session_key_name_derives_from_the_session_key() -> None:
    doc = preset_doc("dev")
    doc["validators"][0]["session_key"] = "bob"
    [v] = parse_chain_spec(doc).validators
    assert v.account == dev_keypair("alice").public
    assert v.session_key == dev_keypair("bob").public
    assert v.hash_chain_commitment == dev_hash_chain_commitment("bob")


def test_explicit_commitment_is_taken_as_written() -> None:
    doc = preset_doc("dev")
    doc["validators"][0]["hash_chain_commitment"] = "0x" + "ab" * 32
    assert parse_chain_spec(doc).validators[0].hash_chain_commitment == bytes([0xAB]) * 32


def test_missing_commitment_for_a_non_dev_validator() -> None:
    doc = preset_doc()
    del doc["validators"][2]["hash_chain_commitment"]
    del doc["consensus"]["hash_chain_length"]
    line = one_problem(
        doc,
        "validators[2].hash_chain_commitment: required for a validator whose session key is not a dev key",
        "btt-chain key inspect KEY --hash-chain --chain SPEC` (or --hash-chain-length 1048576)",  # named all the same
    )
    assert "btt-chain build-spec --validator KEYFILE:BOND" in line
    doc["consensus"]["hash_chain_length"] = 4096
    one_problem(doc, "validators[2].hash_chain_commitment:", "(or --hash-chain-length 4096)")


def test_dev_account_with_hex_session_key_needs_a_commitment() -> None:
    doc = preset_doc("dev")
    doc["validators"][0]["session_key"] = "0x" + dev_keypair("alice").public.hex()
    one_problem(doc, "validators[0].hash_chain_commitment: required for a validator whose session key is not a dev key")


def test_dev_session_key_name_on_live_chain_rejected() -> None:
    doc = preset_doc()
    doc["validators"][0]["session_key"] = "alice"
    one_problem(doc, "validators[0].session_key: dev key 'alice' is allowed only on dev and local chains")


@pytest.mark.parametrize(
    "value, needle",
    [
        ("ab" * 32, "expected 0x and 64 hex digits"),
        ("0x" + "ab" * 31, "expected 0x and 64 hex digits"),
        ("0x" + "zz" * 32, "expected 0x and 64 hex digits"),
        (12, "expected a 0x-hex hash-chain commitment, got integer"),
        (None, "expected a 0x-hex hash-chain commitment, got null"),
    ],
)
def test_bad_commitment_rejected(value: Any, needle: str) -> None:
    doc = preset_doc()
    doc["validators"][1]["hash_chain_commitment"] = value
    one_problem(doc, "validators[1].hash_chain_commitment:", needle)


def test_duplicate_commitment_rejected() -> None:
    doc = preset_doc()
    doc["validators"][3]["hash_chain_commitment"] = doc["validators"][1]["hash_chain_commitment"]
    one_problem(doc, "validators[3].hash_chain_commitment: hash-chain commitment already used by validators[1]")


def test_validator_note_allowed_and_checked() -> None:
    doc = preset_doc()
    assert all("placeholder" in v["note"] for v in doc["validators"])
    doc["validators"][0]["note"] = 7
    one_problem(doc, "validators[0].note: expected a string, got integer")


@pytest.mark.parametrize(
    "value, needle",
    [
        (15, "must be between 16 and 16777216, got 15"),
        (16_777_217, "must be between 16 and 16777216, got 16777217"),
        (0, "must be between 16 and 16777216, got 0"),
        (1024.0, "floats are not allowed"),
        (True, "expected an integer, got boolean"),
        ("1024", "expected an integer, got string"),
    ],
)
def test_bad_hash_chain_length(value: Any, needle: str) -> None:
    doc = preset_doc("dev")
    doc["consensus"]["hash_chain_length"] = value
    # one line: no commitment is derived (nor reported missing) from a bad length
    one_problem(doc, "consensus.hash_chain_length:", needle)


def test_hash_chain_length_bounds_accepted() -> None:
    doc = preset_doc()
    for length in (16, 16_777_216):
        doc["consensus"]["hash_chain_length"] = length
        assert parse_chain_spec(doc).consensus.hash_chain_length == length


# ------------------------------------------------------------------------------------------- the compute section


def test_missing_compute_section() -> None:
    doc = preset_doc()
    del doc["compute"]
    one_problem(doc, "compute: missing required field")


def test_compute_section_fields() -> None:
    doc = preset_doc()
    doc["compute"]["price"] = 1
    one_problem(doc, "compute.price: unknown field 'price' (allowed: models, mining_periods)")
    doc = preset_doc()
    del doc["compute"]["models"]
    one_problem(doc, "compute.models: missing required field")
    doc = preset_doc()
    doc["compute"] = []
    one_problem(doc, "compute: expected an object, got array")


def test_unknown_model_lists_the_known_ones() -> None:
    doc = preset_doc()
    doc["compute"]["models"] = ["breast-cancer-v1", "tooth-fairy-v9"]
    one_problem(doc, "compute.models[1]: unknown reference model 'tooth-fairy-v9'; known: breast-cancer-v1, "
                     "digits-conv-v1 (or write the model's spec out in its JSON form)")


def test_a_model_written_out_in_the_spec_is_registered_at_genesis() -> None:
    doc = preset_doc()
    written = spec_to_json(dense_blob("wide-findings", (64, 64))[0])
    doc["compute"]["models"] = ["breast-cancer-v1", written]
    spec = parse_chain_spec(doc)
    assert [m.name for m in spec.compute.models] == ["breast-cancer-v1", "wide-findings"]
    assert spec_to_json(spec.compute.models[1]) == written
    for bad, problem in (
        ({**written, "layers": []}, "at least one layer"),
        ({**written, "weightsHash": "0x12"}, "weightsHash must be 0x and 64 hex digits"),
        ({**written, "inputShape": [64, "64"]}, "inputShape must be a list of integers"),
        ({**written, "modelHash": "0x" + "00" * 32}, "is not this spec's hash"),
        ({**written, "seed": "0x" + "ab" * 32}, "unknown key 'seed'"),
    ):
        doc["compute"]["models"] = ["breast-cancer-v1", bad]
        with pytest.raises(GenesisError, match=problem):
            parse_chain_spec(doc)
    other = {**written, "weightsSize": written["weightsSize"] + 1}
    other.pop("modelHash")
    doc["compute"]["models"] = [written, other]
    one_problem(doc, "compute.models[1]: duplicate model 'wide-findings' (also compute.models[0])")


def test_models_not_empty_no_duplicates() -> None:
    doc = preset_doc()
    doc["compute"]["models"] = []
    one_problem(doc, "compute.models: must not be empty")
    doc["compute"]["models"] = ["breast-cancer-v1", "breast-cancer-v1"]
    one_problem(doc, "compute.models[1]: duplicate model 'breast-cancer-v1' (also compute.models[0])")
    doc["compute"]["models"] = "breast-cancer-v1"
    one_problem(doc, "compute.models: expected an array, got string")


def test_mining_periods_must_sum_to_the_pool() -> None:
    doc = preset_doc()
    doc["compute"]["mining_periods"][3]["amount"] = "629999.5"
    one_problem(
        doc,
        "compute.mining_periods: period amounts sum to 6299999.5 BTT but module:mining_pool holds 6300000 BTT "
        "in the allocations",
    )
    doc = preset_doc("btt-210m")
    doc["compute"]["mining_periods"] = preset_doc("btt-21m")["compute"]["mining_periods"]
    one_problem(doc, "period amounts sum to 6300000 BTT but module:mining_pool holds 63000000 BTT")


def test_mining_periods_without_a_pool_row() -> None:
    doc = preset_doc()
    row(doc, 8)["holders"][0]["account"] = "module:treasury"
    one_problem(doc, "compute.mining_periods: period amounts sum to 6300000 BTT but module:mining_pool holds 0 BTT")


@pytest.mark.parametrize(
    "field, value, needle",
    [
        ("years", 0, "compute.mining_periods[1].years: must be between 1 and 100, got 0"),
        ("years", -2, "compute.mining_periods[1].years: must be between 1 and 100, got -2"),
        ("years", 2.0, "compute.mining_periods[1].years: floats are not allowed"),
        ("years", "2", "compute.mining_periods[1].years: expected an integer, got string"),
        ("amount", "0", "compute.mining_periods[1].amount: must be more than 0"),
        ("amount", "-1890000", "compute.mining_periods[1].amount: negative amounts are not allowed"),
        ("amount", 1890000.0, "compute.mining_periods[1].amount: floats are not allowed"),
        ("amount", "lots", "compute.mining_periods[1].amount:"),
    ],
)
def test_bad_mining_period(field: str, value: Any, needle: str) -> None:
    doc = preset_doc()
    doc["compute"]["mining_periods"][1][field] = value
    # a bad period is reported once: the sum is not checked against the pool then
    one_problem(doc, needle)


def test_mining_periods_shape() -> None:
    doc = preset_doc()
    doc["compute"]["mining_periods"] = []
    one_problem(doc, "compute.mining_periods: must not be empty")
    doc = preset_doc()
    doc["compute"]["mining_periods"][0]["months"] = 24
    one_problem(doc, "compute.mining_periods[0].months: unknown field 'months' (allowed: years, amount)")
    doc = preset_doc()
    del doc["compute"]["mining_periods"][0]["years"]
    one_problem(doc, "compute.mining_periods[0].years: missing required field")


def test_mining_schedule_must_fit_in_64_bit_milliseconds() -> None:
    doc = preset_doc()
    doc["time"]["year_seconds"] = 2**61
    one_problem(doc, "compute.mining_periods: the schedule lasts", "more than a 64-bit millisecond count")


def test_compute_shares_must_sum_to_10000_when_provider_changes() -> None:
    doc = preset_doc()
    doc["parameters"]["compute.provider_bps"] = {"value": 7100, "min": 7000, "max": 7100, "unit": "bps"}
    one_problem(
        doc,
        "parameters: compute.provider_bps + compute.development_bps + compute.foundation_bps + compute.reserve_bps "
        "must sum to 10000 bps (100%), got 10100",
    )


@pytest.mark.parametrize("name", compute_params.ALL)
def test_missing_compute_parameter(name: str) -> None:
    doc = preset_doc()
    del doc["parameters"][name]
    one_problem(doc, f"parameters.{name}: missing required parameter (unit {REQUIRED_PARAMETERS[name]!r})")


def test_compute_parameter_bounds_and_units() -> None:
    doc = preset_doc()
    doc["parameters"]["compute.region_factor_bps.remote"]["unit"] = "bps"
    lines = problems(doc)
    assert lines[0].startswith("parameters.compute.region_factor_bps.remote.value: must be between 0 and 10000")
    doc = preset_doc()
    doc["parameters"]["compute.reward_cap_bps"]["value"] = 9000
    one_problem(doc, "parameters.compute.reward_cap_bps: value 9000 is outside its range [0, 8000]")
    doc = preset_doc()
    doc["parameters"]["compute.min_provider_bond"]["unit"] = "count"
    doc["parameters"]["compute.min_provider_bond"].update(value=10000, min=100, max=1000000)
    one_problem(doc, "parameters.compute.min_provider_bond.unit: must be 'btt', got 'count'")


def test_seed_fixtures_are_complete_apart_from_their_tables() -> None:
    # the fixtures carry the compute and governance sections, their parameters and commitments, so that their only
    # problems are the seeds' own allocation tables
    for name in ("seed-002.json", "seed-004.json"):
        doc = json.loads((FIXTURES / name).read_text())
        assert set(compute_params.ALL) <= set(doc["parameters"])
        assert set(governance_params.ALL) <= set(doc["parameters"])
        assert doc["governance"]["institution_share_percent"] == [70, 50, 40, 20]
        assert doc["compute"]["models"] == ["breast-cancer-v1", "digits-conv-v1"]
        assert all("hash_chain_commitment" in v for v in doc["validators"])


# ------------------------------------------------------------------------------------------- governance


@pytest.mark.parametrize("name", governance_params.ALL)
def test_missing_governance_parameter(name: str) -> None:
    doc = preset_doc()
    del doc["parameters"][name]
    one_problem(doc, f"parameters.{name}: missing required parameter (unit {REQUIRED_PARAMETERS[name]!r})")


def test_house_weights_must_sum_to_10000() -> None:
    doc = preset_doc()
    doc["parameters"]["governance.house_bps.compute"]["value"] = 2000
    one_problem(
        doc,
        "parameters: governance.house_bps.institutions + governance.house_bps.compute + governance.house_bps.holders "
        "+ governance.house_bps.representatives must sum to 10000 bps (100%), got 9500",
    )


def test_governance_section_of_the_presets() -> None:
    for name in PRESETS:
        spec = load_chain_spec(name)
        gov = spec.governance
        assert gov.institution_rows == (1, 2, 3, 4, 5)
        assert gov.institution_share_percent == (70, 50, 40, 20)
        rows = {r.index: r for r in spec.allocations}
        assert gov.institutions == tuple(h for i in (1, 2, 3, 4, 5) for h in rows[i].holders)
        assert gov.representatives == ((dev_keypair("eve").public,) if name == "dev" else ())
    dev = load_chain_spec("dev").governance
    assert [h.label for h in dev.institutions][1] == "dave"


def test_governance_section_is_required() -> None:
    doc = preset_doc()
    del doc["governance"]
    one_problem(doc, "governance: missing required field")
    doc = preset_doc()
    doc["governance"]["speaker"] = "alice"
    one_problem(doc, "governance.speaker: unknown field")
    doc = preset_doc()
    del doc["governance"]["representatives"]
    one_problem(doc, "governance.representatives: missing required field")


def test_institution_rows_must_exist_and_hold_accounts() -> None:
    doc = preset_doc()
    doc["governance"]["institution_rows"] = [1, 13]
    one_problem(doc, "governance.institution_rows[1]: no allocation row has index 13")
    doc["governance"]["institution_rows"] = [1, 1]
    one_problem(doc, "governance.institution_rows[1]: duplicate row 1")
    doc["governance"]["institution_rows"] = [1, 0]
    one_problem(doc, "governance.institution_rows[1]: must be at least 1")
    doc["governance"]["institution_rows"] = [1, 9]
    one_problem(doc, "governance.institution_rows[1]: row 9 (Community Incentives) is held only by module accounts")
    doc["governance"]["institution_rows"] = "1-5"
    one_problem(doc, "governance.institution_rows: expected an array, got string")


def test_institution_module_holders_are_left_out() -> None:
    doc = preset_doc("dev")
    row(doc, 11)["holders"].append({"account": "module:treasury", "amount": "1"})
    row(doc, 11)["holders"][0]["amount"] = "129999"
    doc["governance"]["institution_rows"] = [11]
    spec = parse_chain_spec(doc)
    assert [h.label for h in spec.governance.institutions] == [
        "alice", "multisig:2:alice,bob,charlie", "bob", "charlie", "eve", "ferdie",
    ]


def test_institutions_may_be_empty() -> None:
    doc = preset_doc()
    doc["governance"]["institution_rows"] = []
    assert parse_chain_spec(doc).governance.institutions == ()


@pytest.mark.parametrize(
    "shares, message",
    [
        ([], "governance.institution_share_percent: must not be empty"),
        ([70, 0], "governance.institution_share_percent[1]: must be between 1 and 100, got 0"),
        ([101], "governance.institution_share_percent[0]: must be between 1 and 100, got 101"),
        ([70, 80], "governance.institution_share_percent[1]: 80 is more than the previous year's 70"),
        ([70, "50"], "governance.institution_share_percent[1]: expected an integer, got string"),
        ([70, 50.0], "governance.institution_share_percent[1]: floats are not allowed"),
        ([1] * 101, "governance.institution_share_percent: 101 years"),
    ],
)
def test_institution_share_schedule_rules(shares: list, message: str) -> None:
    doc = preset_doc()
    doc["governance"]["institution_share_percent"] = shares
    one_problem(doc, message)


def test_a_flat_share_schedule_is_allowed() -> None:
    doc = preset_doc()
    doc["governance"]["institution_share_percent"] = [100]
    assert parse_chain_spec(doc).governance.institution_share_percent == (100,)


def test_representatives_rules() -> None:
    doc = preset_doc()
    doc["governance"]["representatives"] = ["eve"]
    one_problem(doc, "governance.representatives[0]: dev account 'eve' is allowed only on dev and local")
    doc = preset_doc("dev")
    doc["governance"]["representatives"] = ["eve", "ferdie", "eve"]
    one_problem(
        doc, "governance.representatives[2]: duplicate representative 'eve' (also governance.representatives[0])"
    )
    doc["governance"]["representatives"] = ["module:treasury"]
    one_problem(doc, "governance.representatives[0]: 'module:treasury' is a module account")
    doc["governance"]["representatives"] = ["5notanaddress"]
    one_problem(doc, "governance.representatives[0]:")
    doc["governance"]["representatives"] = [encode_address(bytes([i]) * 32, 42) for i in range(101)]
    one_problem(doc, "governance.representatives: 101 representatives; the house has at most 100")
    live = preset_doc()
    live["governance"]["representatives"] = [encode_address(bytes(range(32)), 42)]
    assert parse_chain_spec(live).governance.representatives == (bytes(range(32)),)


def test_the_dev_preset_appoints_a_verifier_and_oracles_at_genesis() -> None:
    spec = load_chain_spec("dev")
    assert spec.governance.verifiers == (dev_keypair("charlie").public,)
    assert set(spec.governance.oracles) == {
        (a, dev_keypair("eve").public)
        for a in ("preventive_visit", "treatment_adherence", "healthy_lifestyle", "referral")
    }
    # the live presets appoint nobody: governance does
    live = load_chain_spec("btt-21m")
    assert live.governance.verifiers == () and live.governance.oracles == ()


def test_genesis_verifiers_and_oracles_are_checked() -> None:
    doc = preset_doc("dev")
    doc["governance"]["verifiers"] = ["charlie", "charlie"]
    one_problem(doc, "governance.verifiers[1]: duplicate account 'charlie'")
    doc = preset_doc("dev")
    doc["governance"]["oracles"] = {"dentistry": ["eve"]}
    one_problem(doc, "governance.oracles.dentistry: unknown activity")
    doc = preset_doc("dev")
    doc["governance"]["oracles"] = ["eve"]
    one_problem(doc, "governance.oracles")
    doc = preset_doc("dev")
    doc["governance"]["verifiers"] = ["module:treasury"]
    one_problem(doc, "governance.verifiers[0]")
