"""What the next spec's migrations cost per item: a benchmark, not a test.

Run: `btt-chain bench upgrade [--validators N] [--offences N] [--runs R]`.

A synthetic spec-11 state, written with spec 11's own storage items (`runtime.specs.package_module(11, ...)`):
N validator registrations (`bonds.validators`), the first 1,000 of them in the active and the queued set, none of
their session keys in `session.key_owner` (spec 11 recorded only rotated keys), and N offences that spec 11's
evidence module reported under the signing session key (`evidence.reports`, `REPORTS_V0`). The state lies in LevelDB
as a node keeps its flat state (`storage.chaindb.FlatState`), with the state tree loaded from it.

Each migration of the next spec then runs as a node importing a block that runs it would: its step on an overlay
over the flat state (execution), then its writes through the state tree (the state root) and into the database
(the flat state and the tree's leaves). Its time per item is what one item of the migration weighs in weight units
(one is a microsecond of import on the reference host, a 2-core machine of this project's CI kind): the weight
printed is the fastest of `--runs` one-step runs times 1.3, rounded up (`MARGIN_NUM / MARGIN_DEN`), the margin
the compute weights are fitted with (`runtime/compute/weights.py`: every sample, the fastest of its runs, covered
1.3 times). Per-item costs grow with the state (LevelDB's levels, the tree's depth): measure at the largest state
a chain may hold, and take the largest weight.

Each migration runs once more in the steps a block's migration budget holds at that weight (`block.max_weight`
times `runtime.upgrade`'s 3/4), one block each, the longest of those blocks printed beside its weight: a migration
whose step rereads all it has left (its time growing with what is left, not with the step) shows as a block far
longer than its weight. (Both did before their cursors were real: 300,000 keys, steps of 88,234, a 6.5 s block
weighing 1.5 s.)
"""

from __future__ import annotations

import math
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from runtime.migration import Migration
from runtime.overlay import DictState, Overlay
from runtime.specs import package_module, runtime_of
from runtime.upgrade import MIGRATION_BUDGET_DEN, MIGRATION_BUDGET_NUM
from storage import schema
from storage.chaindb import FlatState
from storage.leveldb import LevelDBStore
from storage.state_tree import TREE_LEAF_BUDGET, StateTree, leaf_records, put_leaves

FROM_SPEC = 11
MARGIN_NUM, MARGIN_DEN = 13, 10
"""Weight = measured microseconds times 1.3, rounded up (as the compute weights)."""
SET_SIZE = 1000
"""Validators in the active and in the queued set (spec 11's `session.MAX_VALIDATORS`)."""
WRITE_BATCH = 100_000
BASE_WEIGHT = Migration.base_weight
"""A step's weight besides its items (both migrations keep `Migration`'s default)."""


@dataclass(frozen=True)
class Block:
    """One block's run of a migration step: items done, seconds executing the step, seconds committing its writes
    (state root, flat state and leaves written)."""

    items: int
    execute_s: float
    commit_s: float

    @property
    def seconds(self) -> float:
        return self.execute_s + self.commit_s


def spec11_state(validators: int, offences: int, seed: int = 1) -> dict[bytes, bytes]:
    """The synthetic spec-11 state (see the module's docstring), written by spec 11's storage items."""
    rng = random.Random(seed)
    bonds = package_module(FROM_SPEC, "runtime.bonds.storage")
    bond_types = package_module(FROM_SPEC, "runtime.bonds.types")
    session = package_module(FROM_SPEC, "runtime.session.storage")
    session_types = package_module(FROM_SPEC, "runtime.session.types")
    evidence = package_module(FROM_SPEC, "runtime.evidence.storage")
    state = Overlay(DictState())
    keys: list[bytes] = []
    infos = []
    for i in range(validators):
        account, key = rng.randbytes(32), rng.randbytes(32)
        bonds.validators.put(state, account, bond_types.ValidatorRegistration(key, rng.randbytes(32), account))
        keys.append(key)
        if i < SET_SIZE:
            infos.append(session_types.ValidatorInfo(account, key, 10**21, account))
    session.validators.put(state, tuple(infos))
    session.queued.put(state, tuple(infos))
    for i in range(offences):
        # most under a registered key; one in ten under a key nobody names (kept under the key itself)
        key = keys[i % len(keys)] if keys and i % 10 else rng.randbytes(32)
        evidence.reports.put(state, key + bytes([i % 2]) + (1_000 + i).to_bytes(8, "big"), 1_000 + i)
    return {k: v for k, v in state.changes().items() if v is not None}


class Database:
    """A state in LevelDB under a temporary directory, read as a node reads its head state, with its state tree."""

    def __init__(self, directory: Path, state: dict[bytes, bytes]) -> None:
        self.kv = LevelDBStore(directory / "db")
        items = sorted(state.items())
        for at in range(0, len(items), WRITE_BATCH):
            self.kv.write({schema.STATE + k: v for k, v in items[at:at + WRITE_BATCH]})
        self.flat = FlatState(self.kv)
        self.tree = StateTree(self.kv, TREE_LEAF_BUDGET)
        self.tree.load_records(leaf_records(state))

    def run_block(self, step: Callable[[Overlay], int]) -> Block:
        """Execute `step` on an overlay over the state (returning its items), then commit its writes."""
        view = Overlay(self.flat)
        start = time.perf_counter()
        items = step(view)
        executed = time.perf_counter()
        changes = view.changes()
        with self.tree.transaction() as tx:
            self.tree.update(changes)
            puts: dict[bytes, bytes] = {}
            deletes: list[bytes] = []
            put_leaves(puts, deletes, changes)
            for k, v in changes.items():
                if v is None:
                    deletes.append(schema.STATE + k)
                else:
                    puts[schema.STATE + k] = v
            self.kv.write(puts, deletes)
            self.flat.changed(changes)
            tx.commit()
        return Block(items, executed - start, time.perf_counter() - executed)

    def close(self) -> None:
        self.kv.close()


