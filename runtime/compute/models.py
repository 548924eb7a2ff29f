"""The model registry as the marketplace uses it: a registered model by hash, registration, and each spec's
built model, made once per process for re-execution."""

from __future__ import annotations

import functools

from runtime.compute import errors, events, storage
from runtime.compute.model import Model, ModelSpec, build_model, macs_per_item, model_hash, validate_spec
from runtime.compute.types import RegisteredModel
from runtime.context import CallContext
from runtime.overlay import Overlay


@functools.lru_cache(maxsize=32)
def built(spec: ModelSpec) -> Model:
    """The model of a registered spec (weights regenerated from its seed once per process)."""
    return build_model(spec)


def get_model(state: Overlay, model_hash: bytes) -> RegisteredModel:
    """The registered model `model_hash`; UnknownModel if there is none."""
    reg = storage.models.get(state, model_hash)
    if reg is None:
        raise errors.UnknownModel(f"no model 0x{model_hash.hex()} is registered")
    return reg


def register(ctx: CallContext, spec: ModelSpec) -> bytes:
    """Register `spec` (refused if it is not a valid model or is registered already); its hash."""
    try:
        validate_spec(spec)
    except ValueError as exc:
        raise errors.BadModel(str(exc)) from None
    h = model_hash(build_model(spec))
    if storage.models.contains(ctx.state, h):
        raise errors.ModelExists()
    storage.models.put(ctx.state, h, RegisteredModel(spec, macs_per_item(spec)))
    ctx.emit(events.ModelRegistered(h, spec.name))
    return h
