"""Where the runtime gets a model's weights: a process-wide source the node installs (its content store), which
starts with the shipped reference models.

The blob is outside the state, so a node may lack it. Then `model(spec)` raises WeightsUnavailable: neither a
failed call nor an invalid block (that would make state depend on what a node happens to hold), but "cannot
execute this yet". Block import stops without judging the block and the node fetches the blob by hash from its
peers; the author leaves the extrinsic in the pool. Every blob a source returns is checked against the spec's
weights hash, so what executes is the same on every node.
"""

from __future__ import annotations

import functools
import threading
from typing import Protocol

from btt_chain.primitives.errors import BttError
from runtime.compute.errors import MalformedWeights
from runtime.compute.model import Model, ModelSpec, parse_weights


class WeightsUnavailable(BttError):
    """This node does not hold the weights blob of a model it must execute (not a fault of the block)."""

    def __init__(self, weights_hash: bytes, size: int = 0) -> None:
        super().__init__(f"the weights 0x{weights_hash.hex()} ({size} bytes) are not held by this node yet")
        self.weights_hash = weights_hash
        self.size = size


class WeightsSource(Protocol):
    def get_weights(self, weights_hash: bytes) -> bytes | None:
        """The blob whose weights hash is `weights_hash`, or None."""


class _Shipped:
    def get_weights(self, weights_hash: bytes) -> bytes | None:
        from runtime.compute.reference import reference_blobs

        return reference_blobs().get(weights_hash)


_lock = threading.Lock()
_source: WeightsSource = _Shipped()
_missing: dict[bytes, int] = {}
"""weights hash -> size of every blob execution asked for and did not find (the node fetches these)."""


def install(source: WeightsSource) -> None:
    """Make `source` the process's weights source (it should fall back to the shipped models itself)."""
    global _source
    with _lock:
        _source = source
    _model.cache_clear()


def installed() -> WeightsSource:
    """The process's weights source now (a node puts it back when it closes)."""
    return _source


def shipped() -> WeightsSource:
    return _Shipped()


def has(spec: ModelSpec) -> bool:
    """Whether the blob of `spec` is held here (well-formed or not). A source with a `has(weights_hash)` of its own
    (the node's content store) answers without reading the blob: listing many large models reads no weights."""
    held = getattr(_source, "has", None)
    if held is None:
        try:
            model(spec)
        except WeightsUnavailable:
            return False
        except MalformedWeights:
            return True
        return True
    if held(spec.weights_hash):
        return True
    with _lock:
        _missing[spec.weights_hash] = spec.weights_size
    return False


def model(spec: ModelSpec) -> Model:
    """The parsed model of a registered `spec`; WeightsUnavailable if its blob is not held (recorded for
    `take_missing`)."""
    try:
        return _model(spec)
    except WeightsUnavailable:
        with _lock:
            _missing[spec.weights_hash] = spec.weights_size
        raise


_malformed: dict[ModelSpec, str] = {}
"""Specs whose blob (matching the hash) does not parse, with why: judged once (bounded by MAX_MALFORMED)."""
MAX_MALFORMED = 64


@functools.lru_cache(maxsize=16)
def _model(spec: ModelSpec) -> Model:
    why = _malformed.get(spec)
    if why is not None:
        raise MalformedWeights(why)
    blob = _source.get_weights(spec.weights_hash)
    if blob is None:
        raise WeightsUnavailable(spec.weights_hash, spec.weights_size)
    try:
        return parse_weights(spec, blob)
    except ValueError as exc:
        # the owner registered a hash of bytes that are not this spec's weights: every node that holds them (and,
        # having fetched them, every other node) reaches this same verdict, so it is a failed call, not a fork
        why = f"the weights of model {spec.name} do not fit its spec: {exc}"
        with _lock:
            if len(_malformed) >= MAX_MALFORMED:
                _malformed.pop(next(iter(_malformed)))
            _malformed[spec] = why
        raise MalformedWeights(why) from None


def forget(weights_hash: bytes) -> None:
    """Drop cached models (after a blob is removed from the source)."""
    _model.cache_clear()


def take_missing() -> dict[bytes, int]:
    """The blobs execution lacked since the last call (weights hash -> size), and clear the record."""
    with _lock:
        out = dict(_missing)
        _missing.clear()
    return out
