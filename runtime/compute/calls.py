"""Dispatchable calls of the compute module, with the weights of the ones whose work grows with the model."""

from __future__ import annotations

from typing import Any

from btt_chain.primitives.codec import ACCOUNT, AMOUNT, BOOL, HASH, U8, U32, U64, Bytes, ListOf, Nested
from btt_chain.primitives.hashing import ZERO_HASH
from runtime.context import CallContext, Origin, ensure_governance, ensure_signed
from runtime.dispatch import NOTHING, CallDef, ModuleDef, Runtime, spends_argument, spends_by_state
from runtime.overlay import Overlay

from ..compute import (
    challenge,
    hook_budget,
    hooks,
    jobs,
    models,
    outputs,
    posted_inputs,
    private_calls,
    providers,
    storage,
    verify,
    weights,
)
from ..compute.model import ModelSpec
from ..compute.types import (
    MAX_CASE_BYTES,
    MAX_CHUNK_ITEMS,
    MAX_DECOYS,
    MAX_ITEM_BYTES,
    MAX_JOB_ITEMS,
    MAX_OPENINGS,
    MAX_PROOF,
    MAX_RANGE_PROOF,
    MAX_SEALED_INPUT,
    MAX_SEALED_OUTPUT,
    DecoyOpening,
    Opening,
    PrivateOpening,
)


def register_provider(ctx: CallContext, origin: Origin, capacity: int, region: int, energy: int) -> None:
    """Offer compute: `capacity` open assignments at once, a region class (0 standard, 1 underserved,
    2 remote) and an energy class (0 = A best .. 4 = E). Needs an active bond of at least
    `compute.min_provider_bond` and of `compute.min_assignment_hold` per unit of capacity; each assignment then
    holds what its job can cost if the work is fake (`compute.hold_per_price_bps` of its escrow plus a challenge's
    fee, at most the larger slash) until it is final."""
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
    """Post a paid job; `price` is reserved until it settles, and must cover every provider's fees. Give the
    inputs' Merkle root, or a seed for synthetic inputs (item i = SHAKE-256(seed, i)); `deadline_ms` counts
    from this block."""
    jobs.post(ctx, ensure_signed(origin), model, input_root, input_seed, items, price, redundancy, deadline_ms)


def cancel_job(ctx: CallContext, origin: Origin, job_id: int) -> None:
    """Withdraw a job no provider has been assigned to; its price is released."""
    jobs.cancel(ctx, ensure_signed(origin), job_id)


