"""Checking a provider's outputs as the chain would, before anyone pays a fee to prove them wrong.

Shared by `btt-chain job outputs|verify|challenge`, the clinic and the miner: fetch a provider's outputs from
a node (`btt_jobOutputs`: the node's store, the chain's posted outputs, or the node's peers), check that
they give the provider's revealed output root, re-execute every item with the runtime's own integer
inference, and build the arguments of `compute.challenge` for a wrong item, refusing to build them for an
item that re-executes to its output (such a challenge would fail on chain and cost its fee).

Only synthetic jobs can be re-executed here: their inputs follow from the seed. Other jobs' inputs are the
requester's own.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from btt_chain.miner.watch import RpcCaller
from btt_chain.primitives.errors import BttError
from btt_chain.primitives.hashing import merkle_root
from btt_chain.primitives.merkle import merkle_levels, merkle_proof
from runtime.compute.inference import infer
from runtime.compute.inputs import synthetic_inputs
from runtime.compute.model import ModelSpec, input_bytes, model_hash
from runtime.compute.model_json import spec_from_json
from runtime.compute.models import built

FETCH_POLL_S = 0.5


class NotChallengeable(BttError):
    """A challenge of this item would fail on chain: it cannot be shown wrong from here."""


@dataclass(frozen=True)
class FetchedOutputs:
    job_id: int
    provider: str
    """The provider's address as the node renders it."""
    root: bytes
    outputs: tuple[bytes, ...]
    source: str
    """`node` or `chain` (posted with `compute.post_outputs`)."""


@dataclass(frozen=True)
class AuditResult:
    job_id: int
    provider: str
    items: int
    root_ok: bool
    """The outputs give the output root the provider revealed."""
    wrong: tuple[int, ...]
    """Items whose output differs from re-execution (empty when the root does not match: nothing was run)."""

    @property
    def ok(self) -> bool:
        return self.root_ok and not self.wrong


def parse_hash(text: str) -> bytes:
    return bytes.fromhex(text[2:] if text.startswith("0x") else text)


def model_spec(row: dict[str, Any]) -> ModelSpec:
    """A ModelSpec from a `btt_models` row (its JSON form, checked: the hash must be the row's)."""
    try:
        spec = spec_from_json(row["spec"])
    except (KeyError, ValueError) as exc:
        raise NotChallengeable(
            f"the node lists model {row.get('hash')} with a spec this tool cannot read: {exc}") from None
    if "0x" + model_hash(spec).hex() != row.get("hash"):
        raise NotChallengeable(f"the node lists model {row.get('hash')} with a spec of another hash")
    return spec


def job_model(rpc: RpcCaller, job: dict[str, Any]) -> ModelSpec:
    for row in rpc.call("btt_models"):
        if row["hash"] == job["model"]:
            return model_spec(row)
    raise NotChallengeable(f"job {job['id']} names model {job['model']}, which the node does not list")


def assignment_of(job: dict[str, Any], provider: str) -> dict[str, Any]:
    """The job row's assignment of `provider` (an address as the node renders it)."""
    for a in job["assignments"]:
        if a["provider"] == provider:
            return a
    raise NotChallengeable(f"{provider} holds no assignment of job {job['id']}")


def fetch_outputs(
    rpc: RpcCaller, job_id: int, provider: str, wait_s: float = 0.0,
    sleep: Callable[[float], None] = time.sleep,
) -> FetchedOutputs | None:
    """A provider's outputs from the node; with `wait_s`, keep asking that long (the node asks its peers)."""
    deadline = time.monotonic() + wait_s
    while True:
        row = rpc.call("btt_jobOutputs", job_id, provider)
        if row is not None:
            return FetchedOutputs(job_id, row["provider"], parse_hash(row["outputRoot"]),
                                  tuple(parse_hash(o) for o in row["outputs"]), row["source"])
        if time.monotonic() >= deadline:
            return None
        sleep(FETCH_POLL_S)


