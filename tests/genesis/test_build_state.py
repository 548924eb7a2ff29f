"""The genesis state from a config: every balance where it belongs, bonds moved to reserved, and each way a config can
be wrong refused with the reason (a duplicate account is named before anything else about it)."""

from __future__ import annotations

import dataclasses

import pytest

from btt_chain.primitives.errors import GenesisError
from genesis.build import build_genesis, genesis_config
from genesis.loader import load_chain_spec, materialise, parse_chain_spec
from genesis.spec import ChainSpec
from runtime.genesis import GenesisBalance, GenesisConfig, build_state
from runtime.overlay import DictState, Overlay
from runtime.system import storage as system

UNIT = 10**18


@pytest.fixture(scope="module")
def spec() -> ChainSpec:
    return parse_chain_spec(materialise(load_chain_spec("dev").raw, 1_700_000_000_000))


@pytest.fixture(scope="module")
def config(spec: ChainSpec) -> GenesisConfig:
    return genesis_config(spec)


def with_extra(config: GenesisConfig, *extra: GenesisBalance) -> GenesisConfig:
    return dataclasses.replace(
        config, supply=config.supply + sum(b.free for b in extra), balances=config.balances + extra
    )


def test_every_balance_lands_and_validator_bonds_are_reserved(config: GenesisConfig) -> None:
    extra = [GenesisBalance(bytes([i]) * 32, (i + 1) * UNIT, i * UNIT // 2) for i in range(1, 40)]
    state = build_state(with_extra(config, *extra))
    assert all(type(v) is bytes for v in state.values())
    view = Overlay(DictState(state))
    bonds = {v.account: v.bond for v in config.validators}
    for b in (*config.balances, *extra):
        acc = system.account.get(view, b.account)
        bond = bonds.get(b.account, 0)
        assert (acc.free, acc.reserved, acc.frozen) == (b.free - bond, bond, b.locked)
    assert system.total_issuance.get(view) == config.supply + sum(b.free for b in extra) - config.burned_at_genesis


def test_a_duplicate_account_is_refused_first(config: GenesisConfig) -> None:
    who = b"\x07" * 32
    twice = with_extra(config, GenesisBalance(who, UNIT, 0), GenesisBalance(who, UNIT, 2 * UNIT))
    with pytest.raises(ValueError, match="appears twice"):
        build_state(twice)
    existing = config.balances[0]
    with pytest.raises(ValueError, match="appears twice"):
        build_state(with_extra(config, GenesisBalance(existing.account, 1, 0)))


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda c: with_extra(c, GenesisBalance(b"\x08" * 32, UNIT, UNIT + 1)), "locked exceeds free"),
        (lambda c: dataclasses.replace(c, supply=c.supply + 1), "expected supply minus genesis burns"),
        (
            lambda c: dataclasses.replace(
                c, validators=tuple(dataclasses.replace(v, bond=10**40) for v in c.validators)
            ),
            "bond exceeds its spendable",
        ),
    ],
)
def test_a_wrong_config_is_refused_with_its_reason(config: GenesisConfig, change, reason: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=reason):
        build_state(change(config))


def test_build_genesis_names_the_fault_and_keeps_the_config(spec: ChainSpec, config: GenesisConfig) -> None:
    before = dataclasses.replace(config)
    bad = dataclasses.replace(config, supply=config.supply - 1)
    with pytest.raises(GenesisError, match="genesis state cannot be built: genesis balances hold"):
        build_genesis(spec, bad)
    assert config == before
    assert build_genesis(spec, config).hash == build_genesis(spec).hash