def migrate(db: Database, m: Migration, limit: int) -> Iterator[Block]:
    """Run `m` to its end, one step of at most `limit` items a block."""
    cursor: bytes | None = b""
    while cursor is not None:
        at = cursor

        def step(view: Overlay, at: bytes = at) -> int:
            nonlocal cursor
            cursor, items = m.step(view, at, limit)
            return items

        yield db.run_block(step)


def weight_of(us_per_item: float) -> int:
    return math.ceil(us_per_item * MARGIN_NUM / MARGIN_DEN)


def largest_step(item_weight: int, max_weight: int) -> int:
    """The items of the largest step a block's migration budget holds (the runner's `limit`)."""
    budget = max_weight * MIGRATION_BUDGET_NUM // MIGRATION_BUDGET_DEN
    return max(1, (budget - BASE_WEIGHT) // item_weight)


@dataclass(frozen=True)
class Figures:
    """One migration's figures: µs per item in one step (each run's execution and commit), the weight they imply,
    and the run in the steps a block holds at that weight."""

    name: str
    items: int
    runs: tuple[tuple[float, float], ...]
    """(execution, commit) µs per item, one pair a run."""
    item_weight: int
    """The migration's `item_weight` now."""
    max_weight: int
    blocks: tuple[Block, ...] = ()

    @property
    def fastest(self) -> tuple[float, float]:
        return min(self.runs, key=sum)

    @property
    def median(self) -> float:
        return statistics.median(sum(r) for r in self.runs)

    @property
    def weight(self) -> int:
        """The weight per item: the fastest run times the margin, rounded up."""
        return weight_of(sum(self.fastest))

    def rows(self) -> list[tuple[str, str]]:
        execute, commit = self.fastest
        limit = largest_step(self.weight, self.max_weight)
        rows = [(self.name, f"{self.items:,} items in one step, the fastest of {len(self.runs)}: "
                            f"{execute + commit:.1f} us/item ({execute:.1f} executing + {commit:.1f} committing); "
                            f"median {self.median:.1f}"),
                (f"{self.name}: weight", f"{self.weight} per item (x{MARGIN_NUM / MARGIN_DEN}, rounded up; the "
                                         f"migration says {self.item_weight}): steps of up to {limit:,} items a "
                                         f"block at block.max_weight {self.max_weight:,}")]
        if self.blocks:
            longest = max(self.blocks, key=lambda b: b.seconds)
            weighs = (BASE_WEIGHT + longest.items * self.weight) / 1e6
            rows.append((f"{self.name}: in such steps",
                         f"{len(self.blocks)} block(s); the longest {longest.seconds * 1e3:.0f} ms for "
                         f"{longest.items:,} items ({longest.execute_s * 1e3:.0f} executing), weighing "
                         f"{weighs * 1e3:.0f} ms ({weighs / longest.seconds:.2f} x its time)"))
        return rows


def measure(validators: int, offences: int, runs: int, max_weight: int, to_spec: int = FROM_SPEC + 1,
            workdir: Path | None = None) -> list[Figures]:
    """Each migration of `to_spec` with items in the synthetic state: its figures (see `Figures`). The migrations
    run in the spec's order on one database (the evidence migration reads the owners the session's records)."""
    migrations: tuple[Migration, ...] = tuple(runtime_of(to_spec).migrations)
    state = spec11_state(validators, offences)
    samples: dict[str, list[tuple[float, float, int]]] = {m.name: [] for m in migrations}
    with tempfile.TemporaryDirectory(prefix="btt-bench-upgrade-", dir=workdir) as tmp:
        for run in range(runs):
            db = Database(Path(tmp) / f"one-step-{run}", state)
            try:
                for m in migrations:
                    blocks = list(migrate(db, m, 1 << 62))
                    items = sum(b.items for b in blocks)
                    if items:
                        samples[m.name].append((sum(b.execute_s for b in blocks) * 1e6 / items,
                                                sum(b.commit_s for b in blocks) * 1e6 / items, items))
            finally:
                db.close()
        figures = [Figures(m.name, runs_of[0][2], tuple((e, c) for e, c, _ in runs_of), m.item_weight, max_weight)
                   for m in migrations if (runs_of := samples[m.name])]
        by_name = {f.name: f for f in figures}
        db = Database(Path(tmp) / "stepped", state)
        try:
            for m in migrations:
                f = by_name.get(m.name)
                limit = 1 << 62 if f is None else largest_step(f.weight, max_weight)
                stepped = tuple(migrate(db, m, limit))  # one with nothing to measure still runs, as the chain's would
                if f is not None:
                    by_name[m.name] = replace(f, blocks=stepped)
        finally:
            db.close()
    return list(by_name.values())
