"""The trial of an upgrade on a head state (`btt-chain try-upgrade`, Substrate try-runtime's `on-runtime-upgrade`).

The next spec's upgrade is run by the chain's own code, as the chain would run it: the spec is scheduled at the block
after the head (in an overlay: nothing reaches the state read), and block after block `runtime.upgrade.begin_block`
takes effect and runs the spec's migrations in the migration budget of the chain's `block.max_weight`, until they
end. So the blocks counted are those the chain would take, and the migrations' cursors are used as they would be.
Each migration's steps are timed and weighed as the runner weighs them.

Then the checks a sound upgrade must pass: every module at the storage version the new spec reads (the runner
refuses to finish otherwise), nothing left for any migration to do, and the new spec's runtime invariants and
compute's books on the result; the old spec's invariants on the head state first, so that a fault already there is
not taken for the upgrade's.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from btt_chain.primitives.errors import BttError
from runtime.context import BlockEnv, CallContext
from runtime.dispatch import Runtime
from runtime.errors import MigrationFailed
from runtime.migration import Migration
from runtime.overlay import Overlay, StateReader
from runtime.specs import NEWEST, OLDEST, PACKAGES, package_module, running_spec, runtime_of, scheduled_spec
from runtime.storage_version import storage_version
from runtime.system import storage as system
from runtime.system.types import ScheduledSpec
from runtime.upgrade import MIGRATION_BUDGET_DEN, MIGRATION_BUDGET_NUM, begin_block, check_storage_versions


class NothingToTry(BttError):
    """There is no upgrade to try on this chain: it runs the newest spec this release has, or one is under way."""


class UpgradeTrialFailed(BttError):
    """The upgrade tried on a copy of the database failed: a migration raised, or a check broke afterwards."""


@dataclass
class MigrationRun:
    """One migration as the trial ran it."""

    migration: Migration
    spec: int
    name: str
    module: str
    from_version: int
    to_version: int
    counted: int
    """Items its `count` found before it ran: the work it had left (its steps may do more items, passing some that
    need no work)."""
    items: int = 0
    steps: int = 0
    seconds: float = 0.0
    weight: int = 0
    """As the runner weighs it: each step's `base_weight` plus its items times `item_weight`."""
    first_block: int | None = None
    last_block: int | None = None

    @property
    def blocks(self) -> int:
        if self.first_block is None or self.last_block is None:
            return 0
        return self.last_block - self.first_block + 1


@dataclass(frozen=True)
class Check:
    name: str
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class UpgradeTrial:
    """What the trial did and found."""

    head: int
    from_spec: int
    to_spec: int
    max_weight: int
    """The chain's `block.max_weight` at the head (its migrations may use `budget` of it a block)."""
    migrations: list[MigrationRun] = field(default_factory=list)
    blocks: int = 0
    longest_block_weight: int = 0
    seconds: float = 0.0
    checks: list[Check] = field(default_factory=list)
    failure: str | None = None
    """A migration that raised, or the runner's refusal (storage versions), in its own words."""
    scheduled: ScheduledSpec | None = None
    """The upgrade the chain has scheduled at the head, if any (the trial takes its spec at the next block)."""
    state: Overlay | None = field(default=None, repr=False)
    """The upgraded state: the overlay the trial wrote, over the state it read."""

    @property
    def budget(self) -> int:
        return self.max_weight * MIGRATION_BUDGET_NUM // MIGRATION_BUDGET_DEN

    @property
    def ok(self) -> bool:
        return self.failure is None and all(c.ok for c in self.checks)

    def first_fault(self) -> str | None:
        if self.failure is not None:
            return self.failure
        for c in self.checks:
            if not c.ok:
                more = f" (and {len(c.problems) - 1} more)" if len(c.problems) > 1 else ""
                return f"{c.name}: {c.problems[0]}{more}"
        return None


def target_spec(running: int, to: int | None) -> int:
    """The spec to try: `to`, or the one after the spec running; NothingToTry when there is none to go to."""
    if to is None:
        if running >= NEWEST:
            raise NothingToTry(f"the chain already runs spec {running}, the newest this release has: there is no "
                               "upgrade to try")
        return running + 1
    check_known(to)
    if to <= running:
        raise NothingToTry(f"the chain already runs spec {running}: --to {to} is no upgrade")
    return to


def check_known(spec: int | None) -> None:
    """NothingToTry when this release has no spec `spec` (None: the default, always known)."""
    if spec is not None and spec not in PACKAGES:
        raise NothingToTry(f"this release has no spec {spec} (it runs specs {OLDEST} to {NEWEST})")


def try_upgrade(backend: StateReader, head: int, head_hash: bytes, to: int | None = None,
                clock: Callable[[], float] = time.perf_counter) -> UpgradeTrial:
    """Upgrade the state `backend` (the head's, block `head`) to spec `to` (default: the next) in an overlay, as the
    chain would in the blocks after the head, and check the result. Writes nothing to `backend`."""
    state = Overlay(backend)
    running = running_spec(state)
    target = target_spec(running, to)
    under_way = system.migration.get(state)
    if under_way is not None:
        raise NothingToTry(f"spec {under_way.spec}'s migrations are under way since block {under_way.since}: the "
                           "chain is upgrading already")
    trial = UpgradeTrial(head, running, target, _max_weight(state, running), scheduled=scheduled_spec(state),
                         state=state)
    trial.checks += _invariants(state, running, "at the head")
    started = clock()
    number = head + 1
    try:
        for spec in range(running + 1, target + 1):
            number = _upgrade(state, spec, number, head_hash, trial, clock)
    except MigrationFailed as exc:
        trial.failure = str(exc)
    trial.seconds = clock() - started
    if trial.failure is None:
        trial.checks.append(_storage_versions(state, target))
        trial.checks.append(_nothing_left(state, trial))
        trial.checks += _invariants(state, target, "after the upgrade")
    return trial


