"""The provider engine: from an assigned job to the commit and the reveal's openings. No network, no clock.

For a synthetic job (one with an input seed) the engine regenerates every input item from the seed exactly
as the runtime does (`runtime.compute.inputs`), runs the model with the runtime's own integer inference,
builds the Merkle levels of inputs and outputs, and draws a secret salt. It commits H(output root, salt)
and, once the chain has fixed the sample, opens exactly the sampled items with their Merkle paths. A job
without a seed names inputs only its requester holds; this engine cannot serve it and says so (the
assignment then runs into its deadline: a mark against the provider, no slash, since it never committed).

Results are kept in memory and, when a data directory is given, written to disk before the commit is
sent: a provider that committed and then lost its result could not reveal and would be slashed for
withholding, so a restarted miner must still find it.

`fake_items` is a test helper: it replaces the outputs of the first N items with wrong ones (still well
formed), to show fraud detection at work.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from btt_chain.primitives.errors import BttError
from btt_chain.primitives.hashing import ZERO_HASH, merkle_root
from btt_chain.primitives.merkle import merkle_levels, merkle_proof, merkle_range_proof
from btt_chain.primitives.sealed_cases import (
    CASE,
    RESULT,
    BoxKeypair,
    BoxPublicKey,
    SealBinding,
    SealError,
    item_secret,
    open_item,
    seal_item,
)
from runtime.compute.costs import chunk_plan
from runtime.compute.errors import MalformedWeights
from runtime.compute.inference import infer
from runtime.compute.inputs import synthetic_inputs
from runtime.compute.model import ModelSpec, input_bytes, output_bytes
from runtime.compute.models import built
from runtime.compute.types import Opening, PrivateOpening
from runtime.compute.verify import result_commitment
from runtime.compute.weights_source import WeightsUnavailable

SALT_BYTES = 32


class CannotServe(BttError):
    """The engine cannot compute this job (inputs that do not match the job's root, ...)."""


class NotYet(BttError):
    """The job cannot be computed yet: its inputs or its model's weights are still on their way from peers."""


@dataclass(frozen=True)
class PrivateSpec:
    """What serving a private job needs beyond a public one's: the provider's box key pair (its items are sealed to
    its public key), the clinic's box key (the outputs are sealed back to it) and the chain's genesis hash (every
    sealed item is bound to it, its job and index)."""

    keypair: BoxKeypair
    clinic_key: bytes
    genesis_hash: bytes

    @property
    def result_secret(self) -> bytes:
        """The secret the provider derives each output's ephemeral key from (`sealed_cases.item_secret`)."""
        return hashlib.blake2b(self.keypair.secret, digest_size=32, person=b"btt-result-key").digest()


@dataclass(frozen=True)
class JobSpec:
    """What the engine needs to know about an assigned job."""

    job_id: int
    model: ModelSpec
    input_seed: bytes
    """ZERO_HASH when the job is not synthetic."""
    input_root: bytes
    items: int
    inputs: tuple[bytes, ...] | None = None
    """A requester's job: its input items (fetched through the node), checked against `input_root`."""
    private: PrivateSpec | None = None
    """A private job: `inputs` are its items sealed to this provider, `input_root` its sealed root."""


@dataclass
class PreparedResult:
    """One job's computed result: everything the commit and the reveal need."""

    job_id: int
    salt: bytes
    inputs: tuple[bytes, ...]
    outputs: tuple[bytes, ...]
    faked: tuple[int, ...] = ()
    """Items whose output was deliberately falsified (the `fake_items` test helper)."""
    plain: tuple[bytes, ...] = ()
    """A private job's outputs before sealing (`outputs` are them sealed to the clinic: the output root's leaves)."""
    secrets: tuple[bytes, ...] = ()
    """A private job's per-output ephemeral secrets: a reveal opens a decoy's output with its one."""
    flagged: tuple[int, ...] = ()
    """A private job's items that did not open with this provider's key (`compute.flag_items`)."""
    input_levels: list[list[bytes]] = field(default_factory=list, repr=False)
    output_levels: list[list[bytes]] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        if len(self.inputs) != len(self.outputs) or not self.inputs:
            raise ValueError(f"job {self.job_id}: {len(self.inputs)} inputs and {len(self.outputs)} outputs")
        if len(self.salt) != SALT_BYTES:
            raise ValueError(f"job {self.job_id}: the salt must be {SALT_BYTES} bytes")
        if not self.input_levels:
            self.input_levels = merkle_levels(self.inputs)
        if not self.output_levels:
            self.output_levels = merkle_levels(self.outputs)

    @property
    def items(self) -> int:
        return len(self.inputs)

    @property
    def input_root(self) -> bytes:
        return self.input_levels[-1][0]

    @property
    def output_root(self) -> bytes:
        return self.output_levels[-1][0]

    @property
    def commitment(self) -> bytes:
        """H(output root, salt): the argument of `compute.commit_result`."""
        return result_commitment(self.output_root, self.salt)

    def openings(self, indices: Sequence[int]) -> tuple[Opening, ...]:
        """The openings of `indices` (the sample, in the order the chain lists it) for `compute.reveal_result`."""
        out = []
        for i in indices:
            if not 0 <= i < self.items:
                raise CannotServe(f"job {self.job_id}: sampled item {i} is outside its {self.items} items")
            out.append(
                Opening(
                    index=i,
                    input=self.inputs[i],
                    output=self.outputs[i],
                    input_proof=merkle_proof(self.input_levels, i),
                    output_proof=merkle_proof(self.output_levels, i),
                )
            )
        return tuple(out)


    def private_openings(self, indices: Sequence[int]) -> tuple[PrivateOpening, ...]:
        """A private job's reveal: each decoy's output with the secret it was sealed with, and its path."""
        if not self.plain:
            raise CannotServe(f"job {self.job_id}: no private result is kept")
        out = []
        for i in indices:
            if not 0 <= i < self.items:
                raise CannotServe(f"job {self.job_id}: decoy {i} is outside its {self.items} items")
            out.append(PrivateOpening(i, self.plain[i], self.secrets[i], merkle_proof(self.output_levels, i)))
        return tuple(out)


Chunk = tuple[int, tuple[bytes, ...], tuple[bytes, ...]]
"""(first item, output items, range proof): the arguments of `compute.post_outputs` after the job id."""


def output_chunks(result: PreparedResult, spec: ModelSpec, from_item: int = 0) -> list[Chunk]:
    """The result's outputs cut as the chain's chunk plan cuts them, from chunk holding `from_item` on."""
    return [
        (first, result.outputs[first:first + n], merkle_range_proof(result.output_levels, first, n))
        for first, n in chunk_plan(spec, result.items, bool(result.plain)) if first + n > from_item
    ]


def fake_output(output: bytes) -> bytes:
    """A wrong but well-formed output item: the class byte moved to the next class."""
    classes = max(len(output) - 1, 1)
    return bytes([(output[0] + 1) % classes]) + output[1:]


def _model_of(job: JobSpec) -> Any:
    """The job's model, runnable: NotYet while its weights are on their way, CannotServe if they are malformed."""
    try:
        return built(job.model)
    except WeightsUnavailable as exc:
        raise NotYet(f"job {job.job_id}: {exc}") from None
    except MalformedWeights as exc:
        raise CannotServe(f"job {job.job_id}: {exc}") from None


def _opened(job: JobSpec, private: PrivateSpec, sealed: Sequence[bytes]) -> list[bytes | None]:
    """Each sealed item opened with the provider's key as this chain's job and item (None where it does not)."""
    out: list[bytes | None] = []
    width = input_bytes(job.model)
    for i, item in enumerate(sealed):
        try:
            case = open_item(item, private.keypair, SealBinding(private.genesis_hash, job.job_id, i, CASE))
        except SealError:
            out.append(None)
            continue
        out.append(case if len(case) == width else None)
    return out


def compute_private(job: JobSpec, private: PrivateSpec, salt: bytes, fake_items: int = 0) -> PreparedResult:
    """Open a private job's sealed items, run the model on those that open (the others are flagged), and seal each
    output to the clinic: the output root is over the sealed outputs."""
    if job.inputs is None:
        raise NotYet(f"job {job.job_id}: its sealed items have not reached this node yet")
    sealed = list(job.inputs)
    if len(sealed) != job.items or merkle_root(sealed) != job.input_root:
        raise CannotServe(f"job {job.job_id}: the sealed items do not give its sealed root")
    model = _model_of(job)
    cases = _opened(job, private, sealed)
    readable = [(i, c) for i, c in enumerate(cases) if c is not None]
    outputs_of = infer(model, [c for _, c in readable]) if readable else []
    computed = {i: out for (i, _), out in zip(readable, outputs_of, strict=True)}
    blank = bytes(output_bytes(job.model))
    plain = [computed.get(i, blank) for i in range(job.items)]
    faked = tuple(i for i in range(min(max(fake_items, 0), job.items)) if i in computed)
    for i in faked:
        plain[i] = fake_output(plain[i])
    clinic = BoxPublicKey(private.clinic_key)
    bindings = [SealBinding(private.genesis_hash, job.job_id, i, RESULT) for i in range(job.items)]
    secrets_ = [item_secret(private.result_secret, b, clinic, out) for b, out in zip(bindings, plain, strict=True)]
    outputs = [seal_item(out, clinic, esk, b) for out, esk, b in zip(plain, secrets_, bindings, strict=True)]
    flagged = tuple(i for i, c in enumerate(cases) if c is None)
    return PreparedResult(job.job_id, salt, tuple(sealed), tuple(outputs), faked, tuple(plain), tuple(secrets_),
                          flagged)


def compute_result(job: JobSpec, salt: bytes, fake_items: int = 0) -> PreparedResult:
    """Compute a job's outputs and Merkle levels (the first `fake_items` outputs falsified): a synthetic job's
    inputs come from its seed, a requester's job's from `job.inputs`. NotYet while the model's weights are not
    here."""
    if job.items < 1:
        raise CannotServe(f"job {job.job_id} has no items")
    if job.private is not None:
        return compute_private(job, job.private, salt, fake_items)
    if job.input_seed == ZERO_HASH:
        if job.inputs is None:
            raise NotYet(f"job {job.job_id}: the requester's inputs have not reached this node yet")
        inputs = list(job.inputs)
        width = input_bytes(job.model)
        if len(inputs) != job.items or any(len(x) != width for x in inputs):
            raise CannotServe(f"job {job.job_id}: the inputs are not {job.items} items of {width} bytes")
    else:
        inputs = synthetic_inputs(job.input_seed, job.items, input_bytes(job.model))
    model = _model_of(job)
    outputs = infer(model, inputs)
    faked = tuple(range(min(max(fake_items, 0), job.items)))
    for i in faked:
        outputs[i] = fake_output(outputs[i])
    result = PreparedResult(job.job_id, salt, tuple(inputs), tuple(outputs), faked)
    if result.input_root != job.input_root:
        raise CannotServe(
            f"job {job.job_id}: the inputs do not match its input root "
            f"(0x{result.input_root.hex()} != 0x{job.input_root.hex()})"
        )
    return result


class MinerEngine:
    """A provider's results by job id, in memory and (with `data_dir`) on disk so a restart can still reveal."""

    def __init__(
        self,
        data_dir: Path | None = None,
        fake_items: int = 0,
        salt_source: Callable[[int], bytes] = secrets.token_bytes,
    ) -> None:
        from btt_chain.miner.store import ResultStore

        self.fake_items = fake_items
        self.salt_source = salt_source
        self.store = ResultStore(data_dir) if data_dir is not None else None
        self._results: dict[int, PreparedResult] = {}
        if self.store is not None:
            for result in self.store.load_all():
                self._results[result.job_id] = result

    def __contains__(self, job_id: int) -> bool:
        return job_id in self._results

    def job_ids(self) -> list[int]:
        return sorted(self._results)

    def get(self, job_id: int) -> PreparedResult | None:
        return self._results.get(job_id)

    def prepare(self, job: JobSpec) -> PreparedResult:
        """Compute (once) and keep the result of `job`; it is on disk before this returns."""
        known = self._results.get(job.job_id)
        if known is not None:
            if known.input_root != job.input_root or known.items != job.items:
                raise CannotServe(f"job {job.job_id}: a stored result belongs to another job with this id")
            return known
        result = compute_result(job, self.salt_source(SALT_BYTES), self.fake_items)
        if self.store is not None:
            self.store.save(result)
        self._results[job.job_id] = result
        return result

    def commitment(self, job_id: int) -> bytes:
        return self._require(job_id).commitment

    def openings(self, job_id: int, indices: Sequence[int]) -> tuple[Opening, ...]:
        return self._require(job_id).openings(indices)

    def forget(self, job_id: int) -> None:
        """Drop a job whose assignment has ended (settled, fraud, missed) or whose job closed."""
        self._results.pop(job_id, None)
        if self.store is not None:
            self.store.remove(job_id)

    def _require(self, job_id: int) -> PreparedResult:
        result = self._results.get(job_id)
        if result is None:
            raise CannotServe(f"no result is kept for job {job_id}: it was never computed here, or its data is lost")
        return result
