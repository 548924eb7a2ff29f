"""Job outputs on the node: only a revealed result is kept (junk is refused and changes nothing), the store's
bound drops finished results first, and the `outputs/get` protocol decodes hostile bytes strictly, serves
what the node holds and keeps from peers only what verifies against the chain (a lying peer loses score)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from btt_chain.miner.clinic import input_chunk_args
from btt_chain.miner.engine import JobSpec, MinerEngine, PreparedResult
from btt_chain.node import outputs_exchange
from btt_chain.node.job_outputs import INPUTS, JobOutputs, OutputsNotKept, OutputsRejected
from btt_chain.node.outputs_exchange import (
    MAX_RESPONSE_BYTES,
    PROTOCOL,
    OutputsExchange,
    decode_request,
    decode_response,
    encode_request,
    encode_response,
)
from btt_chain.node.service import Node, NodeConfig
from btt_chain.primitives.codec import pack
from btt_chain.primitives.errors import DecodeError
from btt_chain.primitives.extrinsic import sign_extrinsic
from btt_chain.primitives.hashing import ZERO_HASH, merkle_root
from btt_chain.primitives.keys import Keypair, dev_keypair
from btt_chain.primitives.merkle import verify_merkle_proof
from runtime.compute import posted_inputs
from runtime.compute import storage as compute
from runtime.compute.model import model_hash
from runtime.compute.reference import reference_spec
from runtime.compute.types import MAX_EXCHANGED_ITEM, MAX_JOB_ITEMS
from runtime.compute.verify import sample_of
from runtime.modules import RUNTIME
from storage.memory import MemoryStore
from tests.functional.framework import free_port

UNIT = 10**18
MODEL = "breast-cancer-v1"
ALICE = dev_keypair("alice")
FERDIE = dev_keypair("ferdie")


class DevNode:
    def __init__(self, node: Node) -> None:
        self.node = node

    def submit(self, who: Keypair, call: str, *args: Any) -> None:
        xt = sign_extrinsic(who, RUNTIME.call(call, *args), self.node.next_account_index(who.public),
                            self.node.chain.genesis_hash, RUNTIME.spec_version)
        self.node.pool.submit(xt.encode())

    def author(self, blocks: int = 1) -> None:
        chain, pool = self.node.chain, self.node.pool
        for _ in range(blocks):
            imported, dropped = chain.author_block(chain.head.slot + 1, ALICE, [(t.xt, len(t.encoded))
                                                                                for t in pool.ready()])
            pool.prune([x.hash() for x in imported.block.transactions], [x.hash() for x, _ in dropped])

    def post_and_reveal(self, seed: bytes, items: int = 16) -> PreparedResult:
        """A job of ferdie's, computed by alice, committed and revealed: its assignment is verified."""
        (result,) = self.post_and_reveal_all([seed], items)
        return result

    def post_and_reveal_all(self, seeds: list[bytes], items: int = 16) -> list[PreparedResult]:
        """Jobs of ferdie's posted together, computed by alice, committed and revealed in the same blocks."""
        first = compute.next_job_id.get(self.node.chain.state())
        for seed in seeds:
            self.submit(FERDIE, "compute.post_job", model_hash(reference_spec(MODEL)), ZERO_HASH, seed, items, UNIT,
                        1, 120_000)
        self.author(2)
        results = []
        for job_id, seed in enumerate(seeds, first):
            job = compute.jobs.get(self.node.chain.state(), job_id)
            result = MinerEngine().prepare(JobSpec(job_id, reference_spec(MODEL), seed, job.input_root, items))
            self.submit(ALICE, "compute.commit_result", job_id, result.commitment)
            results.append(result)
        self.author()
        start = compute.jobs.get(self.node.chain.state(), first).assignments[0].sample_from_slot
        self.author(max(1, start - self.node.chain.head.slot))  # through the first block from the sample start
        for result in results:
            job = compute.jobs.get(self.node.chain.state(), result.job_id)
            indices = sample_of(job, job.assignments[0], 8)
            self.submit(ALICE, "compute.reveal_result", result.job_id, result.output_root, result.salt,
                        result.openings(indices))
        self.author()
        for result in results:
            assert compute.jobs.get(self.node.chain.state(), result.job_id).assignments[0].state == 5  # verified
        return results


