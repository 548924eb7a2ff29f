"""Genesis of the compute module: the models registered at genesis (the shipped reference models, whose weights
every node has) and the mining pool's emission schedule."""

from __future__ import annotations

from collections.abc import Iterable

from runtime.overlay import Overlay

from ..compute import storage
from ..compute.model import ModelSpec, macs_per_item, model_hash, validate_spec
from ..compute.types import EmissionPeriodRecord, RegisteredModel


def build(state: Overlay, models: Iterable[ModelSpec], periods: Iterable[tuple[int, int]]) -> None:
    """Register `models` and store the emission `periods` as (duration ms, amount) pairs."""
    for spec in models:
        validate_spec(spec)
        storage.models.put(state, model_hash(spec), RegisteredModel(spec, macs_per_item(spec)))
    storage.emission_periods.put(state, tuple(EmissionPeriodRecord(d, a) for d, a in periods))