def commit_result(ctx: CallContext, origin: Origin, job_id: int, commitment: bytes) -> None:
    """Commit H(output root, salt) for an assigned job, within the commit window fixed at assignment."""
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
    input root and the provider's output root. Every node re-executes it; if it differs the provider loses the
    assignment's hold of its bond, you get `slashing.reporter_bps` of it and the requester a refund. No fault: the
    call fails."""
    challenge.challenge(ctx, ensure_signed(origin), job_id, provider, index, input, output, input_proof,
                        output_proof)


def demand_outputs(ctx: CallContext, origin: Origin, job_id: int, provider: bytes) -> None:
    """Requester: make the provider post all its outputs on chain within `compute.outputs_due_ms`; their posting
    fees are reserved from you now and paid back to the provider chunk by chunk."""
    outputs.demand(ctx, ensure_signed(origin), job_id, provider)


def post_outputs(
    ctx: CallContext, origin: Origin, job_id: int, first: int, items: tuple[bytes, ...], proof: tuple[bytes, ...]
) -> None:
    """Provider: post the next chunk of a verified result's outputs (items from `first` on, as many as the chunk
    plan gives) with its range proof to the revealed output root, before the outputs are due."""
    outputs.post(ctx, ensure_signed(origin), job_id, first, items, proof)


def post_inputs(
    ctx: CallContext, origin: Origin, job_id: int, first: int, items: tuple[bytes, ...], proof: tuple[bytes, ...]
) -> None:
    """Requester (spec 17): post the next chunk of your job's inputs (items from `first` on, as many as the chunk plan
    gives) with its range proof to the job's input root; a private job's, sealed to its provider, to its sealed root
    within the sealing window. A public job is drawn, and a private job's provider may commit, once all are on
    chain."""
    posted_inputs.post(ctx, ensure_signed(origin), job_id, first, items, proof)


def register_model(ctx: CallContext, origin: Origin, spec: ModelSpec) -> None:
    """Register a trained model: its spec names the weights blob by hash and size (nodes fetch the blob from the
    owner's node). Governance registers without a deposit; where `compute.model_registration` is 1, any account
    may, reserving `compute.model_deposit_base` plus `compute.model_deposit_per_kib` per KiB of weights."""
    if origin.kind == "signed":
        models.register(ctx, spec, ensure_signed(origin))
        return
    ensure_governance(origin)
    models.register(ctx, spec)


def serve_model(ctx: CallContext, origin: Origin, model: bytes, serving: bool) -> None:
    """Provider: take jobs on an owner's model (its node holds the weights), or stop taking new ones. Jobs on an
    owner's model are drawn among the providers that serve it; a governance model is served by every provider."""
    models.serve(ctx, ensure_signed(origin), model, serving)


# --- weights that grow with the model ---------------------------------------------------------------------


def _job_model(state: Overlay, job_id: Any) -> tuple[ModelSpec, int] | None:
    job = storage.jobs.get(state, job_id)
    reg = None if job is None else storage.models.get(state, job.model)
    return None if reg is None or job is None else (reg.spec, job.items)


def _reveal_extra(runtime: Runtime, state: Overlay, args: tuple[Any, ...]) -> int:
    known = _job_model(state, args[0])
    return 0 if known is None else weights.reveal_weight(*known, len(args[3])) - weights.REVEAL


def _challenge_extra(runtime: Runtime, state: Overlay, args: tuple[Any, ...]) -> int:
    known = _job_model(state, args[0])
    return 0 if known is None else weights.challenge_weight(*known) - weights.CHALLENGE


def _chunk_extra(runtime: Runtime, state: Overlay, args: tuple[Any, ...]) -> int:
    job = storage.jobs.get(state, args[0])
    reg = None if job is None else storage.models.get(state, job.model)
    if job is None or reg is None:
        return 0
    # the last chunk of a synthetic job may settle a dispute: another provider's outputs are all on chain
    last = args[1] + len(args[2]) == job.items
    dispute = last and job.input_seed != ZERO_HASH and any(a.outputs_posted for a in job.assignments)
    sealed = storage.private_jobs.get(state, args[0]) is not None
    return weights.chunk_weight(reg.spec, job.items, len(args[2]), dispute, sealed) - weights.POST_CHUNK


def _inputs_extra(runtime: Runtime, state: Overlay, args: tuple[Any, ...]) -> int:
    job = storage.jobs.get(state, args[0])
    reg = None if job is None else storage.models.get(state, job.model)
    if job is None or reg is None:  # refused, but every item was decoded: charged by the items all the same
        return weights.unplaced_inputs_weight(args[2]) - weights.POST_INPUTS
    sealed = storage.private_jobs.get(state, args[0]) is not None
    return weights.input_chunk_weight(reg.spec, job.items, len(args[2]), sealed) - weights.POST_INPUTS


def _post_job_extra(runtime: Runtime, state: Overlay, args: tuple[Any, ...]) -> int:
    reg = storage.models.get(state, args[0])
    if reg is None:
        return 0
    return weights.post_job_weight(reg.spec, args[3], args[2] != ZERO_HASH) - weights.POST_JOB


def _register_model_extra(runtime: Runtime, state: Overlay, args: tuple[Any, ...]) -> int:
    try:
        return weights.register_model_weight(args[0]) - weights.REGISTER_MODEL
    except (TypeError, ValueError, AttributeError, IndexError):
        return 0


MODULE = ModuleDef(
    index=10,
    name="compute",
    calls=(
        CallDef(0, "register_provider", (("capacity", U32), ("region", U8), ("energy", U8)), 500,
                register_provider, register_provider.__doc__ or "", spends=NOTHING),
        CallDef(1, "deregister_provider", (), 200, deregister_provider, deregister_provider.__doc__ or "",
                spends=NOTHING),
        CallDef(2, "post_job", (("model", HASH), ("input_root", HASH), ("input_seed", HASH), ("items", U32),
                                ("price", AMOUNT), ("redundancy", U8), ("deadline_ms", U64)), weights.POST_JOB,
                post_job, post_job.__doc__ or "", extra_weight=_post_job_extra, spends=spends_argument("price")),
        CallDef(3, "cancel_job", (("job_id", U64),), 500, cancel_job, cancel_job.__doc__ or "", spends=NOTHING),
        CallDef(4, "commit_result", (("job_id", U64), ("commitment", HASH)), weights.COMMIT,
                commit_result, commit_result.__doc__ or "", spends=NOTHING),
        CallDef(5, "reveal_result", (("job_id", U64), ("output_root", HASH), ("salt", HASH),
                                     ("openings", ListOf(Nested(Opening), MAX_OPENINGS))), weights.REVEAL,
                reveal_result, reveal_result.__doc__ or "", extra_weight=_reveal_extra, spends=NOTHING),
        CallDef(6, "register_model", (("spec", Nested(ModelSpec)),), weights.REGISTER_MODEL, register_model,
                register_model.__doc__ or "", extra_weight=_register_model_extra,
                spends=spends_by_state(
                    "a model deposit where accounts may register (compute.model_deposit_base and _per_kib)")),
        CallDef(7, "challenge", (("job_id", U64), ("provider", ACCOUNT), ("index", U32),
                                 ("input", Bytes(max_len=MAX_ITEM_BYTES)), ("output", Bytes(max_len=MAX_ITEM_BYTES)),
                                 ("input_proof", ListOf(HASH, MAX_PROOF)), ("output_proof", ListOf(HASH, MAX_PROOF))),
                weights.CHALLENGE, challenge_item, challenge_item.__doc__ or "", extra_weight=_challenge_extra,
                spends=NOTHING),
        CallDef(8, "demand_outputs", (("job_id", U64), ("provider", ACCOUNT)), weights.DEMAND, demand_outputs,
                demand_outputs.__doc__ or "", spends=spends_by_state("the outputs' posting fees, reserved")),
        CallDef(9, "post_outputs", (("job_id", U64), ("first", U32),
                                    ("items", ListOf(Bytes(max_len=MAX_SEALED_OUTPUT), MAX_CHUNK_ITEMS)),
                                    ("proof", ListOf(HASH, MAX_RANGE_PROOF))),
                weights.POST_CHUNK, post_outputs, post_outputs.__doc__ or "", extra_weight=_chunk_extra,
                spends=NOTHING),
        CallDef(10, "serve_model", (("model", HASH), ("serving", BOOL)), weights.SERVE_MODEL, serve_model,
                serve_model.__doc__ or "", spends=NOTHING),
        # private jobs (spec 13): `private`
        CallDef(11, "set_box_key", (("key", HASH),), weights.SET_BOX_KEY, private_calls.set_box_key,
                private_calls.set_box_key.__doc__ or "", spends=NOTHING),
        CallDef(12, "post_private_job", (("model", HASH), ("items", U32), ("decoys", U32),
                                         ("decoy_commitment", HASH), ("price", AMOUNT), ("deadline_ms", U64)),
                weights.POST_JOB, private_calls.post_private_job, private_calls.post_private_job.__doc__ or "",
                spends=spends_argument("price", "a deposit of compute.missed_assignment_fee")),
        CallDef(13, "submit_sealed_inputs", (("job_id", U64), ("sealed_root", HASH)), weights.SUBMIT_SEALED,
                private_calls.submit_sealed_inputs, private_calls.submit_sealed_inputs.__doc__ or "", spends=NOTHING),
        CallDef(14, "flag_items", (("job_id", U64), ("items", ListOf(U32, MAX_JOB_ITEMS))), weights.FLAG_ITEMS,
                private_calls.flag_items, private_calls.flag_items.__doc__ or "",
                extra_weight=private_calls.flag_items_extra, spends=NOTHING),
        CallDef(15, "reveal_decoys", (("job_id", U64), ("salt", HASH),
                                      ("decoys", ListOf(Nested(DecoyOpening), MAX_DECOYS))),
                weights.REVEAL_DECOYS, private_calls.reveal_decoys, private_calls.reveal_decoys.__doc__ or "",
                extra_weight=private_calls.reveal_decoys_extra, spends=NOTHING),
        CallDef(16, "reveal_private_result", (("job_id", U64), ("output_root", HASH), ("salt", HASH),
                                              ("openings", ListOf(Nested(PrivateOpening), MAX_DECOYS))),
                weights.REVEAL, private_calls.reveal_private_result,
                private_calls.reveal_private_result.__doc__ or "", extra_weight=private_calls.reveal_private_extra,
                spends=NOTHING),
        CallDef(17, "open_case", (("job_id", U64), ("index", U32), ("case", Bytes(max_len=MAX_CASE_BYTES)),
                                  ("secret", HASH), ("input_proof", ListOf(HASH, MAX_PROOF)),
                                  ("sealed_output", Bytes(max_len=MAX_SEALED_OUTPUT)), ("output_key", HASH),
                                  ("output_proof", ListOf(HASH, MAX_PROOF))),
                weights.CHALLENGE, private_calls.open_case, private_calls.open_case.__doc__ or "",
                extra_weight=private_calls.open_case_extra, spends=NOTHING),
        # a requester's inputs on chain (spec 17): `posted_inputs`
        CallDef(18, "post_inputs", (("job_id", U64), ("first", U32),
                                    ("items", ListOf(Bytes(max_len=MAX_SEALED_INPUT), MAX_CHUNK_ITEMS)),
                                    ("proof", ListOf(HASH, MAX_RANGE_PROOF))),
                weights.POST_INPUTS, post_inputs, post_inputs.__doc__ or "", extra_weight=_inputs_extra,
                spends=NOTHING),
    ),
    on_initialize=hooks.on_initialize,
    paused=hook_budget.paused,
)