@pytest.fixture(scope="module")
def dev() -> Iterator[DevNode]:
    node = Node(NodeConfig(chain="dev", base_path=None, tmp=True, validator_key=ALICE, rpc_port=free_port()))
    d = DevNode(node)
    d.submit(ALICE, "compute.register_provider", 8, 0, 2)
    d.author()
    try:
        yield d
    finally:
        node.close()


@pytest.fixture(scope="module")
def revealed(dev: DevNode) -> PreparedResult:
    return dev.post_and_reveal(b"\x11" * 32)


def unchanged(outputs: JobOutputs) -> tuple[list[tuple[int, bytes]], int]:
    return outputs.store.keys(), outputs.store.bytes_used


# rules ---------------------------------------------------------------------------------------------------


def test_only_the_revealed_result_is_kept(dev: DevNode, revealed: PreparedResult) -> None:
    outputs = JobOutputs(dev.node.chain, MemoryStore())
    jid, good = revealed.job_id, list(revealed.outputs)
    assert outputs.find(jid, ALICE.public) is None
    before = unchanged(outputs)
    wrong_item = [bytes([good[0][0] ^ 1]) + good[0][1:], *good[1:]]
    for job_id, who, items, why in [
        (jid, ALICE.public, wrong_item, "Merkle root is not the output root"),
        (jid, ALICE.public, good[:-1], "has 16 output items, got 15"),
        (jid, ALICE.public, [*good[:-1], good[-1] + b"\x00"], "output 15 is 4 bytes"),
        (jid, FERDIE.public, good, "holds no assignment"),
        (999, ALICE.public, good, "no job 999"),
        (jid, ALICE.public, [b"\x00"] * (MAX_JOB_ITEMS + 1), "at most 4096"),
    ]:
        with pytest.raises(OutputsRejected, match=why):
            outputs.accept(job_id, who, items)
        assert unchanged(outputs) == before
    found = outputs.accept(jid, ALICE.public, good)
    assert (found.root, found.outputs, found.source) == (revealed.output_root, revealed.outputs, "node")
    assert outputs.find(jid, ALICE.public) == found


def test_an_unrevealed_assignment_takes_nothing(dev: DevNode) -> None:
    job_id = compute.next_job_id.get(dev.node.chain.state())
    dev.submit(FERDIE, "compute.post_job", model_hash(reference_spec(MODEL)), ZERO_HASH, b"\x22" * 32, 4, UNIT, 1,
               120_000)
    dev.author(2)
    assert compute.jobs.get(dev.node.chain.state(), job_id).assignments[0].provider == ALICE.public
    outputs = JobOutputs(dev.node.chain, MemoryStore())
    with pytest.raises(OutputsRejected, match="has not revealed an output root"):
        outputs.accept(job_id, ALICE.public, [b"\x00" * 6] * 4)
    assert outputs.store.entries == 0


def test_an_opening_carries_both_merkle_paths(dev: DevNode, revealed: PreparedResult) -> None:
    outputs = JobOutputs(dev.node.chain, MemoryStore())
    found = outputs.accept(revealed.job_id, ALICE.public, revealed.outputs)
    for i in (0, 7, 15):
        item = outputs.opening(found, i)
        assert item.output == revealed.outputs[i] and item.input == revealed.inputs[i]
        assert verify_merkle_proof(revealed.output_root, item.output, i, 16, item.output_proof)
        assert item.input_proof is not None
        assert verify_merkle_proof(found.job.input_root, item.input, i, 16, item.input_proof)