def _max_weight(state: Overlay, spec: int) -> int:
    get_param: Callable[[Overlay, str], int] = package_module(spec, "runtime.params.storage").get_param
    return get_param(state, "block.max_weight")


def _upgrade(state: Overlay, spec: int, number: int, parent_hash: bytes, trial: UpgradeTrial,
             clock: Callable[[], float]) -> int:
    """Take `spec` from block `number` on, block after block until its migrations end; the next block's number."""
    runtime = runtime_of(spec)
    runs: list[MigrationRun] = []
    steps: list[Migration] = []
    block = [number]
    for m in runtime.migrations:
        run = MigrationRun(m, spec, m.name, m.module, m.from_version, m.to_version, 0)
        if not past(state, runtime, m):  # one the runner passes by runs no step: nothing of it to count or show
            try:
                run.counted = m.count(state)
            except Exception as exc:  # noqa: BLE001 - a count that fails is the migration's fault, named
                raise MigrationFailed(spec, m.name, f"counting its items: {type(exc).__name__}: {exc}") from exc
            runs.append(run)
        steps.append(_timed(m, run, block, clock))
    trial.migrations += runs
    timed = _running(runtime, tuple(steps))
    system.scheduled_spec.put(state, ScheduledSpec(spec, number))
    while True:
        before = system.migration.get(state)
        ctx = CallContext(state, BlockEnv(block[0], parent_hash, 0, 0, bytes(32)), timed)
        step = begin_block(ctx, timed)
        trial.blocks += 1
        trial.longest_block_weight = max(trial.longest_block_weight, step.weight)
        if not step.migrating:
            return block[0] + 1
        if system.migration.get(state) == before:
            raise MigrationFailed(spec, "(upgrade)", f"block {block[0]} made no progress: the migrations would "
                                                     "never end, and the chain would take no transaction again")
        block[0] += 1


def past(state: Overlay, runtime: Runtime, m: Migration) -> bool:
    """Whether `m`'s module is past the version `m` takes it to (a later migration's, or a later spec's genesis):
    the runner passes `m` by (`runtime.upgrade.run_migrations`) and its count, what it would do on its own from-version,
    is no work the upgrade leaves (a dev chain born at spec 14 or later keeps its own bounds of a parameter spec 14
    narrowed to btt-21m's). A module exactly at `m`'s to-version is still counted: a count left there is records of the
    version before, a version that claims what the state does not hold."""
    found = storage_version(state, m.module)
    return m.to_version < found <= runtime.storage_versions.get(m.module, 0)


def _running(runtime: Runtime, migrations: tuple[Migration, ...]) -> Runtime:
    """`runtime` with `migrations` for its own: a shallow copy, its tables shared. Not a new `Runtime`: building one
    binds the spec's stored-call classes (`Runtime.stored_calls`) to its table again, which is refused."""
    timed = copy.copy(runtime)
    timed.migrations = migrations
    return timed


def _timed(m: Migration, run: MigrationRun, block: list[int], clock: Callable[[], float]) -> Migration:
    """`m` whose steps are timed, counted and weighed into `run` (in the block `block[0]`)."""
    def step(state: Overlay, cursor: bytes, limit: int) -> tuple[bytes | None, int]:
        start = clock()
        try:
            return_value = m.step(state, cursor, limit)
        finally:
            run.seconds += clock() - start
        after, items = return_value
        run.items += items
        run.steps += 1
        run.weight += m.base_weight + items * m.item_weight
        run.first_block = block[0] if run.first_block is None else run.first_block
        run.last_block = block[0]
        return return_value

    return replace(m, step=step)


def _storage_versions(state: Overlay, spec: int) -> Check:
    """Every module at the version spec `spec` reads (the runner checked it as the migrations ended: again here)."""
    runtime = runtime_of(spec)
    name = f"every module at the storage version spec {spec} reads ({runtime_storage_versions(runtime)})"
    try:
        check_storage_versions(state, runtime, spec)
    except MigrationFailed as exc:
        return Check(name, (exc.why,))
    return Check(name)


def _nothing_left(state: Overlay, trial: UpgradeTrial) -> Check:
    """Every migration did at least the items its count found, and its count finds nothing left. (A count is the
    work left; a step may also pass items that need none, which it counts in the items it did, as the runner weighs
    them: the compute re-keying passes every open job's deadline entry, the committed jobs' too.)"""
    problems = []
    for run in trial.migrations:
        left = run.migration.count(state)
        if left:
            problems.append(f"{run.name!r} leaves {left} items undone")
        elif run.items < run.counted:
            problems.append(f"{run.name!r} counted {run.counted} items before it ran, and did {run.items}")
    return Check("every migration done, each of the items it counted", tuple(problems))


def _invariants(state: Overlay, spec: int, when: str) -> list[Check]:
    """Spec `spec`'s runtime invariants (`runtime.invariants`) and compute's books, apart."""
    books = tuple(package_module(spec, "runtime.compute.invariants").check_books(state))
    every = package_module(spec, "runtime.invariants").check_invariants(state)
    rest = tuple(p for p in every if p not in books)
    return [Check(f"spec {spec}'s runtime invariants {when}", rest),
            Check(f"spec {spec}'s compute books {when}", books)]


def runtime_storage_versions(runtime: Runtime) -> str:
    """`session 1, evidence 1`: what a spec reads, for the report."""
    return ", ".join(f"{k} {v}" for k, v in sorted(runtime.storage_versions.items()) if v) or "every module at 0"
