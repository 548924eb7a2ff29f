"""bonds: bond, unbond into chunks, withdraw after the unbonding period, rebond, validator registration,
the active set rebuilt only at epoch boundaries, and slashing that reaches unbonding funds."""

from __future__ import annotations

import pytest

from btt_chain.primitives.errors import GenesisError
from btt_chain.primitives.keys import Keypair
from runtime.bonds import events, logic
from runtime.bonds import storage as bonds
from runtime.bonds.types import BondLedger, UnlockChunk
from runtime.context import BlockEnv, CallContext
from runtime.executive import Executive
from runtime.genesis import GenesisConfig
from runtime.modules import RUNTIME
from runtime.overlay import DictState, Overlay
from runtime.session import storage as session
from tests.support.runtime_builder import (
    DEFAULT_PARAMS,
    GENESIS_HASH,
    SLOT_MS,
    UNIT,
    GenesisBuilder,
    TestChain,
    acct,
    assert_last_event,
    assert_noop,
    assert_ok,
    test_commitment,
)
from tests.support.session_proof import registration

PERIOD = DEFAULT_PARAMS["bonds.unbonding_period_ms"][0]
SESSION = Keypair(b"\x07" * 32)
"""Bob's session key: no dev key, so the slots it leads pass without a block."""
KEY = SESSION.public
COMMIT = b"\x08" * 32
REGISTER = registration(SESSION, "bob", COMMIT)
"""bob's `bonds.register_validator` arguments: the key, its commitment and the key's proof for bob."""


def ledger(chain: TestChain, who: str) -> BondLedger | None:
    return bonds.ledger.get(chain.view(), acct(who))


def now(chain: TestChain) -> int:
    """The timestamp of the next block."""
    return 1_000_000 + (chain.number + 1) * SLOT_MS


def skip_blocks(chain: TestChain, n: int) -> None:
    for _ in range(n):
        chain.run_block([])


def test_genesis_validator_is_bonded_and_registered() -> None:
    chain = GenesisBuilder().build()
    assert ledger(chain, "alice") == BondLedger(10 * UNIT, ())
    assert bonds.validators.get(chain.view(), acct("alice")).hash_chain_commitment == test_commitment("alice")
    assert chain.account("alice").reserved == 10 * UNIT


def test_bond_reserves_and_bond_extra_adds() -> None:
    chain = GenesisBuilder().build()
    assert_ok(chain.submit("bob", "bonds.bond", 100 * UNIT))
    assert_last_event(chain, events.Bonded(acct("bob"), 100 * UNIT))
    assert_ok(chain.submit("bob", "bonds.bond_extra", 5 * UNIT))
    assert ledger(chain, "bob") == BondLedger(105 * UNIT, ())
    assert chain.account("bob").reserved == 105 * UNIT
    assert logic.bonded(chain.view(), acct("bob")) == 105 * UNIT


def test_bond_failures_change_nothing() -> None:
    chain = GenesisBuilder().build()
    assert_noop(chain, "bob", "bonds.bond", 0, error="ZeroAmount")
    assert_noop(chain, "bob", "bonds.bond", 5_000 * UNIT, error="InsufficientBalance")
    assert_noop(chain, "bob", "bonds.bond_extra", UNIT, error="NotBonded")
    assert_ok(chain.submit("bob", "bonds.bond", UNIT))
    assert_noop(chain, "bob", "bonds.bond", UNIT, error="AlreadyBonded")


