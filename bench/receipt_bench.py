"""Receipt verification: what one compute receipt costs a node while it imports the block that holds it.

Run: python -m bench.receipt_bench [jobs] [items]   (or `btt-chain bench receipt`)

A dev chain (alice validates and provides compute, ferdie posts synthetic jobs of the reference model)
runs the whole job flow; the block with `jobs` reveals is then imported by a second node, timed end to
end (decode, signatures, execution with re-execution of every sampled item, state root, commit), and the
verification core (Merkle paths and inference of the sampled items) is timed alone. Each reveal's sample
is verified in that block; its receipt (payment and credit) follows when the challenge window closes.
"""

from __future__ import annotations

import os
import statistics
import sys
import time

from btt_chain.miner.engine import JobSpec, compute_result
from btt_chain.node.chain import Chain
from btt_chain.primitives.amounts import format_btt
from btt_chain.primitives.extrinsic import Extrinsic, sign_extrinsic
from btt_chain.primitives.keys import Keypair, dev_keypair
from btt_chain.primitives.merkle import verify_merkle_proof
from genesis.build import build_genesis
from genesis.loader import load_chain_spec, materialise, parse_chain_spec
from runtime.compute import storage as compute
from runtime.compute.inference import infer
from runtime.compute.jobs import built
from runtime.compute.model import model_hash, reference_model
from runtime.compute.verify import sample_of
from runtime.fees.logic import compute_fee
from runtime.modules import RUNTIME
from runtime.params.storage import get_param
from runtime.system import storage as system
from storage.memory import MemoryStore

GENESIS_TIME_MS = 1_700_000_000_000
UNIT = 10**18
MODEL = "dental-caries-v1"


def _sign(chain: Chain, pair: Keypair, name: str, *args: object, nonce: int) -> Extrinsic:
    return sign_extrinsic(pair, RUNTIME.call(name, *args), nonce, chain.genesis_hash, RUNTIME.spec_version)


def _block(chain: Chain, pair: Keypair, xts: list[Extrinsic]) -> None:
    imported, dropped = chain.author_block(chain.head.slot + 1, pair, [(x, len(x.encode())) for x in xts])
    if dropped:
        raise RuntimeError(f"bench extrinsic dropped: {dropped[0][1]}")
    for _, event in imported.result.events if imported.result else ():
        if event.name == "ExtrinsicFailed":
            raise RuntimeError(f"bench extrinsic failed: {event}")