def test_a_full_store_drops_finished_results_first(dev: DevNode) -> None:
    revealed, second = dev.post_and_reveal_all([b"\x33" * 32, b"\x34" * 32])
    outputs = JobOutputs(dev.node.chain, MemoryStore(), max_entries=1)
    outputs.accept(revealed.job_id, ALICE.public, revealed.outputs)
    with pytest.raises(OutputsNotKept, match="bounds 1 entries"):
        outputs.accept(second.job_id, ALICE.public, second.outputs)  # the first is still in its window
    assert outputs.store.keys() == [(revealed.job_id, ALICE.public)]
    dev.author(20)  # the 15-second challenge window of the first (and the second) closes: settled
    assert compute.jobs.get(dev.node.chain.state(), revealed.job_id).assignments[0].state == 2
    outputs.accept(second.job_id, ALICE.public, second.outputs)
    assert outputs.store.keys() == [(second.job_id, ALICE.public)]
    assert outputs.find(second.job_id, ALICE.public) is not None  # a settled result is still served


# the protocol --------------------------------------------------------------------------------------------


def test_messages_round_trip() -> None:
    assert decode_request(encode_request(2**64 - 1, b"\x01" * 32)) == (2**64 - 1, b"\x01" * 32)
    assert decode_response(encode_response(None)) is None
    found = (b"\x02" * 32, (b"\x00" * 6, b"\x01" * 6))
    assert decode_response(encode_response(found)) == found
    biggest = (b"\x02" * 32, tuple(b"\xff" * MAX_EXCHANGED_ITEM for _ in range(MAX_JOB_ITEMS)))
    assert len(encode_response(biggest)) <= MAX_RESPONSE_BYTES
    assert decode_response(encode_response(biggest)) == biggest


@pytest.mark.parametrize(
    "decode, raw",
    [
        (decode_request, pack([1])),
        (decode_request, pack([1, b"\x01" * 31])),
        (decode_request, pack([True, b"\x01" * 32])),
        (decode_request, pack(["1", b"\x01" * 32])),
        (decode_request, pack([1, b"\x01" * 32, 3])),
        (decode_request, b"\xc1"),
        (decode_request, pack([1, b"\x01" * 32]) + b"\x00"),
        (decode_response, pack([b"\x02" * 32])),
        (decode_response, pack([b"\x02" * 31, [b"\x00"]])),
        (decode_response, pack([b"\x02" * 32, []])),
        (decode_response, pack([b"\x02" * 32, [b"\x00", "text"]])),
        (decode_response, pack([b"\x02" * 32, [b"\x00" * (MAX_EXCHANGED_ITEM + 1)]])),
        (decode_response, pack([b"\x02" * 32, [b""] * (MAX_JOB_ITEMS + 1)])),
        (decode_response, pack({"root": b"\x02" * 32})),
        (decode_response, b"\x00" * (MAX_RESPONSE_BYTES + 1)),
    ],
)
def test_malformed_messages_are_rejected(decode: Any, raw: bytes) -> None:
    with pytest.raises(DecodeError):
        decode(raw)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_only_raise_decode_error(raw: bytes) -> None:
    for decode in (decode_request, decode_response):
        try:
            decode(raw)
        except DecodeError:
            pass


@dataclass
class Peer:
    peer_id: str


@dataclass
class FakeP2P:
    """Peers answer from a dict of canned responses (or raise); penalties and handlers are recorded."""

    answers: dict[str, bytes | Exception]
    penalties: list[tuple[str, str]] = field(default_factory=list)
    handlers: dict[str, Any] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)

    def peers(self) -> list[Peer]:
        return [Peer(p) for p in self.answers]

    async def request(self, peer_id: str, protocol: str, data: bytes, timeout: float = 10.0) -> bytes:
        assert protocol == PROTOCOL
        decode_request(data)
        self.asked.append(peer_id)
        answer = self.answers[peer_id]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def penalise(self, peer_id: str, amount: int, reason: str) -> None:
        self.penalties.append((peer_id, reason))

    def set_request_handler(self, protocol: str, handler: Any) -> None:
        self.handlers[protocol] = handler


