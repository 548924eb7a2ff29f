"""Dispatchable calls of the compute module."""

from __future__ import annotations

from btt_chain.primitives.codec import ACCOUNT, AMOUNT, HASH, U8, U32, U64, Bytes, ListOf, Nested
from runtime.compute import challenge, errors, events, hooks, jobs, providers, storage, verify
from runtime.compute.model import ModelSpec, build_model, macs_per_item, model_hash, validate_spec
from runtime.compute.types import MAX_ITEM_BYTES, MAX_OPENINGS, MAX_POSTED_OUTPUTS, MAX_PROOF, Opening, RegisteredModel
from runtime.context import CallContext, Origin, ensure_governance, ensure_signed
from runtime.dispatch import CallDef, ModuleDef


def register_provider(ctx: CallContext, origin: Origin, capacity: int, region: int, energy: int) -> None:
    """Offer compute: `capacity` open assignments at once, a region class (0 standard, 1 underserved,
    2 remote) and an energy class (0 = A best .. 4 = E). Needs `compute.min_provider_bond` bonded."""
    providers.register(ctx, ensure_signed(origin), capacity, region, energy)


def deregister_provider(ctx: CallContext, origin: Origin) -> None:
    """Stop taking jobs (no assignment may be open); unbond through the bonds module afterwards."""
    providers.deregister(ctx, ensure_signed(origin))


def post_job(
    ctx: CallContext,
    origin: Origin,
    model: bytes,
    input_root: bytes,
    input_seed: bytes,
    items: int,
    price: int,
    redundancy: int,
    deadline_ms: int,
) -> None:
    """Post a paid job; `price` is reserved until it settles. Give the inputs' Merkle root, or a seed for
    synthetic inputs (item i = SHAKE-256(seed, i)); `deadline_ms` counts from this block."""
    jobs.post(ctx, ensure_signed(origin), model, input_root, input_seed, items, price, redundancy, deadline_ms)


def cancel_job(ctx: CallContext, origin: Origin, job_id: int) -> None:
    """Withdraw a job no provider has been assigned to; its price is released."""
    jobs.cancel(ctx, ensure_signed(origin), job_id)


def commit_result(ctx: CallContext, origin: Origin, job_id: int, commitment: bytes) -> None:
    """Commit H(output root, salt) for an assigned job."""
    verify.commit(ctx, ensure_signed(origin), job_id, commitment)


def reveal_result(
    ctx: CallContext, origin: Origin, job_id: int, output_root: bytes, salt: bytes, openings: tuple[Opening, ...]
) -> None:
    """Reveal the output root and open the sampled items; every node re-executes them."""
    verify.reveal(ctx, ensure_signed(origin), job_id, output_root, salt, openings)


def challenge_item(
    ctx: CallContext,
    origin: Origin,
    job_id: int,
    provider: bytes,
    index: int,
    input: bytes,
    output: bytes,
    input_proof: tuple[bytes, ...],
    output_proof: tuple[bytes, ...],
) -> None:
    """Show that one item of a verified result is wrong: its input and output with Merkle paths to the job's
    input root and the provider's output root. Every node re-executes it; if it differs the provider is
    slashed, you get `slashing.reporter_bps` of the slash and the requester a refund. No fault: the call fails."""
    challenge.challenge(ctx, ensure_signed(origin), job_id, provider, index, input, output, input_proof,
                        output_proof)


def demand_outputs(ctx: CallContext, origin: Origin, job_id: int, provider: bytes) -> None:
    """Requester: make the provider post all its outputs on chain within `compute.outputs_due_ms`."""
    challenge.demand(ctx, ensure_signed(origin), job_id, provider)


def post_outputs(ctx: CallContext, origin: Origin, job_id: int, outputs: tuple[bytes, ...]) -> None:
    """Provider: post every output item of a verified result on chain (their root must be the revealed one)."""
    challenge.post(ctx, ensure_signed(origin), job_id, outputs)


def register_model(ctx: CallContext, origin: Origin, spec: ModelSpec) -> None:
    """Governance: register a model (its weights follow from the spec's seed)."""
    ensure_governance(origin)
    register(ctx, spec)


def register(ctx: CallContext, spec: ModelSpec) -> bytes:
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


MODULE = ModuleDef(
    index=10,
    name="compute",
    calls=(
        CallDef(0, "register_provider", (("capacity", U32), ("region", U8), ("energy", U8)), 500,
                register_provider, register_provider.__doc__ or ""),
        CallDef(1, "deregister_provider", (), 200, deregister_provider, deregister_provider.__doc__ or ""),
        CallDef(2, "post_job", (("model", HASH), ("input_root", HASH), ("input_seed", HASH), ("items", U32),
                                ("price", AMOUNT), ("redundancy", U8), ("deadline_ms", U64)), 5_000,
                post_job, post_job.__doc__ or ""),
        CallDef(3, "cancel_job", (("job_id", U64),), 500, cancel_job, cancel_job.__doc__ or ""),
        CallDef(4, "commit_result", (("job_id", U64), ("commitment", HASH)), 1_000,
                commit_result, commit_result.__doc__ or ""),
        CallDef(5, "reveal_result", (("job_id", U64), ("output_root", HASH), ("salt", HASH),
                                     ("openings", ListOf(Nested(Opening), MAX_OPENINGS))), 2_000,
                reveal_result, reveal_result.__doc__ or ""),
        CallDef(6, "register_model", (("spec", Nested(ModelSpec)),), 5_000, register_model,
                register_model.__doc__ or ""),
        CallDef(7, "challenge", (("job_id", U64), ("provider", ACCOUNT), ("index", U32),
                                 ("input", Bytes(max_len=MAX_ITEM_BYTES)), ("output", Bytes(max_len=MAX_ITEM_BYTES)),
                                 ("input_proof", ListOf(HASH, MAX_PROOF)), ("output_proof", ListOf(HASH, MAX_PROOF))),
                1_000, challenge_item, challenge_item.__doc__ or ""),
        CallDef(8, "demand_outputs", (("job_id", U64), ("provider", ACCOUNT)), 500, demand_outputs,
                demand_outputs.__doc__ or ""),
        CallDef(9, "post_outputs", (("job_id", U64),
                                    ("outputs", ListOf(Bytes(max_len=MAX_ITEM_BYTES), MAX_POSTED_OUTPUTS))),
                20_000, post_outputs, post_outputs.__doc__ or ""),
    ),
    on_initialize=hooks.on_initialize,
)
