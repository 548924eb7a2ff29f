"""Receipt verification, and what the work-proof calls cost a node against what they weigh.

Run: python -m bench.receipt_bench [jobs] [items]   (or `btt-chain bench receipt`)

On a dev chain (alice validates and provides compute, ferdie posts synthetic jobs) a second node imports the
blocks the first authors; only the blocks of interest are timed, each end to end (decode, signatures,
execution with re-execution of what the calls name, state root, commit), less the import time of an empty block.

1. Receipts: the block holding `jobs` reveals of the reference model is imported; the verification core
   (Merkle paths and inference of the sampled items) is timed alone too. Target: under 5 ms a receipt.
2. Weights against time, from the smallest valid model to the largest: for each model a block of reveals and a
   block of challenges (honest items: every node re-executes them, then the call fails, which costs the same),
   and for the widest output a block of output chunks. Each call's weight beside its measured import time; one
   weight unit is meant to be one microsecond, so the ratio should stay within 0.5 to 2.
3. The worst block: challenges of the largest model up to `block.max_weight`, imported, against the slot.
"""

from __future__ import annotations

import dataclasses
import os
import statistics
import sys
import time
from collections.abc import Sequence

from bench.errors import BenchFailed
from btt_chain.miner.engine import JobSpec, PreparedResult, compute_result, output_chunks
from btt_chain.models.random_model import HeldWeights, dense_chain, random_model
from btt_chain.node.chain import Chain
from btt_chain.primitives.amounts import format_btt
from btt_chain.primitives.extrinsic import Extrinsic, sign_extrinsic
from btt_chain.primitives.keys import Keypair, dev_keypair
from btt_chain.primitives.merkle import verify_merkle_proof
from genesis.build import build_genesis, genesis_config
from genesis.loader import load_chain_spec, materialise, parse_chain_spec
from runtime.compute import params as compute_params
from runtime.compute import storage as compute
from runtime.compute import weights_source
from runtime.compute.costs import min_price
from runtime.compute.inference import infer
from runtime.compute.model import ModelSpec, macs_per_item, model_hash
from runtime.compute.models import built
from runtime.compute.reference import reference_model, reference_spec
from runtime.compute.types import VERIFIED
from runtime.compute.verify import sample_of
from runtime.fees.logic import compute_fee
from runtime.modules import RUNTIME
from runtime.params.storage import get_param
from runtime.system import storage as system
from storage.memory import MemoryStore

GENESIS_TIME_MS = 1_700_000_000_000
UNIT = 10**18
MODEL = "breast-cancer-v1"
FAR = GENESIS_TIME_MS + 10**10
EXPECTED_FAILURE = "compute.ChallengeFailed"
"""The one failure a bench block may hold: a challenge of an honest item (re-executed by every node, then refused)."""


def _ladder() -> tuple[tuple[ModelSpec, ...], HeldWeights]:
    """From the smallest valid model (one multiply-accumulate an item) to the largest the chain allows (about
    7.6 M multiply-accumulates an item, dense and convolutional), the two trained reference models among them;
    the random-weight ones are held by the weights source returned beside them (a `Bench` installs it)."""
    held = HeldWeights()
    specs = [
        held.add(*dense_chain("smallest", (1, 1))),
        reference_spec(MODEL),
        reference_spec("digits-conv-v1"),
        held.add(*dense_chain("mlp-256", (256, 256, 10))),
        held.add(*dense_chain("dense-1024", (1024, 1024, 256))),
        held.add(*dense_chain("deep-1024x4", (1024,) * 5 + (256,))),
        held.add(*dense_chain("largest-dense", (1024,) * 8 + (256,))),
        held.add(*random_model("largest-conv", (16, 8, 8), [("conv3", 64)] * 4 + [("dense", 10)])),
    ]
    return tuple(specs), held


LADDER, HELD = _ladder()
REPEATS = 3
"""Challenge blocks timed per model (the median counts)."""
LADDER_ITEMS = 64