def test_serving_what_the_node_holds(dev: DevNode, revealed: PreparedResult) -> None:
    outputs = JobOutputs(dev.node.chain, MemoryStore())
    p2p = FakeP2P({})
    exchange = OutputsExchange(outputs, p2p)
    exchange.start()
    serve = p2p.handlers[PROTOCOL]
    request = encode_request(revealed.job_id, ALICE.public)
    assert asyncio.run(serve("peer", request)) == encode_response(None)
    outputs.accept(revealed.job_id, ALICE.public, revealed.outputs)
    assert decode_response(asyncio.run(serve("peer", request))) == (revealed.output_root, revealed.outputs)
    with pytest.raises(DecodeError):
        asyncio.run(serve("peer", b"\xc1"))


def test_fetching_keeps_only_what_verifies_and_blames_liars(dev: DevNode, revealed: PreparedResult) -> None:
    good = encode_response((revealed.output_root, revealed.outputs))
    forged = encode_response((revealed.output_root, (b"\x00" * 6,) * 16))
    p2p = FakeP2P({"gone": ConnectionError("reset"), "empty": encode_response(None), "junk": b"\xc1",
                   "liar": forged, "honest": good, "never-asked": good})
    outputs = JobOutputs(dev.node.chain, MemoryStore())
    exchange = OutputsExchange(outputs, p2p)
    assert asyncio.run(exchange.fetch(revealed.job_id, ALICE.public)) is True
    assert p2p.asked == ["gone", "empty", "junk", "liar", "honest"]
    assert [peer for peer, _ in p2p.penalties] == ["junk", "liar"]
    assert "do not verify" in p2p.penalties[1][1]
    assert outputs.find(revealed.job_id, ALICE.public) is not None


