"""A dev chain that private jobs (issue 51) run through for `bench.private_bench`: alice provides compute, ferdie is the
clinic, and a second node imports every block so that a block can be timed as a node imports it.

The players follow `runtime.compute.private` call by call, as `tests/support/private_jobs.py` does on a test chain:
the clinic draws random cases of the model's width with decoys among them, commits to the decoys, seals every item to
the key the chain recorded for the provider drawn and gives the root; the provider opens every item, runs the model,
seals each output back to the clinic and commits; the clinic reveals its decoys; once the sample is fixed the provider
reveals the decoys' outputs. Every call must succeed (RuntimeError otherwise): the bench times only real work.
"""

from __future__ import annotations

import dataclasses
import random
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass

from btt_chain.miner.clinic import input_chunk_args
from btt_chain.node.chain import Chain
from btt_chain.primitives import sealed_cases as sc
from btt_chain.primitives.extrinsic import Extrinsic, sign_extrinsic
from btt_chain.primitives.hashing import ZERO_HASH
from btt_chain.primitives.keys import Keypair, dev_keypair
from btt_chain.primitives.merkle import merkle_levels, merkle_proof
from genesis.build import build_genesis, genesis_config
from genesis.loader import load_chain_spec, materialise, parse_chain_spec
from runtime.compute import assignment, costs, private, verify
from runtime.compute import storage as compute
from runtime.compute.inference import infer
from runtime.compute.inputs import input_root, output_root
from runtime.compute.model import ModelSpec, input_bytes, model_hash
from runtime.compute.models import built
from runtime.compute.types import DecoyOpening, Opening, PrivateOpening
from runtime.overlay import Overlay
from runtime.params.storage import get_param
from runtime.system import storage as system
from storage.memory import MemoryStore

GENESIS_TIME_MS = 1_700_000_000_000
FAR = GENESIS_TIME_MS + 10**10
"""The importer's clock: far enough ahead that no bench block is from its future."""
LIFTED = ("compute.max_open_jobs_per_requester", "compute.max_open_share_bps", "compute.max_capacity")
"""Dev parameters raised to their maximum: one clinic posts every bench job, one provider takes them all."""
CAPACITY = 384
"""Assignments alice may hold (its dev bond covers 400 fixed slashes)."""
SAMPLE_WAIT_BLOCKS = 200
"""Blocks to wait at most for a bench job's sample (two 20-slot epochs after its commit window, on the dev chain)."""


@dataclass
class PrivateJob:
    """One bench job as its two players hold it."""

    job_id: int
    spec: ModelSpec
    items: list[bytes]
    """The clinic's items, decoys among them (random rows of the model's width: the chain's costs do not depend on
    what a case holds)."""
    positions: tuple[int, ...]
    salt: bytes
    """The clinic's decoy-commitment salt, also the provider's result salt (they need not differ for the bench)."""
    secret: bytes
    """The clinic's one secret its items' ephemeral secrets derive from."""
    sealed: list[bytes] = dataclasses.field(default_factory=list)
    """The items sealed to the provider: the leaves of the sealed root."""
    results: list[bytes] = dataclasses.field(default_factory=list)
    """The provider's outputs, in the clear."""
    result_secrets: list[bytes] = dataclasses.field(default_factory=list)
    sealed_results: list[bytes] = dataclasses.field(default_factory=list)
    """The outputs sealed to the clinic: the leaves of the output root."""

    def commitment(self) -> bytes:
        hashes = [sc.decoy_item_hash(self.items[p]) for p in self.positions]
        return sc.decoy_commitment(self.salt, len(self.items), self.positions, hashes)


