"""Which weights blobs the chain needs, and keeping them: every registered model's blob is kept for good (a node
syncing from genesis replays the blocks that use it and must be able to fetch it) and fetched in the background as
soon as its registration is seen, so it is here before any job needs it; blobs no model names are dropped once the
content store's grace period has passed (`storage.content`).

Registered models are read from the head state once at start (each registration costs its owner a deposit, so there
are few) and followed through `ModelRegistered` events after that. A registration a reorganisation undid stays
needed until the node restarts: keeping a blob too long costs disk, dropping one too early stalls imports.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from btt_chain.node.chain import ImportedBlock
from runtime.compute import storage as compute
from runtime.compute.events import ModelRegistered
from runtime.events import is_event
from runtime.overlay import Overlay
from storage.content import ContentStore

RETAIN_INTERVAL_S = 300.0
"""How often blobs no model names are looked at for dropping."""


class StateSource(Protocol):
    def state(self) -> Overlay: ...


class ModelWeights:
    """The registered models' blobs as the node's content store should keep them."""

    def __init__(self, chain: StateSource, store: ContentStore, clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.clock = clock
        self.needed: dict[bytes, int] = {
            reg.spec.weights_hash: reg.spec.weights_size for _, reg in compute.models.items(chain.state())
        }
        """Weights hash -> size of every registered model's blob."""
        store.mark_needed(self.needed)
        self._retained_at: float | None = None

    def on_block(self, imported: ImportedBlock) -> None:
        """Follow registrations (a head listener)."""
        if imported.result is None:
            return  # enacted again from its redo journal: its registrations were seen when it first executed
        events = imported.result.events
        fresh = {ev.weights_hash: ev.weights_size for _, ev in events if is_event(ev, ModelRegistered)}
        if fresh:
            self.needed.update(fresh)
            self.store.mark_needed(fresh)

    def missing(self) -> list[bytes]:
        """Registered models' blobs this node does not hold yet."""
        return [h for h in self.needed if not self.store.has(h)]

    def retain_if_due(self) -> list[bytes]:
        """Drop blobs no registered model names and older than the grace period, at most every RETAIN_INTERVAL_S;
        the hashes dropped."""
        now = self.clock()
        if self._retained_at is not None and now - self._retained_at < RETAIN_INTERVAL_S:
            return []
        self._retained_at = now
        return self.store.retain(self.needed)
