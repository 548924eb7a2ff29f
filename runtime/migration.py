"""Migrations: how an upgrade brings the state from one spec's records to the next's (Substrate's `OnRuntimeUpgrade`
with a `StorageVersion` per pallet, and its multi-block migrations).

A migration takes one module from storage version `from_version` to `to_version`. It is a pure function of the
state, run in steps: `step(state, cursor, limit)` does at most `limit` items from `cursor` (empty: the start) and
returns where to go on (None: done) and how many items it did. Each item weighs `item_weight` (weight units: one is a
microsecond of import on the reference host, measured by `btt-chain bench upgrade`), so the runner fits the steps in
a block's migration budget: a migration that does not fit runs on over the blocks after, which then carry the chain's
inherents only (`runtime.upgrade`). A migration that raises stops the chain there (`MigrationFailed`), before any
block records a half-done state: no node imports or authors that block, so nothing forks, and a release whose
migration succeeds goes on from the same place."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from runtime.overlay import Overlay

StepFn = Callable[[Overlay, bytes, int], tuple[bytes | None, int]]
"""(state, cursor, most items to do) -> (cursor to go on from or None when done, items done)."""
CountFn = Callable[[Overlay], int]
"""(state) -> how many items the migration has left: for the upgrade's plan and `btt-chain try-upgrade`."""


@dataclass(frozen=True)
class Migration:
    """One module's step from one storage version to the next."""

    module: str
    from_version: int
    to_version: int
    name: str
    """What it does, in a few words (`session: every key's owner recorded`)."""
    step: StepFn
    item_weight: int
    """Weight units of one item (measured); a step of n items weighs `base_weight + n * item_weight`."""
    count: CountFn
    base_weight: int = 10
    """Weight of a step besides its items (reading the cursor, writing the version)."""

    def __post_init__(self) -> None:
        if self.to_version != self.from_version + 1:
            raise ValueError(f"migration {self.name!r} takes {self.module} from {self.from_version} to "
                             f"{self.to_version}: one version at a time")
        if self.item_weight <= 0:
            raise ValueError(f"migration {self.name!r} has item weight {self.item_weight}: every item costs")