def job_inputs(job: dict[str, Any], spec: ModelSpec, given: Sequence[bytes] | None = None,
               rpc: RpcCaller | None = None) -> list[bytes]:
    """A job's input items: a synthetic job's from its seed; a requester's job's as `given` (the requester holds
    them) or from the node (`btt_jobInputs`), checked against the job's input root."""
    if job["inputSeed"]:
        return synthetic_inputs(parse_hash(job["inputSeed"]), job["items"], input_bytes(spec))
    if given is None and rpc is not None:
        given = fetch_inputs(rpc, job["id"])
    if given is None:
        raise NotChallengeable(f"job {job['id']}: the requester's inputs are not at hand (the node does not hold "
                               "them yet)")
    inputs = list(given)
    if len(inputs) != job["items"] or merkle_root(inputs) != parse_hash(job["inputRoot"]):
        raise NotChallengeable(f"job {job['id']}: the inputs at hand do not give the job's input root")
    return inputs


def fetch_inputs(rpc: RpcCaller, job_id: int) -> list[bytes] | None:
    """A requester's job's input items from the node, page by page; None while the node does not hold them."""
    items: list[bytes] = []
    first: int | None = 0
    while first is not None:
        row = rpc.call("btt_jobInputs", job_id, first)
        if row is None:
            return None
        items += [parse_hash(x) for x in row["inputs"]]
        first = row["next"]
    return items


def true_outputs(job: dict[str, Any], spec: ModelSpec, inputs: Sequence[bytes] | None = None) -> list[bytes]:
    """Every item of a job re-executed here, as every node would (`inputs`: see `job_inputs`)."""
    return infer(built(spec), job_inputs(job, spec, inputs))


def audit_outputs(job: dict[str, Any], spec: ModelSpec, fetched: FetchedOutputs,
                  truth: Sequence[bytes] | None = None) -> AuditResult:
    """Check the outputs against the provider's revealed root, then re-execute every item."""
    a = assignment_of(job, fetched.provider)
    root_ok = a["outputRoot"] is not None and merkle_root(list(fetched.outputs)) == parse_hash(a["outputRoot"])
    if not root_ok or len(fetched.outputs) != job["items"]:
        return AuditResult(job["id"], fetched.provider, job["items"], False, ())
    truth = true_outputs(job, spec) if truth is None else truth
    wrong = tuple(i for i, (got, want) in enumerate(zip(fetched.outputs, truth, strict=True)) if got != want)
    return AuditResult(job["id"], fetched.provider, job["items"], True, wrong)


def challenge_args(
    job: dict[str, Any], spec: ModelSpec, provider: bytes, fetched: FetchedOutputs, index: int,
    given_inputs: Sequence[bytes] | None = None,
) -> tuple[Any, ...]:
    """The arguments of `compute.challenge` for item `index`, only if it would be upheld: the assignment is
    in its challenge window, the outputs give its root and the item re-executes to a different output."""
    a = assignment_of(job, fetched.provider)
    if a["state"] != "verified":
        raise NotChallengeable(
            f"the assignment of {fetched.provider} is {a['state']}: only a verified one, inside its challenge "
            "window, can be challenged"
        )
    if not 0 <= index < job["items"]:
        raise NotChallengeable(f"job {job['id']} has items 0 to {job['items'] - 1}, not {index}")
    outputs = list(fetched.outputs)
    if len(outputs) != job["items"] or merkle_root(outputs) != parse_hash(a["outputRoot"]):
        raise NotChallengeable("the fetched outputs do not give the provider's revealed output root")
    inputs = job_inputs(job, spec, given_inputs)
    expected = infer(built(spec), [inputs[index]])[0]
    if expected == outputs[index]:
        raise NotChallengeable(
            f"item {index} re-executes to the provider's output 0x{outputs[index].hex()}: a challenge would fail "
            "and cost its fee"
        )
    input_levels = merkle_levels(inputs)
    if input_levels[-1][0] != parse_hash(job["inputRoot"]):
        raise NotChallengeable("the inputs generated from the job's seed do not give its input root")
    return (job["id"], provider, index, inputs[index], outputs[index], merkle_proof(input_levels, index),
            merkle_proof(merkle_levels(outputs), index))
