"""Off-chain players of a private job on a test chain: a clinic that mixes decoys among its cases, seals every item to
the provider drawn and reveals its decoys, and a provider that opens the items, runs the model (or fakes some) and
commits and reveals. Both follow the calls of `runtime.compute.private` exactly, so that attack tests change one
thing at a time."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from btt_chain.primitives.merkle import merkle_levels, merkle_proof
from btt_chain.primitives.sealed_cases import (
    CASE,
    RESULT,
    BoxKeypair,
    BoxPublicKey,
    SealBinding,
    SealedItemUnreadable,
    decoy_commitment,
    decoy_item_hash,
    item_secret,
    open_item,
    seal_item,
    shared_key,
)
from runtime.compute import storage, verify
from runtime.compute.inference import infer
from runtime.compute.inputs import input_root, output_root
from runtime.compute.model import input_bytes
from runtime.compute.models import built
from runtime.compute.types import DecoyOpening, Job, PrivateJob, PrivateOpening
from runtime.executive import ApplyOutcome
from tests.support.job_inputs import input_xts
from tests.support.runtime_builder import TestChain, acct


def job_of(chain: TestChain, job_id: int) -> Job:
    job = storage.jobs.get(chain.view(), job_id)
    assert job is not None
    return job


def record_of(chain: TestChain, job_id: int) -> PrivateJob:
    rec = storage.private_jobs.get(chain.view(), job_id)
    assert rec is not None
    return rec


def genesis(chain: TestChain) -> bytes:
    from runtime.compute import private

    return private.genesis_hash(chain.view())


@dataclass
class Clinic:
    """A clinic with `cases` real cases of a model; a job's items are its cases with `decoys` decoys mixed in at
    random positions (`rng`)."""

    chain: TestChain
    name: str
    model: bytes
    secret: bytes = b"\x11" * 32
    salt: bytes = b"\x22" * 32
    rng: random.Random = field(default_factory=lambda: random.Random(7))
    items: list[bytes] = field(default_factory=list)
    positions: tuple[int, ...] = ()
    sealed: list[bytes] = field(default_factory=list)
    job_id: int = -1

    @property
    def keypair(self) -> BoxKeypair:
        return BoxKeypair.from_seed(self.secret + b"box")

    @property
    def account(self) -> bytes:
        return acct(self.name)

    def width(self) -> int:
        reg = storage.models.get(self.chain.view(), self.model)
        assert reg is not None
        return input_bytes(reg.spec)

    def set_key(self) -> ApplyOutcome:
        return self.chain.submit(self.name, "compute.set_box_key", self.keypair.public.raw)

    def prepare(self, items: int, decoys: int) -> bytes:
        """Draw the job's items (random int8 rows) and decoy positions; the commitment to post."""
        width = self.width()
        self.items = [self.rng.randbytes(width) for _ in range(items)]
        self.positions = tuple(sorted(self.rng.sample(range(items), decoys)))
        return self.commitment()

    def commitment(self) -> bytes:
        hashes = [decoy_item_hash(self.items[p]) for p in self.positions]
        return decoy_commitment(self.salt, len(self.items), self.positions, hashes)

    def post_args(self, price: int, deadline_ms: int) -> tuple[object, ...]:
        return (self.model, len(self.items), len(self.positions), self.commitment(), price, deadline_ms)

    def post(self, items: int, decoys: int, price: int, deadline_ms: int) -> ApplyOutcome:
        self.prepare(items, decoys)
        self.job_id = storage.next_job_id.get(self.chain.view())
        return self.chain.submit(self.name, "compute.post_private_job", *self.post_args(price, deadline_ms))

    def binding(self, index: int, job_id: int | None = None) -> SealBinding:
        return SealBinding(genesis(self.chain), self.job_id if job_id is None else job_id, index, CASE)

    def item_esk(self, index: int, key: BoxPublicKey, job_id: int | None = None) -> bytes:
        return item_secret(self.secret, self.binding(index, job_id), key, self.items[index])

    def seal(self, key: bytes | None = None, job_id: int | None = None) -> list[bytes]:
        """Every item sealed to the assigned provider's recorded key (or `key`), bound to this job (or `job_id`)."""
        recipient = BoxPublicKey(record_of(self.chain, self.job_id).provider_key if key is None else key)
        self.sealed = [seal_item(x, recipient, self.item_esk(i, recipient, job_id), self.binding(i, job_id))
                       for i, x in enumerate(self.items)]
        return self.sealed

    def submit_sealed(self, items: bool = True) -> ApplyOutcome:
        """The sealed root and, from spec 17, every sealed item on chain (`items=False`: the root only, the items
        withheld), in one block; the first failure or the last outcome."""
        chain = self.chain
        nonce = chain.account(self.account).nonce
        xts = [chain.sign(self.name, "compute.submit_sealed_inputs", self.job_id, input_root(self.sealed), nonce=nonce)]
        if items and chain.runtime.spec_version >= 17:
            xts += input_xts(chain, self.name, self.job_id, self.sealed, nonce + 1)
        outcomes = chain.run_block(xts).outcomes[-len(xts):]
        return next((o for o in outcomes if not o.success), outcomes[-1])

    def decoy_openings(self) -> tuple[DecoyOpening, ...]:
        key = BoxPublicKey(record_of(self.chain, self.job_id).provider_key)
        levels = merkle_levels(self.sealed)
        return tuple(DecoyOpening(p, self.items[p], self.item_esk(p, key), merkle_proof(levels, p))
                     for p in self.positions)

    def reveal(self, openings: tuple[DecoyOpening, ...] | None = None, salt: bytes | None = None) -> ApplyOutcome:
        return self.chain.submit(self.name, "compute.reveal_decoys", self.job_id, self.salt if salt is None else salt,
                                 self.decoy_openings() if openings is None else openings)

    def open_args(self, index: int, sealed_output: bytes, output_proof: tuple[bytes, ...]) -> tuple[object, ...]:
        """`compute.open_case`'s arguments for item `index`: its case and secret, and the provider's sealed output
        with this clinic's key for it."""
        key = BoxPublicKey(record_of(self.chain, self.job_id).provider_key)
        try:
            output_key = shared_key(sealed_output, self.keypair)
        except SealedItemUnreadable:
            output_key = bytes(32)
        return (self.job_id, index, self.items[index], self.item_esk(index, key),
                merkle_proof(merkle_levels(self.sealed), index), sealed_output, output_key, output_proof)

    def read_results(self, sealed_outputs: list[bytes]) -> list[bytes]:
        """The provider's outputs, opened with this clinic's key."""
        return [open_item(s, self.keypair, SealBinding(genesis(self.chain), self.job_id, i, RESULT))
                for i, s in enumerate(sealed_outputs)]

    @property
    def real(self) -> list[int]:
        return [i for i in range(len(self.items)) if i not in self.positions]