class BenchChain:
    """An author chain and an importer chain on one dev genesis."""

    def __init__(self) -> None:
        spec = parse_chain_spec(materialise(load_chain_spec("dev").raw, GENESIS_TIME_MS))
        config = genesis_config(spec)
        params = tuple(dataclasses.replace(p, value=p.max) if p.name in LIFTED else p for p in config.params)
        genesis = build_genesis(spec, dataclasses.replace(config, params=params))
        self.author = Chain(MemoryStore(), genesis)
        self.importer = Chain(MemoryStore(), genesis)
        self.alice, self.ferdie = dev_keypair("alice"), dev_keypair("ferdie")
        self.provider_box = sc.BoxKeypair.from_seed(b"bench provider box key".ljust(32, b"."))
        self.provider_secret = b"bench provider result secret".ljust(32, b".")
        self.clinic_box = sc.BoxKeypair.from_seed(b"bench clinic box key".ljust(32, b"."))
        self.synced = 0
        self.set_box_key_xt = self.sign(self.ferdie, "compute.set_box_key", self.clinic_box.public.raw)
        self.block([self.sign(self.alice, "compute.register_provider", CAPACITY, 0, 2),
                    self.sign(self.alice, "compute.set_box_key", self.provider_box.public.raw, offset=1),
                    self.set_box_key_xt])

    def state(self) -> Overlay:
        return self.author.state()

    def sign(self, pair: Keypair, name: str, *args: object, offset: int = 0) -> Extrinsic:
        """`name`(*args) signed by `pair` with its next nonce (plus `offset`)."""
        runtime = self.author.runtime
        nonce = system.account.get(self.state(), pair.public).nonce + offset
        return sign_extrinsic(pair, runtime.call(name, *args), nonce, self.author.genesis_hash, runtime.spec_version)

    def signed_many(self, pair: Keypair, name: str, args: Sequence[tuple[object, ...]]) -> list[Extrinsic]:
        return [self.sign(pair, name, *a, offset=i) for i, a in enumerate(args)]

    def weight(self, xt: Extrinsic) -> int:
        """The weight the runtime charges `xt` on the head state (its CallDef weight and extra weight)."""
        runtime = self.author.runtime
        return runtime.weight(self.state(), runtime.decode_call(xt.call))

    def block(self, xts: Sequence[Extrinsic]) -> None:
        """Author a block of `xts` in the next slot; RuntimeError if any is dropped or fails."""
        imported, dropped = self.author.author_block(self.author.head.slot + 1, self.alice,
                                                     [(x, len(x.encode())) for x in xts])
        if dropped:
            raise RuntimeError(f"bench extrinsic dropped: {dropped[0][1]}")
        failed = [o for o in (imported.result.outcomes if imported.result else ()) if not o.success]
        if failed:
            raise RuntimeError(f"bench extrinsic {failed[0].index} failed: {failed[0].error}")

    def sync(self) -> None:
        """The importer imports every block it does not have yet, untimed."""
        for n in range(self.synced + 1, self.author.head.number + 1):
            b = self.author.db.get_block(self.author.db.canonical_hash(n) or b"")
            assert b is not None
            self.importer.import_block(b.encode(), FAR)
        self.synced = self.author.head.number

    def timed_block(self, xts: Sequence[Extrinsic]) -> float:
        """Author a block of `xts`, then import it on the other node: its import time in microseconds, as CPU time of
        this process (the importer runs in it, its signatures checked in-process), so that what other processes on a
        shared host take from it does not count: the time on a core of its own, which a weight stands for."""
        self.sync()
        self.block(xts)
        b = self.author.db.get_block(self.author.head_hash)
        assert b is not None
        start = time.process_time()
        self.importer.import_block(b.encode(), FAR)
        us = (time.process_time() - start) * 1e6
        self.synced = self.author.head.number
        return us

    def empty_block_us(self) -> float:
        """The import time of an empty block here and now (the median of five), to take off a timed block's."""
        return statistics.median(self.timed_block([]) for _ in range(5))

    def job_terms(self, spec: ModelSpec, items: int, decoys: int = 0) -> tuple[int, int]:
        """(the floor price of a job with `decoys` (0: a public one), a deadline with room for a private job) on this
        chain."""
        state = self.state()
        return costs.min_price(state, spec, items, 1, decoys), 2 * assignment.min_deadline_ms(state, True)