def _sign(chain: Chain, pair: Keypair, name: str, *args: object, nonce: int) -> Extrinsic:
    return sign_extrinsic(pair, RUNTIME.call(name, *args), nonce, chain.genesis_hash, RUNTIME.spec_version)


class Bench:
    """An author chain and an importer chain on one dev genesis (with the ladder's models registered)."""

    def __init__(self, models: Sequence[ModelSpec]) -> None:
        # the process's weights source holds the ladder's random weights (installed here, not at import: a process
        # that runs the bench twice, as the suite's in-process tests do, may have put another source back between)
        weights_source.install(HELD)
        spec = parse_chain_spec(materialise(load_chain_spec("dev").raw, GENESIS_TIME_MS))
        config = genesis_config(spec)
        # one requester (ferdie) posts every bench job and one provider (alice) takes them all: lift the bound on a
        # requester's open jobs and the market share one provider may hold (issue 52: 5% of compute.max_open_jobs on
        # the dev chain, 50 assignments, which --jobs 64 went past)
        lifted = ("compute.max_open_jobs_per_requester", "compute.max_open_share_bps")
        params = tuple(dataclasses.replace(p, value=p.max) if p.name in lifted else p for p in config.params)
        config = dataclasses.replace(config, models=(*config.models, *models), params=params)
        genesis = build_genesis(spec, config)
        self.author = Chain(MemoryStore(), genesis)
        self.importer = Chain(MemoryStore(), genesis)
        self.alice, self.ferdie = dev_keypair("alice"), dev_keypair("ferdie")
        self.synced = 0

    def nonce(self, pair: Keypair) -> int:
        return system.account.get(self.author.state(), pair.public).nonce

    def block(self, xts: Sequence[Extrinsic], partial: bool = False) -> int:
        """Author a block of `xts` (in order); how many of them it holds. The author stops at the block's limits
        (weight, bytes, count) without dropping the rest: unless `partial`, a block that holds fewer than all of
        them is an error (a reveal left out misses its deadline and pauses alice, so that later jobs go unassigned)."""
        imported, dropped = self.author.author_block(self.author.head.slot + 1, self.alice,
                                                     [(x, len(x.encode())) for x in xts])
        if dropped:
            raise RuntimeError(f"bench extrinsic dropped: {dropped[0][1]}")
        held = sum(1 for x in imported.block.extrinsics if isinstance(x, Extrinsic))
        if held < len(xts) and (not partial or not held):
            raise RuntimeError(f"a bench block held {held} of its {len(xts)} extrinsics (the block is full)")
        for outcome in imported.result.outcomes if imported.result else ():
            # an honest item's challenge fails by design (every node re-executes it first); nothing else may
            if not outcome.success and not (outcome.error or "").startswith(EXPECTED_FAILURE):
                raise RuntimeError(f"bench extrinsic {outcome.index} failed: {outcome.error}")
        return held

    def sync(self) -> None:
        """The importer imports every block it does not have yet, untimed."""
        for n in range(self.synced + 1, self.author.head.number + 1):
            b = self.author.db.get_block(self.author.db.canonical_hash(n) or b"")
            assert b is not None
            self.importer.import_block(b.encode(), FAR)
        self.synced = self.author.head.number

    def blocks(self, xts: Sequence[Extrinsic]) -> None:
        """Author as many blocks as `xts` (in order) take, untimed (the set-up's posts and commits)."""
        done = 0
        while done < len(xts):
            done += self.block(xts[done:], partial=True)

    def timed_block(self, xts: Sequence[Extrinsic]) -> float:
        """Author a block of all of `xts`, then import it on the other node: its import time in ms."""
        return self.timed_prefix(xts)[0]

    def timed_prefix(self, xts: Sequence[Extrinsic], partial: bool = False) -> tuple[float, int]:
        """Author a block of `xts` (with `partial`, of as many as fit), then import it on the other node: its import
        time in ms and how many of `xts` it holds."""
        self.sync()
        held = self.block(xts, partial)
        b = self.author.db.get_block(self.author.head_hash)
        assert b is not None
        t = time.perf_counter()
        self.importer.import_block(b.encode(), FAR)
        ms = (time.perf_counter() - t) * 1000
        self.synced = self.author.head.number
        return ms, held

    def empty_block_ms(self) -> float:
        """The import time of an empty block here and now (the median of five), to subtract from a timed block."""
        return statistics.median(self.timed_block([]) for _ in range(5))

    def until_sampled(self, job_ids: Sequence[int]) -> None:
        for _ in range(200):
            state = self.author.state()
            if all(compute.jobs.get(state, j).assignments[0].sample_seed != bytes(32) for j in job_ids):
                return
            self.block([])
        raise RuntimeError("samples were never fixed")

    def verified_jobs(self, spec: ModelSpec, count: int, items: int) -> dict[int, PreparedResult]:
        """`count` jobs of `spec` posted by ferdie and computed by alice, committed and sampled (not revealed)."""
        h = model_hash(spec)
        state = self.author.state()
        n = self.nonce(self.ferdie)
        price = min_price(state, spec, items, 1)
        seeds = [os.urandom(32) for _ in range(count)]
        first = compute.next_job_id.get(state)
        self.blocks([_sign(self.author, self.ferdie, "compute.post_job", h, bytes(32), s, items, price, 1, 300_000,
                           nonce=n + i) for i, s in enumerate(seeds)])
        self.block([])  # assignment
        state = self.author.state()
        work = {}
        n = self.nonce(self.alice)
        commits = []
        for i, seed in enumerate(seeds):
            job = compute.jobs.get(state, first + i)
            if not job.assignments:
                raise RuntimeError(f"bench job {first + i} ({spec.name}) was not assigned to alice")
            work[first + i] = compute_result(JobSpec(first + i, spec, seed, job.input_root, items), os.urandom(32))
            commits.append(_sign(self.author, self.alice, "compute.commit_result", first + i,
                                 work[first + i].commitment, nonce=n + i))
        self.blocks(commits)
        self.until_sampled(list(work))
        return work

    def reveals(self, work: dict[int, PreparedResult]) -> list[Extrinsic]:
        state = self.author.state()
        size = get_param(state, "compute.sample_size")
        n = self.nonce(self.alice)
        out = []
        for i, (job_id, result) in enumerate(sorted(work.items())):
            job = compute.jobs.get(state, job_id)
            openings = result.openings(sample_of(job, job.assignments[0], size))
            out.append(_sign(self.author, self.alice, "compute.reveal_result", job_id, result.output_root,
                             result.salt, openings, nonce=n + i))
        return out

    def challenges(self, job_id: int, result: PreparedResult, count: int) -> list[Extrinsic]:
        n = self.nonce(self.ferdie)
        (o,) = result.openings((result.items // 2,))
        return [_sign(self.author, self.ferdie, "compute.challenge", job_id, self.alice.public, o.index, o.input,
                      o.output, o.input_proof, o.output_proof, nonce=n + i) for i in range(count)]

    def weight(self, xt: Extrinsic) -> int:
        return RUNTIME.weight(self.author.state(), RUNTIME.decode_call(xt.call))


def receipts(bench: Bench, jobs: int, items: int) -> dict[str, float | str]:
    spec = reference_model(MODEL).spec
    most = get_param(bench.author.state(), compute_params.MAX_ITEMS)
    if items > most:
        raise BenchFailed(f"the dev chain takes jobs of 1 to {most} items, not {items}: ask for fewer --items")
    work = bench.verified_jobs(spec, jobs, items)
    state = bench.author.state()
    size = get_param(state, "compute.sample_size")
    core_ms = []
    for job_id, result in sorted(work.items()):
        job = compute.jobs.get(state, job_id)
        openings = result.openings(sample_of(job, job.assignments[0], size))
        t = time.perf_counter()
        ok = all(
            verify_merkle_proof(job.input_root, o.input, o.index, items, o.input_proof)
            and verify_merkle_proof(result.output_root, o.output, o.index, items, o.output_proof)
            for o in openings
        )
        same = infer(built(spec), [o.input for o in openings]) == [o.output for o in openings]
        core_ms.append((time.perf_counter() - t) * 1000)
        assert ok and same
    reveals = bench.reveals(work)
    block_bytes = sum(len(x.encode()) for x in reveals)
    import_ms, held = bench.timed_prefix(reveals, partial=True)
    if held < jobs:
        raise BenchFailed(f"a block holds {held} reveals of jobs of {items} items, not {jobs}: ask for fewer --jobs "
                          "or --items")
    verified = [j for j in work if compute.jobs.get(bench.importer.state(), j).assignments[0].state == VERIFIED]
    if len(verified) != jobs:
        raise RuntimeError(f"the importer verified {len(verified)} reveals, expected {jobs}")
    job_id, result = min(work.items())
    (challenge,) = bench.challenges(job_id, result, 1)
    fee = compute_fee(bench.author.state(), len(challenge.encode()), bench.weight(challenge))
    return {
        "jobs (receipts in the block)": jobs,
        "items per job": items,
        "sampled items per receipt": size,
        "receipt block bytes": block_bytes,
        "import of the receipt block ms": round(import_ms, 1),
        "import per receipt ms": round(import_ms / jobs, 3),
        "verification core per receipt ms (p50)": round(statistics.median(core_ms), 3),
        "verification core per receipt ms (max)": round(max(core_ms), 3),
        "challenge extrinsic bytes": len(challenge.encode()),
        "challenge weight (reference model)": bench.weight(challenge),
        "challenge fee BTT (dev fees)": format_btt(fee.inclusion_fee),
    }


def _calls_for(spec: ModelSpec) -> int:
    """Enough calls in a block that the block's own cost is small beside theirs, few enough to run quickly."""
    return max(20, min(50, 400_000 // max(1, macs_per_item(spec))))


LADDER_NAMES = tuple(m.name for m in LADDER)


def ladder(bench: Bench, models: Sequence[str] = LADDER_NAMES, calls_per_model: int | None = None,
           ) -> list[dict[str, object]]:
    """For each of `models` (the ladder's, in its order): a reveal's and a challenge's weight beside their measured
    import time, over `calls_per_model` reveals (default: by the model's size, `_calls_for`)."""
    rows = []
    for spec in (m for m in LADDER if m.name in models):
        calls = calls_per_model or _calls_for(spec)
        work = bench.verified_jobs(spec, calls, LADDER_ITEMS)
        empty = bench.empty_block_ms()  # the blocks around these carry the same hooks' work
        reveals = bench.reveals(work)
        reveal_weight = bench.weight(reveals[0])
        # as many reveals as one block holds are timed (the largest models' do not all fit); the rest follow at once,
        # before their deadline
        ms, timed_first = bench.timed_prefix(reveals, partial=True)
        reveal_us = (ms - empty) * 1000 / timed_first
        bench.block(reveals[timed_first:])
        job_id, result = min(work.items())
        challenge_weight = bench.weight(bench.challenges(job_id, result, 1)[0])
        many = max(calls, min(200, 4_000_000 // max(1, macs_per_item(spec))))  # one job takes any number of them
        per_challenge = []
        for _ in range(REPEATS):
            ms, held = bench.timed_prefix(bench.challenges(job_id, result, many), partial=True)
            per_challenge.append((ms - empty) * 1000 / held)
            many = held  # the rest were never included: the next block offers only what fits
        challenge_us = statistics.median(per_challenge)
        rows.append({
            "model": spec.name, "macs per item": macs_per_item(spec), "calls": calls, "reveals timed": timed_first,
            "reveal weight": reveal_weight, "reveal us": round(reveal_us), "reveal ratio": round(
                reveal_us / reveal_weight, 2),
            "challenges": many, "challenge weight": challenge_weight, "challenge us": round(challenge_us),
            "challenge ratio": round(challenge_us / challenge_weight, 2),
        })
    return rows


def chunks(bench: Bench, items: int = 1024) -> dict[str, object]:
    """Output chunks of the widest output (1,025-byte items) of three jobs of `items` items, demanded and posted:
    weight against time."""
    spec = LADDER[-2]
    work = bench.verified_jobs(spec, 3, items)
    bench.block(bench.reveals(work))
    n = bench.nonce(bench.ferdie)
    bench.block([_sign(bench.author, bench.ferdie, "compute.demand_outputs", job_id, bench.alice.public,
                       nonce=n + i) for i, job_id in enumerate(sorted(work))])
    n = bench.nonce(bench.alice)
    xts: list[Extrinsic] = []
    for job_id, result in sorted(work.items()):
        for first, chunk, proof in output_chunks(result, spec):
            xts.append(_sign(bench.author, bench.alice, "compute.post_outputs", job_id, first, chunk, proof,
                             nonce=n + len(xts)))
    weight = bench.weight(xts[0])
    empty = bench.empty_block_ms()
    ms = bench.timed_block(xts) - empty
    return {f"output chunks (3 jobs of {items:,} items of 1,025 bytes)": len(xts),
            "chunk weight": weight, "chunk us": round(ms * 1000 / len(xts)),
            "chunk ratio": round(ms * 1000 / len(xts) / weight, 2),
            "chunk bytes": len(xts[0].encode())}


def worst_block(bench: Bench) -> dict[str, object]:
    """A block filled to `block.max_weight` with challenges of the largest model."""
    spec = LADDER[-1]
    work = bench.verified_jobs(spec, 1, LADDER_ITEMS)
    bench.block(bench.reveals(work))
    job_id, result = min(work.items())
    (one,) = bench.challenges(job_id, result, 1)
    state = bench.author.state()
    max_weight = get_param(state, "block.max_weight")
    count = max_weight // bench.weight(one)
    xts = bench.challenges(job_id, result, count)
    ms = bench.timed_block(xts)
    slot_ms = bench.author.clock.slot_ms
    return {"worst block: challenges of the largest model": count,
            "worst block weight": count * bench.weight(one), "block.max_weight (dev)": max_weight,
            "worst block import ms": round(ms), "dev slot ms": slot_ms,
            "worst block import within the dev slot": "yes" if ms < slot_ms else "no"}


def run(jobs: int = 50, items: int = 1024, weights_table: bool = True, models: Sequence[str] = LADDER_NAMES,
        calls_per_model: int | None = None, chunk_items: int = 1024) -> dict[str, object]:
    """The receipts' figures; with `weights_table`, the ladder's rows for `models` (`ladder`), the output chunks of
    jobs of `chunk_items` items and the worst block."""
    unknown = sorted(set(models) - set(LADDER_NAMES))
    if unknown:
        raise ValueError(f"not a model of the ladder: {', '.join(unknown)} (it has {', '.join(LADDER_NAMES)})")
    bench = Bench([m for m in LADDER if m.name != MODEL] if weights_table else ())
    n = bench.nonce(bench.alice)
    bench.block([_sign(bench.author, bench.alice, "compute.register_provider", 64, 0, 2, nonce=n)])
    out: dict[str, object] = dict(receipts(bench, jobs, items))
    if weights_table:
        for row in ladder(bench, models, calls_per_model):
            name = row.pop("model")
            out[f"{name}"] = ", ".join(f"{k} {v}" for k, v in row.items())
        out.update(chunks(bench, chunk_items))
        out.update(worst_block(bench))
    return out


if __name__ == "__main__":
    jobs, items = (int(a) for a in (sys.argv[1:3] + ["50", "1024"][len(sys.argv[1:3]):]))
    for k, v in run(jobs, items).items():
        print(f"{k}: {v}")
