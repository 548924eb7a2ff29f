"""Upgrades on a test chain (issue 50): a spec scheduled by an emergency referendum takes effect inside its block,
its migrations first; migrations that do not fit run over the blocks after, which carry inherents only; a failing
one stops the chain with nothing written. Every attack on the schedule (the wrong origin, a spec that is not the
next, a block in the past, a second schedule, a standard-track referendum) is refused and changes nothing.

The chains here are born at spec 11, as every chain before specs were recorded, and upgraded to the live spec.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from btt_chain.primitives.errors import InvalidExtrinsic
from btt_chain.primitives.evidence import BLOCK_EQUIVOCATION
from runtime import specs
from runtime.context import EMERGENCY, GOVERNANCE
from runtime.errors import ChainMigrating, MigrationFailed
from runtime.events import is_event
from runtime.evidence import storage as evidence
from runtime.evidence.migrations import REPORTS_V0
from runtime.migration import Migration
from runtime.overlay import Overlay
from runtime.session import storage as session
from runtime.specs import PACKAGES, UnsupportedSpec, package_module, running_spec, runtime_of, spec_for_block
from runtime.storage_version import storage_version
from runtime.system import events
from runtime.system import storage as system
from runtime.system.types import ScheduledSpec
from tests.runtime.test_evidence import enc, header
from tests.runtime.test_session_keys import keys_of, proof
from tests.runtime.test_session_rotation import BALANCES, THREE, E, run_epoch, start_epoch
from tests.support.runtime_builder import (
    UNIT,
    GenesisBuilder,
    TestChain,
    acct,
    assert_dispatch_noop,
    assert_noop,
    assert_ok,
)

OLD, NEW = 11, 12
HALF = {"slashing.fraction_bps": 5000}


def spec11_chain() -> TestChain:
    return GenesisBuilder(balances=BALANCES, validators=THREE, epoch_slots=E, params=HALF).build(spec=OLD)


def pass_epochs(chain: TestChain, n: int) -> None:
    for _ in range(n):
        run_epoch(chain)
        start_epoch(chain)


def names(evs: list[object]) -> list[str]:
    return [type(e).__name__ for e in evs]


def all_events(chain: TestChain) -> list[object]:
    assert chain.last_result is not None
    return [e for _, e in chain.last_result.events]


def schedule(chain: TestChain, at: int, spec: int = NEW) -> None:
    chain.dispatch(EMERGENCY, "system.schedule_spec", spec, at)
    assert system.scheduled_spec.get(chain.view()) == ScheduledSpec(spec, at)


def run_to(chain: TestChain, number: int) -> None:
    while chain.number < number:
        chain.run_block([])


@pytest.fixture
def no_limit() -> Iterator[None]:
    yield
    specs.limit(None)


# --- the table -----------------------------------------------------------------------------------------------


def test_each_spec_in_the_table_is_its_own_package_and_the_specs_follow_one_another() -> None:
    assert sorted(PACKAGES) == list(range(specs.OLDEST, specs.NEWEST + 1))
    assert PACKAGES[specs.NEWEST] == "runtime"
    for spec in PACKAGES:
        assert runtime_of(spec).spec_version == spec
    # an older spec's modules are its own; the shared ones are one module
    assert package_module(OLD, "runtime.session.storage") is not session
    assert package_module(OLD, "runtime.overlay").Overlay is Overlay


@pytest.mark.parametrize("spec", sorted(PACKAGES)[1:])
def test_each_specs_migrations_take_the_previous_specs_storage_versions_to_its_own(spec: int) -> None:
    before = dict(runtime_of(spec - 1).storage_versions)
    after = dict(before)
    for m in runtime_of(spec).migrations:
        if after.get(m.module, 0) >= m.to_version:
            continue  # an older spec's migration, kept for chains that skip a spec: the runner passes it by
        assert after.get(m.module, 0) == m.from_version, f"{m.name}: {m.module} is at {after.get(m.module, 0)}"
        after[m.module] = m.to_version
    assert {k: v for k, v in after.items() if v} == {k: v for k, v in runtime_of(spec).storage_versions.items() if v}


def test_every_module_of_the_newest_spec_declares_its_storage_version() -> None:
    runtime = runtime_of(specs.NEWEST)
    assert sorted(runtime.storage_versions) == sorted(m.name for m in runtime.modules)
    assert all(isinstance(v, int) and 0 <= v < 2**16 for v in runtime.storage_versions.values())


def test_a_chain_born_at_spec_11_records_nothing_and_one_born_at_the_newest_records_its_versions() -> None:
    old = spec11_chain()
    view = old.view()
    assert system.spec_version.get(view) is None and running_spec(view) == OLD
    assert all(storage_version(view, m.name) == 0 for m in runtime_of(OLD).modules)
    assert old.runtime.spec_version == OLD
    new = GenesisBuilder(balances=BALANCES, validators=THREE).build()
    view = new.view()
    assert running_spec(view) == specs.NEWEST == new.runtime.spec_version
    for module in new.runtime.modules:
        assert storage_version(view, module.name) == new.runtime.storage_versions.get(module.name, 0)


# --- scheduling: who may, what, when ---------------------------------------------------------------------------


def test_only_an_emergency_referendum_schedules_only_the_next_spec_at_a_later_block_once() -> None:
    chain = spec11_chain()
    chain.run_block([])
    assert_noop(chain, "alice", "system.schedule_spec", NEW, 50, error="BadOrigin")
    assert_dispatch_noop(chain, GOVERNANCE, "system.schedule_spec", NEW, 50, error="emergency-track")
    for wrong in (OLD, NEW + 1, 0, 2**32 - 1):
        assert_dispatch_noop(chain, EMERGENCY, "system.schedule_spec", wrong, 50, error="SpecNotNext")
    assert_dispatch_noop(chain, EMERGENCY, "system.schedule_spec", NEW, chain.number + 1, error="UpgradeInThePast")
    assert_dispatch_noop(chain, EMERGENCY, "system.schedule_spec", NEW, 0, error="UpgradeInThePast")
    schedule(chain, 50)
    assert [is_event(e, events.SpecScheduled) for e in chain.events()][-1]
    assert_dispatch_noop(chain, EMERGENCY, "system.schedule_spec", NEW, 60, error="UpgradeAlreadyScheduled")
    assert system.scheduled_spec.get(chain.view()) == ScheduledSpec(NEW, 50)


def test_a_standard_track_referendum_cannot_carry_the_schedule_and_the_proposer_keeps_his_deposit() -> None:
    chain = spec11_chain()
    call = chain.runtime.call("system.schedule_spec", NEW, 50)
    assert_noop(chain, "bob", "governance.propose", call, b"\x01" * 32, 100 * UNIT, False, error="EmergencyOnly")


def test_cancel_needs_a_referendum_and_a_schedule_and_the_cancelled_block_runs_the_old_rules() -> None:
    chain = spec11_chain()
    schedule(chain, 10)
    assert_noop(chain, "alice", "system.cancel_spec", error="BadOrigin")
    chain.dispatch(GOVERNANCE, "system.cancel_spec")
    assert any(is_event(e, events.SpecCancelled) for e in chain.events())
    assert system.scheduled_spec.get(chain.view()) is None
    assert_dispatch_noop(chain, GOVERNANCE, "system.cancel_spec", error="NoUpgradeScheduled")
    run_to(chain, 12)
    assert running_spec(chain.view()) == OLD and chain.runtime.spec_version == OLD
    assert not any(type(e).__name__ == "SpecUpgraded" for e in all_events(chain))


# --- the upgrade itself ----------------------------------------------------------------------------------------


def test_the_upgrade_runs_in_its_block_and_a_spec_11_offence_stays_one_offence_of_its_account() -> None:
    chain = spec11_chain()
    keys = keys_of("ferdie")
    assert_ok(chain.submit("alice", "session.set_keys", keys, proof("ferdie", "alice", keys)))
    pass_epochs(chain, 2)  # ferdie's key signs for alice now
    assert acct("ferdie") in {v.session_key for v in session.validators.get(chain.view())}
    slot = chain.slot
    assert_ok(chain.submit("charlie", "evidence.report_block_equivocation",
                           *enc(header("ferdie", slot=slot, root=1), header("ferdie", slot=slot, root=2))))
    offence = evidence.offence_key(acct("ferdie"), BLOCK_EQUIVOCATION, slot)
    assert REPORTS_V0.get(chain.view(), offence) is not None  # spec 11 kept it under the session key
    at = chain.number + 3
    schedule(chain, at)
    run_to(chain, at - 1)
    assert spec_for_block(chain.backend, at - 1) == OLD and spec_for_block(chain.backend, at) == NEW
    assert chain.runtime.spec_version == NEW  # the next block is the scheduled one
    assert running_spec(chain.view()) == OLD
    chain.run_block([])
    view = chain.view()
    assert running_spec(view) == NEW and system.scheduled_spec.get(view) is None
    assert system.migration.get(view) is None
    got = all_events(chain)
    assert events.SpecUpgraded(OLD, NEW) in got
    done = [e for e in got if isinstance(e, events.MigrationCompleted)]
    assert [(e.pallet, e.version, e.blocks) for e in done] == [("session", 1, 1), ("evidence", 1, 1)]
    assert events.MigrationsCompleted(NEW, 1) in got
    assert names(got).index("SpecUpgraded") < names(got).index("MigrationsCompleted")
    assert (storage_version(view, "session"), storage_version(view, "evidence")) == (1, 1)
    for who in THREE:
        assert session.key_owner.get(view, acct(who)) == acct(who)
    assert session.key_owner.get(view, acct("ferdie")) == acct("alice")
    assert REPORTS_V0.get(view, offence) is None
    assert evidence.offences.contains(view, evidence.offence_key(acct("alice"), BLOCK_EQUIVOCATION, slot))
    # the same offence under the account's old key is the same offence: reported once
    assert_noop(chain, "charlie", "evidence.report_block_equivocation",
                *enc(header("alice", slot=slot, root=3), header("ferdie", slot=slot, root=4)), error="DuplicateReport")
    assert_ok(chain.submit("bob", "system.remark", b"after"))


def test_a_transaction_signed_under_spec_11_is_refused_from_the_boundary_and_costs_nothing() -> None:
    chain = spec11_chain()
    schedule(chain, chain.number + 3)  # the schedule's own block is the next
    old_xt = chain.sign("bob", "system.remark", b"spec 11")
    assert chain.runtime.spec_version == OLD
    chain.run_block([])  # the last spec-11 block
    bob = chain.account("bob")
    assert chain.runtime.spec_version == NEW
    with pytest.raises(InvalidExtrinsic, match="bad signature"):
        _validate(chain, old_xt)
    chain.run_block([])
    assert chain.account("bob") == bob
    assert_ok(chain.submit("bob", "system.remark", b"spec 12"))


def _validate(chain: TestChain, xt) -> int:  # type: ignore[no-untyped-def]
    from runtime.context import BlockEnv
    from tests.support.runtime_builder import SLOT_MS

    n = chain.number + 1
    env = BlockEnv(n, chain.parent_hash, n, 1_000_000 + (chain.slot + 1) * SLOT_MS + chain.time_offset_ms, chain.author)
    return chain.executive.validate_transaction(chain.backend, env, xt, len(xt.encode())).fee


# --- migrations over many blocks, and failures -------------------------------------------------------------------

PREFIX = b"test-migration/"


def _slow_step(state: Overlay, cursor: bytes, limit: int) -> tuple[bytes | None, int]:
    start = int.from_bytes(cursor or b"\x00", "big")
    end = min(10, start + limit)
    for i in range(start, end):
        state.set(PREFIX + bytes([i]), b"done")
    return (None if end == 10 else end.to_bytes(1, "big")), end - start


def with_migrations(*migrations: Migration, versions: dict[str, int] | None = None) -> TestChain:
    chain = spec11_chain()
    own = replace(runtime_of(NEW), migrations=migrations,
                  storage_versions=versions if versions is not None else {m.module: m.to_version for m in migrations})
    chain.spec_runtimes[NEW] = own
    return chain


def test_migrations_that_do_not_fit_run_over_blocks_carrying_inherents_only_and_refusing_for_free() -> None:
    budget = 2_000_000 * 3 // 4
    slow = Migration("session", 0, 1, "test: ten heavy items", _slow_step, item_weight=budget // 3,
                     count=lambda state: 10 - sum(1 for _ in state.iterate(PREFIX)))
    chain = with_migrations(slow)
    at = chain.number + 2
    schedule(chain, at)
    run_to(chain, at)
    blocks, taken = 1, []
    while system.migration.get(chain.view()) is not None:
        cursor = system.migration.get(chain.view())
        assert cursor is not None and cursor.spec == NEW and cursor.since == at
        bob = chain.account("bob")
        xt = chain.sign("bob", "system.remark", b"during")
        with pytest.raises(ChainMigrating):
            _validate(chain, xt)  # the pool refuses it before any fee
        ex = chain.begin_block()
        if ex.migrating:
            with pytest.raises(ChainMigrating):
                chain.executive.apply_extrinsic(ex, xt, len(xt.encode()))  # and so does the block
        else:  # the migrations end in this block: what is left of it takes transactions again
            taken.append(chain.executive.apply_extrinsic(ex, xt, len(xt.encode())).success)
        chain.end_block()
        blocks += 1
        if ex.migrating:
            assert chain.account("bob") == bob
        assert blocks < 10
    assert (blocks, taken) == (5, [True])  # two items a block (the budget less the step's base weight), ten items
    assert sum(1 for _ in chain.view().iterate(PREFIX)) == 10
    got = all_events(chain)
    assert events.MigrationCompleted("session", 1, "test: ten heavy items", 10, 5) in got
    assert events.MigrationsCompleted(NEW, 5) in got
    assert_ok(chain.submit("bob", "system.remark", b"after"))


def _failing_step(state: Overlay, cursor: bytes, limit: int) -> tuple[bytes | None, int]:
    state.set(PREFIX + b"half", b"written")
    raise ValueError("a record it cannot read")


@pytest.mark.parametrize("case", ["raises", "wrong from-version", "version no migration reaches"])
def test_a_failing_migration_stops_the_chain_before_its_block_and_writes_nothing(case: str) -> None:
    if case == "raises":
        chain = with_migrations(Migration("session", 0, 1, "test: fails", _failing_step, 40, lambda s: 1))
        why = "ValueError: a record it cannot read"
    elif case == "wrong from-version":
        chain = with_migrations(Migration("session", 1, 2, "test: from 1", _slow_step, 40, lambda s: 1))
        why = "session is at storage version 0, the migration takes it from 1"
    else:
        chain = with_migrations(versions={"bonds": 1})
        why = "bonds is at storage version 0, spec 12 reads 1"
    at = chain.number + 2
    schedule(chain, at)
    run_to(chain, at - 1)
    before = chain.snapshot()
    with pytest.raises(MigrationFailed, match=why) as failed:
        chain.begin_block()
    assert failed.value.spec == NEW
    assert chain.snapshot() == before and chain.number == at - 1
    with pytest.raises(MigrationFailed):  # and again: the chain stays stopped there, it does not skip the block
        chain.begin_block()


def test_a_node_that_cannot_run_the_scheduled_spec_knows_from_the_schedule_and_stops_at_its_block(no_limit) -> None:
    chain = spec11_chain()
    schedule(chain, 20)
    specs.limit(OLD)
    assert specs.supported() == (OLD,)
    assert specs.runtime_for_block(chain.backend, 19).spec_version == OLD
    with pytest.raises(UnsupportedSpec, match="spec 12 from block 20.*install a btt-chain release that runs spec 12"):
        specs.runtime_for_block(chain.backend, 20)
    with pytest.raises(ValueError, match="runs specs 11 to"):
        specs.limit(OLD - 1)
