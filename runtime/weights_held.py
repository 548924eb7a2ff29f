"""The process's weights source, shared by every spec's runtime (`runtime.specs.SHARED`): which content store the
node installed and which blobs execution found missing. It holds no rule: each spec's `compute.weights_source`
parses and checks what it reads from here, so a node installs its store once whatever spec runs."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol


class WeightsSource(Protocol):
    def get_weights(self, weights_hash: bytes) -> bytes | None:
        """The blob whose weights hash is `weights_hash`, or None."""


_lock = threading.Lock()
_source: WeightsSource | None = None
"""None: each spec's shipped reference models only."""
_missing: dict[bytes, int] = {}
"""weights hash -> size of every blob execution asked for and did not find (the node fetches these)."""
_on_change: list[Callable[[], None]] = []
"""Each spec's parsed-model cache, cleared when the source changes or drops a blob."""


def install(source: WeightsSource | None) -> None:
    """Make `source` the process's weights source (None: the shipped models only)."""
    global _source
    with _lock:
        _source = source
    forget()


def installed() -> WeightsSource | None:
    return _source


def on_change(clear: Callable[[], None]) -> None:
    """Call `clear` whenever the source changes or drops a blob (a spec's cache of parsed models)."""
    _on_change.append(clear)


def forget(weights_hash: bytes = b"") -> None:
    """Drop every spec's cached models (after a blob is removed from the source)."""
    for clear in tuple(_on_change):
        clear()


def record_missing(weights_hash: bytes, size: int) -> None:
    with _lock:
        _missing[weights_hash] = size


def take_missing() -> dict[bytes, int]:
    """The blobs execution lacked since the last call (weights hash -> size), and clear the record."""
    with _lock:
        out = dict(_missing)
        _missing.clear()
    return out
