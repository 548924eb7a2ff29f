"""RPC methods of job outputs, the data a requester needs and a challenger uses:

`btt_submitOutputs` (a provider hands its full outputs to the node; kept only if their Merkle root is its
revealed output root), `btt_jobOutputs` (every output item of one provider's result) and `btt_jobOutput`
(one item with its Merkle path, and for a synthetic job its input with the input's path: the arguments of
`compute.challenge`). The outputs come from the node's store or, once posted, from the chain; a node that
holds neither asks its peers, so a later call may find them.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from btt_chain.node.job_outputs import INPUTS, FoundOutputs, OutputsRejected, input_root_of, is_private
from btt_chain.primitives.address import encode_address
from btt_chain.primitives.hashing import ZERO_HASH
from btt_chain.rpc import params as p
from btt_chain.rpc.at import state_view
from btt_chain.rpc.errors import invalid_params
from btt_chain.rpc.methods_compute import job_id
from btt_chain.rpc.registry import REGISTRY, Param, RpcContext, optional
from btt_chain.rpc.render import hex0x
from runtime.compute import storage as compute
from runtime.compute.types import MAX_EXCHANGED_ITEM, MAX_JOB_ITEMS

method = REGISTRY.method


def _index(value: Any, ctx: RpcContext) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**32:
        raise invalid_params(f"index: expected an item index from 0 to 2^32-1, got {str(value)[:40]}")
    return value


def _outputs(value: Any, ctx: RpcContext) -> list[bytes]:
    if not isinstance(value, list) or not value:
        raise invalid_params("outputs: expected a non-empty list of 0x-hex output items")
    if len(value) > MAX_JOB_ITEMS:
        raise invalid_params(f"outputs: at most {MAX_JOB_ITEMS} items, got {len(value)}")
    return [p.decode_hex(v, f"output {i}", max_len=MAX_EXCHANGED_ITEM) for i, v in enumerate(value)]


def _find(ctx: RpcContext, jid: int, provider: bytes) -> FoundOutputs | None:
    found = ctx.node.outputs.find(jid, provider)
    network = ctx.node.network
    if found is None and network is not None:
        network.outputs.want(jid, provider)
    return found


def _head(found: FoundOutputs, ctx: RpcContext) -> dict[str, Any]:
    return {
        "jobId": found.job.id,
        "provider": encode_address(found.assignment.provider, ctx.node.spec.ss58_prefix),
        "outputRoot": hex0x(found.root),
        "items": found.job.items,
        "source": found.source,
    }


@method("btt_submitOutputs", Param("jobId", job_id), Param("provider", p.account), Param("outputs", _outputs))
def btt_submit_outputs(ctx: RpcContext, jid: int, provider: bytes, outputs: list[bytes]) -> dict[str, Any]:
    """Hand the node a provider's full outputs of a job; kept only if they are one per item, of the model's
    width, and their Merkle root is the output root the provider revealed on chain. The kept set."""
    try:
        found = ctx.node.outputs.accept(jid, provider, outputs)
    except OutputsRejected as exc:
        raise invalid_params(f"outputs not kept: {exc}") from None
    return _head(found, ctx)


@method("btt_jobOutputs", Param("jobId", job_id), Param("provider", p.account))
def btt_job_outputs(ctx: RpcContext, jid: int, provider: bytes) -> dict[str, Any] | None:
    """A provider's output items of a job with its output root and where they came from (`node` or `chain`),
    or null when neither this node nor the chain holds them (the node then asks its peers)."""
    found = _find(ctx, jid, provider)
    if found is None:
        return None
    return {**_head(found, ctx), "outputs": [hex0x(o) for o in found.outputs]}


@method("btt_jobOutput", Param("jobId", job_id), Param("provider", p.account), Param("index", _index))
def btt_job_output(ctx: RpcContext, jid: int, provider: bytes, index: int) -> dict[str, Any] | None:
    """One output item with its Merkle path to the provider's output root, and for a synthetic job the input
    with its path to the job's input root (null for other jobs: their inputs are the requester's); null
    when the outputs are not held (as `btt_jobOutputs`)."""
    found = _find(ctx, jid, provider)
    if found is None:
        return None
    if index >= found.job.items:
        raise invalid_params(f"index: job {jid} has items 0 to {found.job.items - 1}, not {index}")
    item = ctx.node.outputs.opening(found, index)
    return {
        **_head(found, ctx),
        "index": index,
        "output": hex0x(item.output),
        "outputProof": [hex0x(h) for h in item.output_proof],
        "inputRoot": hex0x(found.job.input_root),
        "input": hex0x(item.input) if item.input is not None else None,
        "inputProof": [hex0x(h) for h in item.input_proof] if item.input_proof is not None else None,
    }


def _inputs(value: Any, ctx: RpcContext) -> list[bytes]:
    if not isinstance(value, list) or not value:
        raise invalid_params("inputs: expected a non-empty list of 0x-hex input items")
    if len(value) > MAX_JOB_ITEMS:
        raise invalid_params(f"inputs: at most {MAX_JOB_ITEMS} items, got {len(value)}")
    return [p.decode_hex(v, f"input {i}", max_len=MAX_EXCHANGED_ITEM) for i, v in enumerate(value)]


@method("btt_submitJobInputs", Param("jobId", job_id), Param("inputs", _inputs))
def btt_submit_job_inputs(ctx: RpcContext, jid: int, inputs: list[bytes]) -> dict[str, Any]:
    """Hand the node a requester's job's input items, kept only if they are one per item, of the model's input width,
    and their Merkle root is the job's input root; for a private job, its items sealed to its provider (48 bytes
    more each) under the sealed root the clinic gave on chain. Assigned providers' nodes fetch them from peers. A
    public job's inputs are public to every node and provider; a private job's are readable by its provider only."""
    try:
        job = ctx.node.outputs.accept_inputs(jid, inputs)
    except OutputsRejected as exc:
        raise invalid_params(f"inputs not kept: {exc}") from None
    return {"jobId": job.id, "inputRoot": hex0x(input_root_of(state_view(ctx, None), job)), "items": job.items}


INPUTS_PAGE = 1024
"""Input items per `btt_jobInputs` answer (at most 1,072 bytes each, a sealed case: 2.1 MiB of hex)."""


def _first(value: Any, ctx: RpcContext) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < MAX_JOB_ITEMS:
        raise invalid_params(f"first: expected an item index from 0 to {MAX_JOB_ITEMS - 1}, got {str(value)[:40]}")
    return value


@method("btt_jobInputs", Param("jobId", job_id), optional("first", _first, 0))
def btt_job_inputs(ctx: RpcContext, jid: int, first: int) -> dict[str, Any] | None:
    """A requester's job's input items from `first` on, at most 1,024 (`next`: where the next page starts, or null),
    with its input root: from this node's store, or from the chain once the requester posted all of them there
    (`compute.post_inputs`, spec 17); null when neither holds them all (the node then asks its peers, so a later call
    may find them). A synthetic job's inputs follow from its seed: null. A private job's are its items sealed to its
    provider (`sealed`: true), under its sealed root: no node but the provider's can read them."""
    held = ctx.node.outputs.find_inputs(jid)
    if held is None:
        network = ctx.node.network
        if network is not None:
            network.outputs.want(jid, INPUTS)
        return None
    job, items = held
    page = items[first:first + INPUTS_PAGE]
    after = first + len(page)
    state = state_view(ctx, None)
    return {"jobId": job.id, "inputRoot": hex0x(input_root_of(state, job)), "items": job.items, "first": first,
            "sealed": is_private(state, job.id), "inputs": [hex0x(x) for x in page],
            "next": after if after < job.items else None}


