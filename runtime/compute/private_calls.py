"""Dispatchable calls of private jobs (`private`), with the weights of the ones whose work grows with the job."""

from __future__ import annotations

from typing import Any

from runtime.context import CallContext, Origin, ensure_signed
from runtime.dispatch import Runtime
from runtime.overlay import Overlay

from ..compute import private, storage, verify, weights
from ..compute.types import DecoyOpening, PrivateOpening


def set_box_key(ctx: CallContext, origin: Origin, key: bytes) -> None:
    """Set your X25519 box key (32 bytes): as a provider, private cases are sealed to it; as a clinic, results are
    sealed back to it. Set it again to rotate; an assignment keeps the key it was drawn with."""
    private.set_box_key(ctx, ensure_signed(origin), key)


def post_private_job(
    ctx: CallContext,
    origin: Origin,
    model: bytes,
    items: int,
    decoys: int,
    decoy_commitment: bytes,
    price: int,
    deadline_ms: int,
) -> None:
    """Post a private job of `items` cases, `decoys` of them your decoys, committed to by `decoy_commitment`; the
    price and the reveal deposit (`compute.missed_assignment_fee`) are reserved. One provider is drawn; seal every
    item to its box key and give the root (`submit_sealed_inputs`), then reveal the decoys after it commits."""
    private.post(ctx, ensure_signed(origin), model, items, decoys, decoy_commitment, price, deadline_ms)


def submit_sealed_inputs(ctx: CallContext, origin: Origin, job_id: int, sealed_root: bytes) -> None:
    """Clinic: the Merkle root over your items sealed to the assigned provider's key, within the window the chain
    gave you at assignment; the provider's commit window follows."""
    private.submit_sealed_inputs(ctx, ensure_signed(origin), job_id, sealed_root)


def flag_items(ctx: CallContext, origin: Origin, job_id: int, items: tuple[int, ...]) -> None:
    """Provider, before committing: these sealed items do not open with your key. You are paid for them unless one is
    shown to open (a flagged decoy revealed, or a case opened): that is fraud."""
    private.flag_items(ctx, ensure_signed(origin), job_id, items)


def reveal_decoys(ctx: CallContext, origin: Origin, job_id: int, salt: bytes,
                  decoys: tuple[DecoyOpening, ...]) -> None:
    """Clinic, after the provider committed and before its sample is drawn: the salt and each decoy (position, case,
    ephemeral secret, path of its sealed item). Every node re-seals them; the provider's reveal opens exactly them.
    Not revealed in time: the deposit is burned and the provider paid."""
    private.reveal_decoys(ctx, ensure_signed(origin), job_id, salt, decoys)


def reveal_private_result(ctx: CallContext, origin: Origin, job_id: int, output_root: bytes, salt: bytes,
                          openings: tuple[PrivateOpening, ...]) -> None:
    """Provider of a private job: reveal the root over your outputs sealed to the clinic and open each decoy (its
    output and the secret you sealed it with); every node re-seals and re-executes them."""
    verify.reveal(ctx, ensure_signed(origin), job_id, output_root, salt, openings, check=private.check_openings)


def open_case(
    ctx: CallContext,
    origin: Origin,
    job_id: int,
    index: int,
    case: bytes,
    secret: bytes,
    input_proof: tuple[bytes, ...],
    sealed_output: bytes,
    output_key: bytes,
    output_proof: tuple[bytes, ...],
) -> None:
    """Clinic, in the challenge window: open one real case (and your key for its sealed output) to show that the
    provider's output for it is wrong, or that an item it flagged opens. The case and its output become public."""
    private.open_case(ctx, ensure_signed(origin), job_id, index, case, secret, input_proof, sealed_output, output_key,
                      output_proof)


def _spec_items(state: Overlay, job_id: Any) -> tuple[Any, int] | None:
    job = storage.jobs.get(state, job_id)
    reg = None if job is None else storage.models.get(state, job.model)
    return None if reg is None or job is None else (reg.spec, job.items)


def reveal_decoys_extra(runtime: Runtime, state: Overlay, args: tuple[Any, ...]) -> int:
    known = _spec_items(state, args[0])
    return 0 if known is None else weights.reveal_decoys_weight(*known, len(args[2])) - weights.REVEAL_DECOYS


def reveal_private_extra(runtime: Runtime, state: Overlay, args: tuple[Any, ...]) -> int:
    known = _spec_items(state, args[0])
    return 0 if known is None else weights.reveal_private_weight(*known, len(args[3])) - weights.REVEAL


def open_case_extra(runtime: Runtime, state: Overlay, args: tuple[Any, ...]) -> int:
    known = _spec_items(state, args[0])
    return 0 if known is None else weights.open_case_weight(*known) - weights.CHALLENGE


def flag_items_extra(runtime: Runtime, state: Overlay, args: tuple[Any, ...]) -> int:
    return len(args[1]) * weights.FLAG_ITEM
