"""Where the runtime gets a model's weights: a process-wide source the node installs (its content store, held for
every spec in `runtime.weights_held`), which starts with the shipped reference models.

The blob is outside the state, so a node may lack it. Then `model(spec)` raises WeightsUnavailable: neither a
failed call nor an invalid block (that would make state depend on what a node happens to hold), but "cannot
execute this yet". Block import stops without judging the block and the node fetches the blob by hash from its
peers; the author leaves the extrinsic in the pool. Every blob a source returns is checked against the spec's
weights hash, so what executes is the same on every node.
"""

from __future__ import annotations

import functools
import threading

from runtime import weights_held
from runtime.errors import WeightsUnavailable
from runtime.weights_held import WeightsSource, forget, take_missing

from ..compute.errors import MalformedWeights
from ..compute.model import Model, ModelSpec, parse_weights

__all__ = ["WeightsSource", "WeightsUnavailable", "forget", "has", "install", "installed", "model", "shipped",
           "take_missing"]


class _Shipped:
    def get_weights(self, weights_hash: bytes) -> bytes | None:
        from ..compute.reference import reference_blobs

        return reference_blobs().get(weights_hash)


_lock = threading.Lock()
_SHIPPED = _Shipped()


def install(source: WeightsSource | None) -> None:
    """Make `source` the process's weights source for every spec (it should fall back to the shipped models itself);
    None: the shipped models only."""
    weights_held.install(source)


def installed() -> WeightsSource | None:
    """The process's weights source now (a node puts it back when it closes)."""
    return weights_held.installed()


def _source() -> WeightsSource:
    return weights_held.installed() or _SHIPPED


def shipped() -> WeightsSource:
    return _Shipped()


def has(spec: ModelSpec) -> bool:
    """Whether the blob of `spec` is held here (well-formed or not). A source with a `has(weights_hash)` of its own
    (the node's content store) answers without reading the blob: listing many large models reads no weights."""
    held = getattr(_source(), "has", None)
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
    weights_held.record_missing(spec.weights_hash, spec.weights_size)
    return False


def model(spec: ModelSpec) -> Model:
    """The parsed model of a registered `spec`; WeightsUnavailable if its blob is not held (recorded for
    `take_missing`)."""
    try:
        return _model(spec)
    except WeightsUnavailable:
        weights_held.record_missing(spec.weights_hash, spec.weights_size)
        raise


_malformed: dict[ModelSpec, str] = {}
"""Specs whose blob (matching the hash) does not parse, with why: judged once (bounded by MAX_MALFORMED)."""
MAX_MALFORMED = 64


@functools.lru_cache(maxsize=16)
def _model(spec: ModelSpec) -> Model:
    why = _malformed.get(spec)
    if why is not None:
        raise MalformedWeights(why)
    blob = _source().get_weights(spec.weights_hash)
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


weights_held.on_change(_model.cache_clear)
