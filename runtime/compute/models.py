"""The model registry as the marketplace uses it: a registered model by hash, registration (by governance, or
by an owner who reserves a deposit that grows with the weights' size), and each model's parsed weights for
re-execution (from the node's content store: `weights_source`)."""

from __future__ import annotations

from btt_chain.primitives.hashing import ZERO_HASH
from runtime.context import CallContext
from runtime.overlay import Overlay

from ..balances import logic as balances
from ..compute import errors, events, params, storage, weights_source
from ..compute.model import MAX_WEIGHTS_BYTES, Model, ModelSpec, macs_per_item, model_hash, validate_spec
from ..compute.types import RegisteredModel

KIB = 1024


def built(spec: ModelSpec) -> Model:
    """The model of a registered spec, parsed from its weights blob; WeightsUnavailable if this node does not
    hold the blob yet (never a verdict: the block waits for the blob)."""
    return weights_source.model(spec)


def get_model(state: Overlay, model_hash: bytes) -> RegisteredModel:
    """The registered model `model_hash`; UnknownModel if there is none."""
    reg = storage.models.get(state, model_hash)
    if reg is None:
        raise errors.UnknownModel(f"no model 0x{model_hash.hex()} is registered")
    return reg


def serves(state: Overlay, reg: RegisteredModel, model_hash: bytes, provider: bytes) -> bool:
    """Whether `provider` takes jobs on the model: every provider for a governance model; for an owner's model,
    only one that said it holds the weights (`serve`)."""
    return reg.owner == ZERO_HASH or storage.model_servers.contains(state, storage.server_key(model_hash, provider))


def serve(ctx: CallContext, provider: bytes, model_hash: bytes, serving: bool) -> None:
    """A registered provider starts (or stops) taking jobs on an owner's model: it says its node holds the
    weights. Assignments it already holds are not touched."""
    reg = get_model(ctx.state, model_hash)
    if reg.owner == ZERO_HASH:
        raise errors.BadModel("a model registered by governance is served by every provider")
    if serving and not storage.providers.contains(ctx.state, provider):
        raise errors.NotProvider("register as a provider first")
    key = storage.server_key(model_hash, provider)
    if serving == storage.model_servers.contains(ctx.state, key):
        raise errors.BadModel("already serving this model" if serving else "not serving this model")
    if serving:
        storage.model_servers.put(ctx.state, key, ZERO_HASH)
    else:
        storage.model_servers.remove(ctx.state, key)
    ctx.emit(events.ModelServed(model_hash, provider, serving))


def deposit_for(state: Overlay, spec: ModelSpec) -> int:
    """What an owner reserves to register `spec`: the base plus a share per KiB of weights (rounded up)."""
    from ..params.storage import get_param

    kib = (spec.weights_size + KIB - 1) // KIB
    return get_param(state, params.MODEL_DEPOSIT_BASE) + kib * get_param(state, params.MODEL_DEPOSIT_PER_KIB)


def check_spec(state: Overlay, spec: ModelSpec) -> bytes:
    """The hash of `spec` if it may be registered now (valid, within `compute.max_model_bytes`, new)."""
    from ..params.storage import get_param

    try:
        validate_spec(spec)
    except ValueError as exc:
        raise errors.BadModel(str(exc)) from None
    limit = min(get_param(state, params.MAX_MODEL_BYTES), MAX_WEIGHTS_BYTES)
    if spec.weights_size > limit:
        raise errors.BadModel(f"the weights are {spec.weights_size} bytes; this chain takes models of at most "
                              f"{limit} bytes (compute.max_model_bytes)")
    h = model_hash(spec)
    if storage.models.contains(state, h):
        raise errors.ModelExists(f"model 0x{h.hex()} is registered already")
    return h


def register(ctx: CallContext, spec: ModelSpec, owner: bytes | None = None) -> bytes:
    """Register `spec` (by governance when `owner` is None, else by `owner`, who reserves the deposit); its hash.
    The blob itself is not on chain: nodes fetch it by the spec's weights hash."""
    h = check_spec(ctx.state, spec)
    deposit = 0
    if owner is not None:
        if ctx.param(params.MODEL_REGISTRATION) != 1:
            raise errors.RegistrationClosed("this chain registers models by governance only "
                                            "(compute.model_registration = 0)")
        deposit = deposit_for(ctx.state, spec)
        balances.reserve(ctx, owner, deposit)
    reg = RegisteredModel(spec, macs_per_item(spec), owner or ZERO_HASH, deposit)
    storage.models.put(ctx.state, h, reg)
    ctx.emit(events.ModelRegistered(h, spec.name, spec.weights_hash, spec.weights_size, reg.owner, deposit))
    return h
