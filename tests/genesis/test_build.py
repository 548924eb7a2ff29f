"""Genesis config from a chain spec: hash-chain commitments, reference models and the mining schedule."""

from __future__ import annotations

from btt_chain.primitives.keys import dev_keypair
from genesis.build import build_genesis, genesis_config
from genesis.devnet import DEVNET_VALIDATORS, devnet_spec_doc
from genesis.loader import (
    dev_hash_chain_commitment,
    load_chain_spec,
    load_chain_spec_doc,
    materialise,
    parse_chain_spec,
)
from runtime.compute.reference import reference_spec
from runtime.overlay import DictState, Overlay
from runtime.roles import logic as roles
from runtime.treasury import storage as treasury
from runtime.treasury.types import Milestone

UNIT = 10**18
START = 1_700_000_000_000


def test_genesis_config_of_the_dev_preset() -> None:
    spec = parse_chain_spec(materialise(load_chain_spec_doc("dev"), START))
    config = genesis_config(spec)
    assert config.slot_ms == spec.consensus.slot_ms == 1000
    alice = dev_keypair("alice").public
    assert config.commitments == ((alice, dev_hash_chain_commitment("alice")),)
    assert config.models == (reference_spec("breast-cancer-v1"), reference_spec("digits-conv-v1"))
    # a dev year is 720 s: each two-year period lasts 1,440,000 ms
    assert config.mining_periods == tuple(
        (2 * 720 * 1000, btt * UNIT) for btt in (2_520_000, 1_890_000, 1_260_000, 630_000)
    )


def test_genesis_config_of_a_live_preset() -> None:
    spec = load_chain_spec("btt-21m")
    config = genesis_config(spec)
    assert config.slot_ms == 6000
    assert config.commitments == tuple((v.session_key, v.hash_chain_commitment) for v in spec.validators)
    assert [d for d, _ in config.mining_periods] == [2 * 365 * 86_400_000] * 4
    assert sum(a for _, a in config.mining_periods) == 6_300_000 * UNIT


def test_presets_build() -> None:
    for name in ("btt-21m", "btt-210m"):
        assert build_genesis(load_chain_spec(name)).block.header.number == 0
    assert build_genesis(parse_chain_spec(materialise(load_chain_spec_doc("dev"), START))).hash


def test_devnet_doc_writes_the_dev_commitments() -> None:
    doc = devnet_spec_doc(3, START)
    assert [v["hash_chain_commitment"] for v in doc["validators"]] == [
        "0x" + dev_hash_chain_commitment(name).hex() for name in DEVNET_VALIDATORS[:3]
    ]
    spec = parse_chain_spec(doc)
    assert [v.hash_chain_commitment for v in spec.validators] == [
        dev_hash_chain_commitment(name) for name in DEVNET_VALIDATORS[:3]
    ]
    # the same as the loader derives when the file gives none
    for v in doc["validators"]:
        del v["hash_chain_commitment"]
    assert parse_chain_spec(doc).validators == spec.validators


def test_genesis_config_carries_milestones_and_the_houses() -> None:
    spec = parse_chain_spec(materialise(load_chain_spec_doc("dev"), START))
    config = genesis_config(spec)
    assert config.milestones == (
        ("launch", 30_000 * UNIT, True),
        ("hospitals_100", 70_000 * UNIT, False),
        ("hospitals_1000", 170_000 * UNIT, False),
        ("interoperability", 100_000 * UNIT, False),
    )
    assert config.burned_at_genesis == 30_000 * UNIT
    rows = {r.index: r for r in spec.allocations}
    assert config.institutions == tuple((h.account, h.amount) for i in (1, 2, 3, 4, 5) for h in rows[i].holders)
    assert (dev_keypair("dave").public, 1_050_000 * UNIT) in config.institutions
    assert config.representatives == (dev_keypair("eve").public,)
    assert config.institution_share_bps == (7000, 5000, 4000, 2000)
    state = Overlay(DictState(build_genesis(spec).state))
    assert treasury.milestones.get(state, "launch") == Milestone(30_000 * UNIT, True)
    assert treasury.milestones.get(state, "interoperability") == Milestone(100_000 * UNIT, False)
    assert roles.representatives(state) == (dev_keypair("eve").public,)
    assert roles.institutions(state) == dict(config.institutions)
    assert roles.institution_share_bps(state) == (7000, 5000, 4000, 2000)


def test_live_presets_start_without_representatives() -> None:
    for name in ("btt-21m", "btt-210m"):
        config = genesis_config(load_chain_spec(name))
        assert config.representatives == ()
        assert len(config.institutions) == 5
        assert [amount for name_, amount, _ in config.milestones if name_ == "launch"] == [
            config.burned_at_genesis
        ]
