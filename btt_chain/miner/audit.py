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
from runtime.compute.inference import infer, input_bytes
from runtime.compute.inputs import synthetic_inputs
from runtime.compute.model import ModelSpec
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
    """A ModelSpec from a `btt_models` row."""
    return ModelSpec(
        name=row["name"], seed=parse_hash(row["seed"]), layers=tuple(row["layers"]), shifts=tuple(row["shifts"])
    )


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


def true_outputs(job: dict[str, Any], spec: ModelSpec) -> list[bytes]:
    """Every item of a synthetic job re-executed here, as every node would."""
    if not job["inputSeed"]:
        raise NotChallengeable(
            f"job {job['id']} is not synthetic: its inputs are the requester's, so this tool cannot re-execute it"
        )
    inputs = synthetic_inputs(parse_hash(job["inputSeed"]), job["items"], input_bytes(spec))
    return infer(built(spec), inputs)


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
    job: dict[str, Any], spec: ModelSpec, provider: bytes, fetched: FetchedOutputs, index: int
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
    if not job["inputSeed"]:
        raise NotChallengeable(
            f"job {job['id']} is not synthetic: its inputs are the requester's, so this tool cannot re-execute it"
        )
    inputs = synthetic_inputs(parse_hash(job["inputSeed"]), job["items"], input_bytes(spec))
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