def test_a_fetch_is_started_once_and_only_for_revealed_results(
    dev: DevNode, revealed: PreparedResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    # "moments ago" stays true however long a busy machine takes over the fetch
    monkeypatch.setattr(outputs_exchange, "RETRY_AFTER_S", 3600.0)

    async def scenario() -> tuple[bool, bool, bool, bool]:
        p2p = FakeP2P({"honest": encode_response((revealed.output_root, revealed.outputs))})
        exchange = OutputsExchange(JobOutputs(dev.node.chain, MemoryStore()), p2p)
        unknown = exchange.want(999, ALICE.public)
        first = exchange.want(revealed.job_id, ALICE.public)
        again = exchange.want(revealed.job_id, ALICE.public)  # still running: the same fetch
        assert len(exchange._tasks) == 1
        await asyncio.gather(*exchange._tasks.values())  # the fetch has finished, however long it took
        found = exchange.outputs.find(revealed.job_id, ALICE.public) is not None
        retried = exchange.want(revealed.job_id, ALICE.public)  # asked moments ago: not again
        await exchange.stop()
        return unknown, first and again, found, retried

    assert asyncio.run(scenario()) == (False, True, True, False)


# a requester's inputs on chain (spec 17) ---------------------------------------------------------------------------


def test_a_requesters_inputs_on_chain_are_served_once_all_are_there_and_never_stored(dev: DevNode) -> None:
    # 1,000 items of digits-conv-v1's 64 bytes: two chunks of the chain's plan (722 and 278); nothing is handed to any
    # node off chain
    spec = reference_spec("digits-conv-v1")
    cases = [i.to_bytes(2, "big") * 32 for i in range(1000)]
    job_id = compute.next_job_id.get(dev.node.chain.state())
    first, rest = input_chunk_args(job_id, cases, spec)
    dev.submit(FERDIE, "compute.post_job", model_hash(spec), merkle_root(cases), ZERO_HASH, len(cases), 100 * UNIT,
               1, 600_000)
    dev.author()
    outputs = JobOutputs(dev.node.chain, MemoryStore())
    p2p = FakeP2P({})
    OutputsExchange(outputs, p2p).start()
    serve = p2p.handlers[PROTOCOL]
    request = encode_request(job_id, INPUTS)

    def owed() -> int | None:
        return posted_inputs.owed.get(dev.node.chain.state(), job_id)

    assert owed() == 0 and outputs.find_inputs(job_id) is None and outputs.wants_inputs(job_id)
    # a chunk out of order is refused on chain: nothing of the job's inputs changes
    dev.submit(FERDIE, "compute.post_inputs", *rest)
    dev.author()
    assert owed() == 0 and outputs.find_inputs(job_id) is None
    # the first chunk: on chain, but nothing is served while the rest is missing (and the job is drawn for nobody)
    dev.submit(FERDIE, "compute.post_inputs", *first)
    dev.author()
    assert owed() == len(first[2]) == 722
    assert outputs.find_inputs(job_id) is None and asyncio.run(serve("peer", request)) == encode_response(None)
    assert compute.jobs.get(dev.node.chain.state(), job_id).assignments == ()
    dev.submit(FERDIE, "compute.post_inputs", *rest)
    dev.author()
    assert owed() == len(cases)
    found = outputs.find_inputs(job_id)
    assert found is not None and found[1] == tuple(cases)
    answer = decode_response(asyncio.run(serve("peer", request)))
    assert answer is not None and answer[1] == tuple(cases)
    assert outputs.store.entries == 0  # served from the chain: this node's store holds none of them


def test_inputs_on_chain_are_read_from_the_state_once_and_never_served_after_the_chain_lets_them_go(
    dev: DevNode, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Decoded once, by job and root; every request still asks the chain's count first (a job whose inputs left the
    state is not served from memory), and the memory is bounded in bytes."""
    spec = reference_spec("digits-conv-v1")
    chain = dev.node.chain
    jobs = []
    for offset in (0, 1000):
        cases = [(offset + i).to_bytes(2, "big") * 32 for i in range(1000)]
        job_id = compute.next_job_id.get(chain.state())
        dev.submit(FERDIE, "compute.post_job", model_hash(spec), merkle_root(cases), ZERO_HASH, len(cases),
                   100 * UNIT, 1, 600_000)
        dev.author()
        for args in input_chunk_args(job_id, cases, spec):
            dev.submit(FERDIE, "compute.post_inputs", *args)
            dev.author()
        jobs.append((job_id, tuple(cases)))
    reads: list[int] = []
    read = posted_inputs.posted_inputs

    def counted(state: Any, job_id: int) -> Iterator[bytes]:
        reads.append(job_id)
        return read(state, job_id)

    monkeypatch.setattr(posted_inputs, "posted_inputs", counted)
    (first, first_cases), (second, second_cases) = jobs
    outputs = JobOutputs(chain, MemoryStore())
    for _ in range(3):
        found = outputs.find_inputs(first)
        assert found is not None and found[1] == first_cases
    assert reads == [first], "read once"
    # the chain lets the job's inputs go (its count gone): nothing is served, though they are decoded in memory
    owed_get = posted_inputs.owed.get
    monkeypatch.setattr(posted_inputs.owed, "get", lambda state, job_id: None if job_id == first else
                        owed_get(state, job_id))
    assert outputs.find_inputs(first) is None
    monkeypatch.setattr(posted_inputs.owed, "get", owed_get)
    # a bound of one job's bytes: the second job's inputs push the first's out
    small = JobOutputs(chain, MemoryStore(), posted_cache_bytes=64 * 1000)
    reads.clear()
    for job_id, cases in ((first, first_cases), (second, second_cases), (first, first_cases)):
        found = small.find_inputs(job_id)
        assert found is not None and found[1] == cases
    assert reads == [first, second, first]
    assert small._posted_bytes <= 64 * 1000 and list(small._posted) == [(first, merkle_root(list(first_cases)))]
    # a bound smaller than one job: served, never kept
    none = JobOutputs(chain, MemoryStore(), posted_cache_bytes=1000)
    reads.clear()
    assert none.find_inputs(first) is not None and none.find_inputs(first) is not None and reads == [first, first]
    assert none._posted_bytes == 0