@dataclass
class Provider:
    """A provider with a box key derived from `seed`: opens the sealed items it is given, runs the model on the ones
    it does not `skip` (a skipped item gets a made-up output), commits, and reveals the decoys."""

    chain: TestChain
    name: str
    seed: bytes = b"\x33" * 32
    salt: bytes = b"\x44" * 32
    skip: frozenset[int] = frozenset()
    outputs: list[bytes] = field(default_factory=list)
    """Its outputs sealed to the clinic: the leaves of the output root."""
    plain: list[bytes] = field(default_factory=list)
    secrets: list[bytes] = field(default_factory=list)

    @property
    def keypair(self) -> BoxKeypair:
        return BoxKeypair.from_seed(self.seed)

    @property
    def account(self) -> bytes:
        return acct(self.name)

    def set_key(self) -> ApplyOutcome:
        return self.chain.submit(self.name, "compute.set_box_key", self.keypair.public.raw)

    def open_all(self, job_id: int, sealed: list[bytes]) -> list[bytes | None]:
        """Each sealed item opened with this provider's key (None where it does not open)."""
        out: list[bytes | None] = []
        for i, s in enumerate(sealed):
            try:
                out.append(open_item(s, self.keypair, SealBinding(genesis(self.chain), job_id, i, CASE)))
            except SealedItemUnreadable:
                out.append(None)
        return out

    def compute(self, job_id: int, sealed: list[bytes]) -> list[bytes]:
        """The outputs it commits to, each sealed to the clinic: the model's on every opened item it does not skip; a
        made-up one elsewhere. `plain` keeps them unsealed."""
        job = job_of(self.chain, job_id)
        reg = storage.models.get(self.chain.view(), job.model)
        assert reg is not None
        opened = self.open_all(job_id, sealed)
        run = [i for i, x in enumerate(opened) if x is not None and i not in self.skip]
        results = dict(zip(run, infer(built(reg.spec), [opened[i] for i in run]), strict=True)) if run else {}
        made_up = b"\x00" * len(next(iter(results.values()))) if results else b"\x00\x00"
        self.plain = [results.get(i, made_up) for i in range(job.items)]
        clinic = BoxPublicKey(record_of(self.chain, job_id).clinic_key)
        self.secrets = [item_secret(self.seed, self.result_binding(job_id, i), clinic, out)
                        for i, out in enumerate(self.plain)]
        self.outputs = [seal_item(out, clinic, esk, self.result_binding(job_id, i))
                        for i, (out, esk) in enumerate(zip(self.plain, self.secrets, strict=True))]
        return self.outputs

    def result_binding(self, job_id: int, index: int) -> SealBinding:
        return SealBinding(genesis(self.chain), job_id, index, RESULT)

    def commit_args(self, job_id: int, sealed: list[bytes]) -> tuple[int, bytes]:
        self.compute(job_id, sealed)
        return job_id, verify.result_commitment(output_root(self.outputs), self.salt)

    def commit(self, job_id: int, sealed: list[bytes]) -> ApplyOutcome:
        return self.chain.submit(self.name, "compute.commit_result", *self.commit_args(job_id, sealed))

    def openings(self, job_id: int) -> tuple[PrivateOpening, ...]:
        job = job_of(self.chain, job_id)
        levels = merkle_levels(self.outputs)
        return tuple(PrivateOpening(p, self.plain[p], self.secrets[p], merkle_proof(levels, p))
                     for p in verify.sample_at(self.chain.view(), job, job.assignments[0], 8))

    def reveal(self, job_id: int) -> ApplyOutcome:
        return self.chain.submit(self.name, "compute.reveal_private_result", job_id, output_root(self.outputs),
                                 self.salt, self.openings(job_id))

    def output_proof(self, index: int) -> tuple[bytes, ...]:
        return merkle_proof(merkle_levels(self.outputs), index)