# --- the clinic --------------------------------------------------------------------------------------------------


def new_jobs(chain: BenchChain, spec: ModelSpec, items: int, decoys: int, count: int,
             rng: random.Random) -> list[PrivateJob]:
    first = compute.next_job_id.get(chain.state())
    jobs = []
    for i in range(count):
        cases = [rng.randbytes(input_bytes(spec)) for _ in range(items)]
        positions = tuple(sorted(rng.sample(range(items), decoys)))
        jobs.append(PrivateJob(first + i, spec, cases, positions, rng.randbytes(32), rng.randbytes(32)))
    return jobs


def post_args(job: PrivateJob, price: int, deadline_ms: int) -> tuple[object, ...]:
    return (model_hash(job.spec), len(job.items), len(job.positions), job.commitment(), price, deadline_ms)


def item_secret(chain: BenchChain, job: PrivateJob, index: int) -> bytes:
    rec = private.record(chain.state(), job.job_id)
    assert rec is not None
    binding = private.binding(chain.state(), job.job_id, index)
    return sc.item_secret(job.secret, binding, sc.BoxPublicKey(rec.provider_key), job.items[index])


def seal_items(chain: BenchChain, job: PrivateJob) -> bytes:
    """Every item sealed to the key the chain recorded for the provider drawn; the sealed root."""
    rec = private.record(chain.state(), job.job_id)
    assert rec is not None
    key = sc.BoxPublicKey(rec.provider_key)
    job.sealed = [sc.seal_item(x, key, item_secret(chain, job, i), private.binding(chain.state(), job.job_id, i))
                  for i, x in enumerate(job.items)]
    return input_root(job.sealed)


def decoy_openings(chain: BenchChain, job: PrivateJob) -> tuple[DecoyOpening, ...]:
    levels = merkle_levels(job.sealed)
    return tuple(DecoyOpening(p, job.items[p], item_secret(chain, job, p), merkle_proof(levels, p))
                 for p in job.positions)


# --- the provider ------------------------------------------------------------------------------------------------


def compute_results(chain: BenchChain, job: PrivateJob) -> bytes:
    """The provider opens every sealed item, runs the model, seals each output to the clinic; its commitment."""
    state = chain.state()
    opened = [sc.open_item(s, chain.provider_box, private.binding(state, job.job_id, i))
              for i, s in enumerate(job.sealed)]
    job.results = infer(built(job.spec), opened)
    rec = private.record(state, job.job_id)
    assert rec is not None
    clinic = sc.BoxPublicKey(rec.clinic_key)
    bindings = [private.result_binding(state, job.job_id, i) for i in range(len(job.results))]
    job.result_secrets = [sc.item_secret(chain.provider_secret, b, clinic, out)
                          for b, out in zip(bindings, job.results, strict=True)]
    job.sealed_results = [sc.seal_item(out, clinic, esk, b)
                          for out, esk, b in zip(job.results, job.result_secrets, bindings, strict=True)]
    return verify.result_commitment(output_root(job.sealed_results), job.salt)


def private_openings(chain: BenchChain, job: PrivateJob) -> tuple[PrivateOpening, ...]:
    """The provider's reveal opens the sample the chain holds: for a private job, its revealed decoys."""
    state = chain.state()
    record = compute.jobs.get(state, job.job_id)
    sample = verify.sample_at(state, record, record.assignments[0], get_param(state, "compute.sample_size"))
    levels = merkle_levels(job.sealed_results)
    return tuple(PrivateOpening(p, job.results[p], job.result_secrets[p], merkle_proof(levels, p)) for p in sample)