def test_unbond_then_withdraw_only_after_maturity() -> None:
    chain = GenesisBuilder().build()
    assert_ok(chain.submit("bob", "bonds.bond", 100 * UNIT))
    unlock_at = now(chain) + PERIOD
    assert_ok(chain.submit("bob", "bonds.unbond", 40 * UNIT))
    assert_last_event(chain, events.Unbonded(acct("bob"), 40 * UNIT, unlock_at))
    assert ledger(chain, "bob") == BondLedger(60 * UNIT, (UnlockChunk(40 * UNIT, unlock_at),))
    assert chain.account("bob").reserved == 100 * UNIT
    assert_noop(chain, "bob", "bonds.unbond", 61 * UNIT, error="InsufficientBond")
    assert_noop(chain, "bob", "bonds.withdraw_unbonded", error="NothingToWithdraw")
    while now(chain) < unlock_at - SLOT_MS:
        chain.run_block([])
    assert_noop(chain, "bob", "bonds.withdraw_unbonded", error="NothingToWithdraw")  # one slot early
    assert now(chain) == unlock_at
    free = chain.account("bob").free
    outcome = chain.submit("bob", "bonds.withdraw_unbonded")
    assert_ok(outcome)
    assert_last_event(chain, events.Withdrawn(acct("bob"), 40 * UNIT))
    assert ledger(chain, "bob") == BondLedger(60 * UNIT, ())
    assert chain.account("bob").reserved == 60 * UNIT
    assert chain.account("bob").free == free + 40 * UNIT - outcome.fee