@method("btt_jobResults", Param("jobId", job_id))
def btt_job_results(ctx: RpcContext, jid: int) -> dict[str, Any] | None:
    """Each revealed result of a job read as its model's class labels: per provider, the class each output item
    names (its first byte) and the count per label, from outputs this node holds or the chain carries (checked
    against the provider's revealed output root, as every output this node keeps). Results whose outputs the
    node does not hold have `classes` null (the node asks its peers). Null for an unknown job. A private job's
    outputs are sealed to its clinic (`sealed`: true): `classes` is always null, and the clinic reads them with its
    key (`btt-chain job results`)."""
    state = state_view(ctx, None)
    job = compute.jobs.get(state, jid)
    if job is None:
        return None
    sealed = is_private(state, jid)
    reg = compute.models.get(state, job.model)
    labels = () if reg is None else reg.spec.labels
    prefix = ctx.node.spec.ss58_prefix
    rows = []
    for a in job.assignments:
        if a.output_root == ZERO_HASH:
            continue
        found = _find(ctx, jid, a.provider)
        row: dict[str, Any] = {"provider": encode_address(a.provider, prefix), "outputRoot": hex0x(a.output_root),
                               "classes": None, "counts": None, "source": None}
        if found is not None and sealed:
            row.update(source=found.source)
        elif found is not None:
            classes = [o[0] for o in found.outputs]
            counts = Counter(labels[c] if c < len(labels) else str(c) for c in classes)
            row.update(classes=classes, source=found.source, counts=dict(counts))
        rows.append(row)
    return {"jobId": jid, "model": hex0x(job.model), "modelName": None if reg is None else reg.spec.name,
            "labels": list(labels), "items": job.items, "synthetic": job.input_seed != ZERO_HASH, "sealed": sealed,
            "results": rows}