def public_reveal_args(chain: BenchChain, job: PrivateJob) -> tuple[object, ...]:
    """The reveal a public job of the same cases would take: `compute.sample_size` items opened in the clear, each
    with its input's and output's paths."""
    n = get_param(chain.state(), "compute.sample_size")
    inputs, outputs = merkle_levels(job.items), merkle_levels(job.results)
    openings = tuple(Opening(i, job.items[i], job.results[i], merkle_proof(inputs, i), merkle_proof(outputs, i))
                     for i in range(min(n, len(job.items))))
    return job.job_id, output_root(job.results), job.salt, openings


# --- the life of a job ---------------------------------------------------------------------------------------------


def committed_jobs(chain: BenchChain, spec: ModelSpec, items: int, decoys: int, count: int,
                   rng: random.Random) -> list[PrivateJob]:
    """`count` private jobs posted at the floor price, assigned to alice, sealed and committed: the point where the
    clinic reveals its decoys."""
    jobs = new_jobs(chain, spec, items, decoys, count, rng)
    price, deadline = chain.job_terms(spec, items, decoys)
    chain.block(chain.signed_many(chain.ferdie, "compute.post_private_job", [post_args(j, price, deadline)
                                                                             for j in jobs]))
    chain.block([])  # assignment
    state = chain.state()
    if not all(compute.jobs.get(state, j.job_id).assignments for j in jobs):
        raise RuntimeError("a bench job was not assigned")
    chain.block(chain.signed_many(chain.ferdie, "compute.submit_sealed_inputs",
                                  [(j.job_id, seal_items(chain, j)) for j in jobs]))
    chain.block(sealed_input_xts(chain, jobs))  # spec 17: the sealed items on chain before the provider commits
    chain.block(chain.signed_many(chain.alice, "compute.commit_result",
                                  [(j.job_id, compute_results(chain, j)) for j in jobs]))
    return jobs


def sealed_input_xts(chain: BenchChain, jobs: Sequence[PrivateJob]) -> list[Extrinsic]:
    """Every sealed chunk of `jobs` (`compute.post_inputs`), signed by their clinic."""
    return chain.signed_many(chain.ferdie, "compute.post_inputs",
                             [args for j in jobs for args in input_chunk_args(j.job_id, j.sealed, j.spec, True)])


def reveal_decoys_xts(chain: BenchChain, jobs: Sequence[PrivateJob]) -> list[Extrinsic]:
    return chain.signed_many(chain.ferdie, "compute.reveal_decoys",
                             [(j.job_id, j.salt, decoy_openings(chain, j)) for j in jobs])


def checked(chain: BenchChain, jobs: Sequence[PrivateJob]) -> None:
    """RuntimeError unless every job's decoys are recorded as revealed."""
    state = chain.state()
    for j in jobs:
        rec = private.record(state, j.job_id)
        if rec is None or rec.positions != j.positions:
            raise RuntimeError(f"bench job {j.job_id}: its decoys were not recorded as revealed")


def provider_reveals(chain: BenchChain, jobs: Sequence[PrivateJob], empty_us: float) -> tuple[Extrinsic, list[float]]:
    """Empty blocks until each job's sample is fixed, and the provider's reveals in the next block, timed (a provider
    that did not reveal would be slashed and paused, and drawn for no later bench job). Returns the first reveal and
    each timed block's import time per reveal, less `empty_us`."""
    pending, runs = list(jobs), []
    first: Extrinsic | None = None
    for _ in range(SAMPLE_WAIT_BLOCKS):
        state = chain.state()
        ready = [j for j in pending if compute.jobs.get(state, j.job_id).assignments[0].sample_seed != ZERO_HASH]
        if not ready:
            chain.block([])
            continue
        xts = chain.signed_many(chain.alice, "compute.reveal_private_result",
                                [(j.job_id, output_root(j.sealed_results), j.salt, private_openings(chain, j))
                                 for j in ready])
        first = first or xts[0]
        runs.append((chain.timed_block(xts) - empty_us) / len(xts))
        pending = [j for j in pending if j not in ready]
        if not pending:
            return first, runs
    raise RuntimeError(f"no sample for bench job {pending[0].job_id} within {SAMPLE_WAIT_BLOCKS} blocks")