def run(jobs: int = 50, items: int = 1024) -> dict[str, float | str]:
    spec = parse_chain_spec(materialise(load_chain_spec("dev").raw, GENESIS_TIME_MS))
    genesis = build_genesis(spec)
    author = Chain(MemoryStore(), genesis)
    importer = Chain(MemoryStore(), genesis)
    alice, ferdie = dev_keypair("alice"), dev_keypair("ferdie")
    model = reference_model(MODEL)
    h = model_hash(model)

    def nonce(pair: Keypair) -> int:
        return system.account.get(author.state(), pair.public).nonce

    _block(author, alice, [_sign(author, alice, "compute.register_provider", jobs, 0, 2, nonce=nonce(alice))])
    n0 = nonce(ferdie)
    seeds = [os.urandom(32) for _ in range(jobs)]
    posts = [
        _sign(author, ferdie, "compute.post_job", h, bytes(32), s, items, UNIT, 1, 300_000, nonce=n0 + i)
        for i, s in enumerate(seeds)
    ]
    _block(author, alice, posts)
    _block(author, alice, [])  # assignment
    state = author.state()
    first = compute.next_job_id.get(state) - jobs
    work = {}
    commits = []
    n1 = nonce(alice)
    for i, seed in enumerate(seeds):
        job_id = first + i
        job = compute.jobs.get(state, job_id)
        work[job_id] = compute_result(JobSpec(job_id, model.spec, seed, job.input_root, items), os.urandom(32))
        commits.append(_sign(author, alice, "compute.commit_result", job_id, work[job_id].commitment, nonce=n1 + i))
    _block(author, alice, commits)
    for _ in range(get_param(author.state(), "compute.sample_delay_blocks")):
        _block(author, alice, [])
    state = author.state()
    size = get_param(state, "compute.sample_size")
    reveals = []
    core_ms = []
    n2 = nonce(alice)
    for i, job_id in enumerate(sorted(work)):
        result = work[job_id]
        job = compute.jobs.get(state, job_id)
        openings = result.openings(sample_of(job, job.assignments[0], size))
        t = time.perf_counter()
        ok = all(
            verify_merkle_proof(job.input_root, o.input, o.index, items, o.input_proof)
            and verify_merkle_proof(result.output_root, o.output, o.index, items, o.output_proof)
            for o in openings
        )
        same = infer(built(model.spec), [o.input for o in openings]) == [o.output for o in openings]
        core_ms.append((time.perf_counter() - t) * 1000)
        assert ok and same
        reveals.append(_sign(author, alice, "compute.reveal_result", job_id, result.output_root, result.salt, openings,
                             nonce=n2 + i))
    _block(author, alice, reveals)
    receipts_block = author.head_hash
    # the importer replays every block; only the one holding the receipts is timed
    numbers = range(1, author.head.number + 1)
    blocks = [author.db.get_block(author.db.canonical_hash(n) or b"") for n in numbers]
    far = GENESIS_TIME_MS + 10**9
    for b in blocks[:-1]:
        assert b is not None
        importer.import_block(b.encode(), far)
    last = blocks[-1]
    assert last is not None and last.hash() == receipts_block
    encoded = last.encode()
    t = time.perf_counter()
    imported = importer.import_block(encoded, far)
    import_ms = (time.perf_counter() - t) * 1000
    executed = imported.enacted[-1].result
    verified = [e for _, e in executed.events if e.name == "SampleVerified"] if executed is not None else []
    if len(verified) != jobs:
        raise RuntimeError(f"the importer verified {len(verified)} reveals, expected {jobs}")
    # the on-chain cost of a challenge: one item each, honest here (every node re-executes it, then the call
    # fails with ChallengeFailed, which costs the same as a successful one)
    n3 = nonce(ferdie)
    challenges = []
    for i, job_id in enumerate(sorted(work)):
        result = work[job_id]
        (o,) = result.openings((items // 2,))
        challenges.append(_sign(author, ferdie, "compute.challenge", job_id, alice.public, o.index, o.input, o.output,
                                o.input_proof, o.output_proof, nonce=n3 + i))
    fee = compute_fee(author.state(), len(challenges[0].encode()), RUNTIME.decode_call(challenges[0].call).weight)
    imported_c, dropped_c = author.author_block(author.head.slot + 1, alice,
                                                [(x, len(x.encode())) for x in challenges])
    if dropped_c:
        raise RuntimeError(f"bench challenge dropped: {dropped_c[0][1]}")
    block_c = author.db.get_block(author.head_hash)
    assert block_c is not None
    t = time.perf_counter()
    importer.import_block(block_c.encode(), far)
    challenge_ms = (time.perf_counter() - t) * 1000
    return {
        "jobs (receipts in the block)": jobs,
        "items per job": items,
        "sampled items per receipt": size,
        "receipt block bytes": len(encoded),
        "import of the receipt block ms": round(import_ms, 1),
        "import per receipt ms": round(import_ms / jobs, 3),
        "verification core per receipt ms (p50)": round(statistics.median(core_ms), 3),
        "verification core per receipt ms (max)": round(max(core_ms), 3),
        "challenge extrinsic bytes": len(challenges[0].encode()),
        "challenge weight": RUNTIME.decode_call(challenges[0].call).weight,
        "challenge fee BTT (dev fees)": format_btt(fee.inclusion_fee),
        "import per challenge ms": round(challenge_ms / jobs, 3),
    }


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    for k, v in run(*args).items():
        print(f"{k}: {v}")