def test_withdrawing_everything_removes_the_ledger() -> None:
    chain = GenesisBuilder().build()
    assert_ok(chain.submit("bob", "bonds.bond", 10 * UNIT))
    assert_ok(chain.submit("bob", "bonds.unbond", 10 * UNIT))
    skip_blocks(chain, PERIOD // SLOT_MS)
    assert_ok(chain.submit("bob", "bonds.withdraw_unbonded"))
    assert ledger(chain, "bob") is None
    assert chain.account("bob").reserved == 0


def test_rebond_takes_newest_chunks_first() -> None:
    chain = GenesisBuilder().build()
    assert_ok(chain.submit("bob", "bonds.bond", 100 * UNIT))
    first = now(chain) + PERIOD
    assert_ok(chain.submit("bob", "bonds.unbond", 10 * UNIT))
    second = now(chain) + PERIOD
    assert_ok(chain.submit("bob", "bonds.unbond", 20 * UNIT))
    assert_noop(chain, "bob", "bonds.rebond", 31 * UNIT, error="InsufficientUnlocking")
    assert_ok(chain.submit("bob", "bonds.rebond", 25 * UNIT))
    assert_last_event(chain, events.Rebonded(acct("bob"), 25 * UNIT))
    assert ledger(chain, "bob") == BondLedger(95 * UNIT, (UnlockChunk(5 * UNIT, first),))
    assert first < second


def test_register_needs_the_minimum_bond() -> None:
    chain = GenesisBuilder().build()
    assert_noop(chain, "bob", "bonds.register_validator", *REGISTER, error="BelowMinimum")
    assert_ok(chain.submit("bob", "bonds.bond", 4 * UNIT))
    assert_noop(chain, "bob", "bonds.register_validator", *REGISTER, error="BelowMinimum")
    assert_ok(chain.submit("bob", "bonds.bond_extra", UNIT))
    # alice's key, with its proof for bob (its holder lets him): it is in use
    assert_noop(chain, "bob", "bonds.register_validator", *registration("alice", "bob", COMMIT),
                error="SessionKeyInUse")
    assert_ok(chain.submit("bob", "bonds.register_validator", *REGISTER))
    assert_last_event(chain, events.ValidatorRegistered(acct("bob"), KEY))
    assert_noop(chain, "bob", "bonds.register_validator", *REGISTER, error="AlreadyRegistered")
    # a registered validator keeps the minimum bond
    assert_noop(chain, "bob", "bonds.unbond", UNIT, error="BelowMinimum")
    assert_ok(chain.submit("bob", "bonds.deregister_validator"))
    assert_last_event(chain, events.ValidatorDeregistered(acct("bob")))
    assert_noop(chain, "bob", "bonds.deregister_validator", error="NotRegistered")
    assert_ok(chain.submit("bob", "bonds.unbond", UNIT))


def accounts(chain: TestChain, item: str = "validators") -> list[bytes]:
    return [v.account for v in getattr(session, item).get(chain.view())]


def run_to_slot(chain: TestChain, slot: int) -> None:
    """Run blocks until one is in `slot` or later (slots a non-dev key leads pass without a block)."""
    while chain.slot < slot:
        chain.run_block([])


def test_sets_rotate_only_at_an_epoch_boundary_and_a_registration_is_queued_first() -> None:
    chain = GenesisBuilder(epoch_slots=5).build()
    assert accounts(chain) == accounts(chain, "queued") == [acct("alice")]
    assert_ok(chain.submit("bob", "bonds.bond", 20 * UNIT))  # slot 1
    assert_ok(chain.submit("bob", "bonds.register_validator", *REGISTER))  # slot 2
    while chain.slot < 4:
        chain.run_block([])
        assert accounts(chain) == accounts(chain, "queued") == [acct("alice")]
    chain.run_block([])  # slot 5 starts epoch 1, whose set was fixed at genesis: bob is queued for epoch 2
    assert chain.slot == 5
    assert accounts(chain) == [acct("alice")]
    queued = session.queued.get(chain.view())
    assert [(v.account, v.session_key, v.bond) for v in queued] == [
        (acct("alice"), acct("alice"), 10 * UNIT),
        (acct("bob"), KEY, 20 * UNIT),
    ]
    assert events.ValidatorsQueued(2, 2) in chain.events()
    assert not [e for e in chain.events() if isinstance(e, events.NewEpoch)]
    # bond changes and deregistration also wait for the next boundary
    assert_ok(chain.submit("bob", "bonds.bond_extra", 5 * UNIT))  # slot 6
    assert_ok(chain.submit("bob", "bonds.deregister_validator"))  # slot 7
    assert accounts(chain, "queued") == [acct("alice"), acct("bob")]
    run_to_slot(chain, 10)  # epoch 2: bob is active (with the bond he was queued with) and queued no more
    assert chain.slot // 5 == 2
    assert [(v.account, v.bond) for v in session.validators.get(chain.view())] == [
        (acct("alice"), 10 * UNIT), (acct("bob"), 20 * UNIT)
    ]
    assert events.NewEpoch(2, 2) in chain.events()
    assert accounts(chain, "queued") == [acct("alice")]
    run_to_slot(chain, 15)
    assert accounts(chain) == [acct("alice")]


def test_unchanged_set_is_not_rewritten_at_a_boundary() -> None:
    chain = GenesisBuilder(epoch_slots=2).build()
    before = session.validators.get(chain.view())
    skip_blocks(chain, 5)
    assert session.validators.get(chain.view()) == before
    assert not [e for e in chain.events() if isinstance(e, events.NewEpoch)]
    assert bonds.current_epoch.get(chain.view()) == 2


def test_the_last_validator_is_never_dropped() -> None:
    chain = GenesisBuilder(epoch_slots=2).build()
    assert_ok(chain.submit("alice", "bonds.deregister_validator"))
    skip_blocks(chain, 4)
    assert [v.account for v in session.validators.get(chain.view())] == [acct("alice")]


def _ctx(chain: TestChain) -> CallContext:
    n = chain.number + 1
    env = BlockEnv(n, chain.parent_hash, n, 1_000_000 + n * SLOT_MS, acct("alice"))
    return CallContext(Overlay(chain.backend), env, RUNTIME)


def test_slash_reduces_active_bond_then_unlocking_chunks_newest_first() -> None:
    chain = GenesisBuilder().build()
    assert_ok(chain.submit("bob", "bonds.bond", 100 * UNIT))
    first = now(chain) + PERIOD
    assert_ok(chain.submit("bob", "bonds.unbond", 30 * UNIT))
    second = now(chain) + PERIOD
    assert_ok(chain.submit("bob", "bonds.unbond", 50 * UNIT))
    ctx = _ctx(chain)
    charlie = chain.account("charlie").free
    burned, reward = logic.slash(ctx, acct("bob"), 60 * UNIT, acct("charlie"))
    assert (burned, reward) == (54 * UNIT, 6 * UNIT)  # reporter share 10%
    # 20 from the active bond, then 40 of the newest chunk (50)
    expected = BondLedger(0, (UnlockChunk(30 * UNIT, first), UnlockChunk(10 * UNIT, second)))
    assert bonds.ledger.get(ctx.state, acct("bob")) == expected
    chain.backend.apply(ctx.state.changes())
    assert chain.account("bob").reserved == 40 * UNIT
    assert chain.account("charlie").free == charlie + 6 * UNIT
    chain.run_block([])  # the builder checks the invariants


def test_slash_without_reporter_burns_and_deregisters_an_emptied_validator() -> None:
    chain = GenesisBuilder().build()
    ctx = _ctx(chain)
    assert logic.slash(ctx, acct("alice"), 100 * UNIT, None) == (10 * UNIT, 0)
    assert bonds.ledger.get(ctx.state, acct("alice")) is None
    assert not bonds.validators.contains(ctx.state, acct("alice"))
    assert logic.slash(ctx, acct("bob"), UNIT, None) == (0, 0)


def test_unbonding_period_must_outlast_the_evidence_window() -> None:
    with pytest.raises(ValueError, match="must be longer than"):
        GenesisBuilder(params={"bonds.evidence_window_ms": 59_000, "bonds.unbonding_period_ms": 59_000}).build()


def test_presets_keep_unbonding_longer_than_any_evidence_window() -> None:
    from genesis.build import build_genesis
    from genesis.loader import load_chain_spec, load_chain_spec_doc, materialise, parse_chain_spec

    for name in ("dev", "btt-21m", "btt-210m"):
        spec = parse_chain_spec(materialise(load_chain_spec_doc(name), 1_000), name)
        p = {x.name: x for x in spec.parameters}
        assert p["bonds.unbonding_period_ms"].min > p["bonds.evidence_window_ms"].max, name
        build_genesis(spec)
    doc = materialise(load_chain_spec_doc("dev"), 1_000)
    doc["parameters"]["bonds.unbonding_period_ms"]["min"] = 0
    doc["parameters"]["bonds.unbonding_period_ms"]["value"] = 1
    with pytest.raises(GenesisError, match="must be longer than"):
        build_genesis(parse_chain_spec(doc))
    assert load_chain_spec("dev")


def test_genesis_config_without_epoch_slots_never_rotates() -> None:
    assert GenesisConfig.__dataclass_fields__["epoch_slots"].default == 0
    state = DictState(GenesisBuilder().build().backend.data)
    ex = Executive(RUNTIME, GENESIS_HASH).initialize_block(
        state, BlockEnv(1, GENESIS_HASH, 10_000, 2_000_000, acct("alice"), speculative=True)
    )
    assert bonds.current_epoch.get(ex.state) == 0


def test_evidence_slash_reaches_unbonding_funds_and_keeps_the_ledger_consistent() -> None:
    from tests.runtime.test_evidence import header

    c = GenesisBuilder(validators={"alice": 10, "bob": 20}, params={"slashing.fraction_bps": 5000}).build()
    assert_ok(c.submit("bob", "bonds.unbond", 14 * UNIT))  # 6 stays active (above the 5 minimum)
    assert_ok(c.submit("charlie", "evidence.report_block_equivocation",
                       header(root=1).encode(), header(root=2).encode()))
    # half of the session bond (20): 6 from the active bond, 4 from the unbonding chunk
    led = bonds.ledger.get(c.view(), acct("bob"))
    assert led is not None and (led.active, led.unlocking_total) == (0, 10 * UNIT)
    assert c.account("bob").reserved == led.total
    assert not bonds.validators.contains(c.view(), acct("bob"))
    bob = next(v for v in session.validators.get(c.view()) if v.account == acct("bob"))
    assert bob.bond == 10 * UNIT
