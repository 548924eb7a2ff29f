"""Upgrades (DESIGN, consensus item 7): governance schedules the next spec at a block; that block runs under the new
spec's rules, and its execution starts with the upgrade: `system.spec_version` takes the new spec and the new spec's
migrations run, in the block's migration budget, the state root committing to the result. Migrations that do not fit
go on in the blocks after, which carry the chain's inherents only (`Executive` refuses transactions while
`system.migration` is present). Which spec runs a block is read from its parent's state
(`runtime.specs.spec_for_block`).
"""

from __future__ import annotations

from dataclasses import dataclass

from runtime.context import CallContext
from runtime.dispatch import Runtime
from runtime.errors import MigrationFailed
from runtime.overlay import Overlay

from .migration import Migration
from .storage_version import put_storage_version, storage_version
from .system import errors, events
from .system import storage as system
from .system.types import MigrationCursor, ScheduledSpec

FIRST_RECORDED = 11
"""The spec of a state that records none (`runtime.specs` keeps the same figure for the node)."""
MIGRATION_BUDGET_NUM, MIGRATION_BUDGET_DEN = 3, 4
"""The share of a block's weight limit its migrations may use (the rest stays for the block's hooks and, once they
end, its transactions)."""


def running_spec(state: Overlay) -> int:
    """The spec that ran the last block."""
    spec = system.spec_version.get(state)
    return FIRST_RECORDED if spec is None else spec


def schedule(ctx: CallContext, spec: int, at: int) -> None:
    """Schedule `spec` (the one after the spec running) to take effect at block `at` (after this one)."""
    current = running_spec(ctx.state)
    if spec != current + 1:
        raise errors.SpecNotNext(f"spec {current} runs: only spec {current + 1} may be scheduled, not {spec}")
    if at <= ctx.env.number:
        raise errors.UpgradeInThePast(f"block {at} is not after this block ({ctx.env.number})")
    scheduled = system.scheduled_spec.get(ctx.state)
    if scheduled is not None:
        raise errors.UpgradeAlreadyScheduled(f"spec {scheduled.spec} is scheduled at block {scheduled.at}")
    if system.migration.get(ctx.state) is not None:
        raise errors.UpgradeUnderWay()
    system.scheduled_spec.put(ctx.state, ScheduledSpec(spec, at))
    ctx.emit(events.SpecScheduled(spec, at))


def cancel(ctx: CallContext) -> None:
    scheduled = system.scheduled_spec.get(ctx.state)
    if scheduled is None:
        raise errors.NoUpgradeScheduled()
    system.scheduled_spec.kill(ctx.state)
    ctx.emit(events.SpecCancelled(scheduled.spec, scheduled.at))


@dataclass
class UpgradeStep:
    """What the upgrade did in a block: the weight its migrations used, and whether they go on after it."""

    weight: int = 0
    migrating: bool = False


def begin_block(ctx: CallContext, runtime: Runtime) -> UpgradeStep:
    """The upgrade's part of a block, before any module's hook: take effect if this block is the scheduled one, then
    run migrations within the budget. MigrationFailed stops the chain here (see `runtime.migration`)."""
    state = ctx.state
    if ctx.env.speculative:  # a transaction checked against the next block: the upgrade happens in the block only
        return UpgradeStep(0, system.migration.get(state) is not None)
    scheduled = system.scheduled_spec.get(state)
    if scheduled is not None and ctx.env.number >= scheduled.at:
        if scheduled.spec != runtime.spec_version:
            raise MigrationFailed(scheduled.spec, "(upgrade)",
                                  f"block {ctx.env.number} is executed by spec {runtime.spec_version}'s rules")
        previous = running_spec(state)
        system.spec_version.put(state, scheduled.spec)
        system.scheduled_spec.kill(state)
        ctx.emit(events.SpecUpgraded(previous, scheduled.spec))
        system.migration.put(state, MigrationCursor(scheduled.spec, 0, b"", ctx.env.number))
    cursor = system.migration.get(state)
    if cursor is None:
        return UpgradeStep()
    budget = ctx.param("block.max_weight") * MIGRATION_BUDGET_NUM // MIGRATION_BUDGET_DEN
    return run_migrations(ctx, runtime, cursor, budget)


def run_migrations(ctx: CallContext, runtime: Runtime, at: MigrationCursor, budget: int) -> UpgradeStep:
    """Run the spec's migrations from `at` until they end or `budget` is used; keep the cursor for the next block."""
    state = ctx.state
    migrations: tuple[Migration, ...] = tuple(runtime.migrations)
    used = 0
    index, cursor, done_items = at.index, at.cursor, at.items
    while index < len(migrations):
        m = migrations[index]
        if not cursor:
            found = storage_version(state, m.module)
            if found == m.to_version:  # done already (a chain whose genesis recorded it)
                index += 1
                continue
            if found != m.from_version:
                raise MigrationFailed(at.spec, m.name, f"{m.module} is at storage version {found}, the migration "
                                                        f"takes it from {m.from_version}")
        room = budget - used - m.base_weight
        if room < m.item_weight and used:  # this block is full: go on in the next
            break
        limit = max(1, room // m.item_weight)
        try:
            after, items = m.step(state, cursor, limit)
        except MigrationFailed:
            raise
        except Exception as exc:  # noqa: BLE001 - any fault of a migration stops the chain, named
            raise MigrationFailed(at.spec, m.name, f"{type(exc).__name__}: {exc}") from exc
        used += m.base_weight + items * m.item_weight
        done_items += items
        if after is None:
            put_storage_version(state, m.module, m.to_version)
            ctx.emit(events.MigrationCompleted(m.module, m.to_version, m.name, done_items,
                                               ctx.env.number - at.since + 1))
            index, cursor, done_items = index + 1, b"", 0
        else:
            cursor = after
    if index < len(migrations):
        system.migration.put(state, MigrationCursor(at.spec, index, cursor, at.since, done_items))
        return UpgradeStep(used, True)
    check_storage_versions(state, runtime, at.spec)
    system.migration.kill(state)
    ctx.emit(events.MigrationsCompleted(at.spec, ctx.env.number - at.since + 1))
    return UpgradeStep(used, False)


def check_storage_versions(state: Overlay, runtime: Runtime, spec: int) -> None:
    """Every module is where the spec's code expects it (`Runtime.storage_versions`): a declared version no
    migration reached is a fault of the spec, and stops the chain rather than let its code misread records."""
    for module in runtime.modules:
        want = runtime.storage_versions.get(module.name, 0)
        found = storage_version(state, module.name)
        if found != want:
            raise MigrationFailed(spec, "(storage versions)",
                                  f"{module.name} is at storage version {found}, spec {spec} reads {want}")


def write_genesis_versions(state: Overlay, runtime: Runtime) -> None:
    """A chain born at this spec records it and its modules' storage versions (absent for a spec-11 genesis)."""
    if runtime.spec_version == FIRST_RECORDED:
        return
    system.spec_version.put(state, runtime.spec_version)
    for module in runtime.modules:
        version = runtime.storage_versions.get(module.name, 0)
        if version:
            put_storage_version(state, module.name, version)
