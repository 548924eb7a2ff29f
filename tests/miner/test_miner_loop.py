"""The miner and the clinic loops against an in-process dev node, block by block: the same RPC calls and
signed extrinsics as `btt-chain miner` and `btt-chain job clinic`, with blocks authored by the test."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from btt_chain.client.chain import ChainInfo
from btt_chain.client.rpc import RpcError
from btt_chain.miner.audit import model_spec
from btt_chain.miner.cases import CaseBook
from btt_chain.miner.clinic import ClinicLoop, JobTerms, input_chunk_args, parse_seed, resolve_model
from btt_chain.miner.engine import MinerEngine
from btt_chain.miner.rpc_loop import MinerLoop, ProviderOptions
from btt_chain.node.job_outputs import INPUTS
from btt_chain.node.service import Node, NodeConfig
from btt_chain.primitives.address import encode_address
from btt_chain.primitives.errors import BttError, ConfigError
from btt_chain.primitives.hashing import ZERO_HASH, merkle_root
from btt_chain.primitives.keys import Keypair, dev_keypair
from btt_chain.rpc.protocol import Dispatcher
from btt_chain.rpc.registry import RpcContext
from btt_chain.rpc.server import RpcServer  # noqa: F401  (registers every method)
from cli.submit import ExtrinsicFailed, submit_call
from tests.functional.framework import free_port

UNIT = 10**18


class LocalRpc:
    """JSON-RPC answered in-process by the node's own dispatcher (what the RPC server does per request)."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.dispatcher = Dispatcher()
        self.ids = 0

    def call(self, method: str, *params: Any) -> Any:
        self.ids += 1
        request = {"jsonrpc": "2.0", "id": self.ids, "method": method, "params": list(params)}
        reply = json.loads(self.dispatcher.handle(json.dumps(request), RpcContext(self.node)) or "null")
        if "error" in reply:
            err = reply["error"]
            raise RpcError(f"{err['message']}: {err.get('data')}", err["code"], err.get("data"))
        return reply["result"]


class DevChain:
    def __init__(self, node: Node) -> None:
        self.node = node
        self.rpc = LocalRpc(node)
        self.info = ChainInfo.fetch(self.rpc)  # type: ignore[arg-type]
        self.alice = dev_keypair("alice")

    def author(self, blocks: int = 1) -> None:
        chain, pool = self.node.chain, self.node.pool
        for _ in range(blocks):
            candidates = [(t.xt, len(t.encoded)) for t in pool.ready()]
            imported, dropped = chain.author_block(chain.head.slot + 1, self.alice, candidates)
            pool.prune([x.hash() for x in imported.block.transactions], [x.hash() for x, _ in dropped])

    def submitter(self, signer: Keypair) -> Any:
        """Sign and submit like the CLI; a waiting submission gets its block authored at once."""

        def submit(call: str, args: tuple[Any, ...], wait: bool, force: bool = False) -> str:
            xt_hash = submit_call(self.rpc, self.info, signer, call, args, wait=False,  # type: ignore[arg-type]
                                  force=force).hash
            if wait:
                self.author()
                status = self.rpc.call("btt_extrinsicStatus", xt_hash)
                if not status["success"]:
                    raise ExtrinsicFailed(f"{call} failed: {status['error']}")
            return xt_hash

        return submit

    def address(self, name: str) -> str:
        return encode_address(dev_keypair(name).public, self.info.ss58_prefix)


@pytest.fixture
def dev() -> Iterator[DevChain]:
    alice = dev_keypair("alice")
    node = Node(NodeConfig(chain="dev", base_path=None, tmp=True, validator_key=alice, rpc_port=free_port()))
    try:
        yield DevChain(node)
    finally:
        node.close()


def miner(dev: DevChain, name: str, data_dir: Path, fake_items: int = 0) -> tuple[MinerLoop, list[str]]:
    lines: list[str] = []
    loop = MinerLoop(dev.rpc, dev.address(name), MinerEngine(data_dir, fake_items), dev.submitter(dev_keypair(name)),
                     lines.append)
    return loop, lines


def clinic(dev: DevChain, name: str = "ferdie", items: int = 16) -> tuple[ClinicLoop, list[str]]:
    lines: list[str] = []
    model, model_name = resolve_model(dev.rpc, "breast-cancer-v1")
    terms = JobTerms(model, model_name, items, UNIT, 1, 120_000)
    return ClinicLoop(dev.rpc, dev.address(name), terms, dev.submitter(dev_keypair(name)), lines.append), lines


def run_until(dev: DevChain, loops: list[Any], done: Any, blocks: int) -> None:
    for _ in range(blocks):
        for loop in loops:
            loop.tick() if isinstance(loop, MinerLoop) else loop.report()
        if done():
            return
        dev.author()
    raise AssertionError(f"not done after {blocks} blocks")


def test_miner_serves_the_clinic_and_earns_a_mining_reward(dev: DevChain, tmp_path: Path) -> None:
    m, mlines = miner(dev, "alice", tmp_path)
    m.ensure_registered(ProviderOptions(capacity=2, region=2, energy=0))
    assert mlines[-1].startswith(f"registered {dev.address('alice')} as a provider: capacity 2, region remote")
    c, clines = clinic(dev)
    c.post()
    # the sample is drawn two epochs after the commit window (up to 50 one-second slots), and the receipt comes
    # when the 15-second challenge window closes
    run_until(dev, [m, c], lambda: any("receipt" in x for x in clines), 90)
    steps = [next(i for i, x in enumerate(mlines) if word in x)
             for word in ("assigned", "computed 16 items", "committed in block", "revealed in block", "receipt")]
    assert steps == sorted(steps), mlines
    assert any(x.startswith("job #0 receipt") and "paid 0.686 BTT of 1 BTT escrow (0.02 BTT burned)" in x
               for x in mlines)
    assert clines[0].startswith("posted job #0") and "0.02 BTT burned, 0.686 BTT to the provider" in clines[-1]
    assert m.engine.job_ids() == [] and not any(tmp_path.iterdir())  # settled: the kept result is dropped
    # the credit matures after 10 s and is rewarded at the next epoch boundary (20 one-second slots)
    run_until(dev, [m], lambda: any("mining reward" in x for x in mlines), 50)
    assert int(dev.rpc.call("btt_miningSchedule")["paid"]) > 0


def test_a_provider_that_fakes_outputs_is_reported_slashed(dev: DevChain, tmp_path: Path) -> None:
    m, mlines = miner(dev, "bob", tmp_path, fake_items=16)
    m.ensure_registered(ProviderOptions())
    assert mlines[0].startswith("bonded 100 BTT")
    c, clines = clinic(dev, "charlie")
    c.post()
    run_until(dev, [m, c], lambda: any("FRAUD" in x for x in mlines), 70)
    assert any("16 outputs FAKED" in x for x in mlines)
    assert any("caught faking item" in x and "1 BTT refunded" in x for x in clines)
    (p,) = dev.rpc.call("btt_providers", "0x" + dev_keypair("bob").public.hex())
    assert p["stats"]["frauds"] == 1 and int(p["bond"]) == 75 * UNIT  # its hold: 1 BTT x 100 passes the 25 BTT cap


def test_a_requesters_job_is_drawn_once_its_inputs_are_on_chain_and_served_from_there(dev: DevChain,
                                                                                      tmp_path: Path) -> None:
    # spec 17: no provider is drawn for a job of the requester's own inputs before they are all on chain; the
    # provider's miner then reads them from its node, which serves them from the chain (none handed to any node)
    m, mlines = miner(dev, "alice", tmp_path)
    m.ensure_registered(ProviderOptions())
    model, _ = resolve_model(dev.rpc, "breast-cancer-v1")
    spec = model_spec(dev.rpc.call("btt_model", "0x" + model.hex()))
    cases = [bytes([i]) * 30 for i in range(4)]
    ferdie = dev.submitter(dev_keypair("ferdie"))
    ferdie("compute.post_job", (model, merkle_root(cases), ZERO_HASH, 4, UNIT, 1, 120_000), True)
    for _ in range(4):
        m.tick()
        dev.author()
    job = dev.rpc.call("btt_job", 0)
    assert job["assignments"] == [] and job["inputsPosted"] == 0 and not any("assigned" in x for x in mlines)
    assert dev.rpc.call("btt_jobInputs", 0) is None
    # inputs that do not give the job's root are refused before they are sent: nothing changes
    with pytest.raises(BttError, match="range proof does not lead to the job's input root"):
        ferdie("compute.post_inputs", *input_chunk_args(0, cases[::-1], spec), True)
    assert dev.rpc.call("btt_job", 0) == job and len(dev.node.pool) == 0
    (chunk,) = input_chunk_args(0, cases, spec)
    ferdie("compute.post_inputs", chunk, True)
    assert dev.rpc.call("btt_job", 0)["inputsPosted"] == 4
    run_until(dev, [m], lambda: (dev.rpc.call("btt_job", 0)["assignments"] or [{"state": "assigned"}])[0]["state"]
              != "assigned", 8)
    assert any("computed 4 items" in x for x in mlines) and not any("waiting" in x for x in mlines)
    assert dev.node.outputs.store.get(0, INPUTS) is None  # read from the chain: no node was handed them


class RecordingRpc:
    """The node's RPC, each method called recorded; `refuse_inputs`: `btt_submitJobInputs` is refused (as by a node
    whose store is full), so no node holds a requester's inputs off chain; `no_inputs_on_chain`: `btt_job` answers as a
    node of spec 16 would (nothing owed on chain)."""

    def __init__(self, rpc: LocalRpc, no_inputs_on_chain: bool = False, refuse_inputs: bool = False) -> None:
        self.rpc = rpc
        self.methods: list[str] = []
        self.no_inputs_on_chain = no_inputs_on_chain
        self.refuse_inputs = refuse_inputs

    def call(self, method: str, *params: Any) -> Any:
        self.methods.append(method)
        if method == "btt_submitJobInputs" and self.refuse_inputs:
            raise RpcError("Invalid params: inputs not kept: the outputs store is full", -32602)
        answer = self.rpc.call(method, *params)
        if method == "btt_job" and answer is not None and self.no_inputs_on_chain:
            answer["inputsPosted"] = None
        return answer


def case_clinic(dev: DevChain, rpc: Any, submit: Any = None, clock: Any = None) -> tuple[ClinicLoop, list[str]]:
    """A clinic of real cases (`--cases held-out`): 16 of them a job."""
    lines: list[str] = []
    model, model_name = resolve_model(dev.rpc, "breast-cancer-v1")
    book = CaseBook(tuple(bytes([i]) * 30 for i in range(16)), tuple(i % 2 for i in range(16)),
                    ("benign", "malignant"))
    extra = {} if clock is None else {"clock": clock}
    return ClinicLoop(rpc, dev.address("ferdie"), JobTerms(model, model_name, 16, UNIT, 1, 120_000),
                      submit or dev.submitter(dev_keypair("ferdie")), lines.append, cases=book, **extra), lines


def test_a_clinic_of_real_cases_puts_them_on_chain_and_its_job_is_served_with_none_handed_to_a_node(
        dev: DevChain, tmp_path: Path) -> None:
    m, mlines = miner(dev, "alice", tmp_path)
    m.ensure_registered(ProviderOptions())
    rpc = RecordingRpc(dev.rpc, refuse_inputs=True)  # the node keeps no copy: the chain's is the only one
    c, clines = case_clinic(dev, rpc)
    c.post()
    run_until(dev, [m, c], lambda: any("read 16 real cases" in x for x in clines), 90)
    on_chain = next(i for i, x in enumerate(clines) if "its 16 input items are on chain (1 chunk)" in x)
    assert "the node keeps no copy of its cases" in clines[0] and "store is full" in clines[0], clines
    assert clines[1].startswith("posted job #0") and "being put on chain" in clines[1] and on_chain == 2, clines
    assert any("checked the outputs of" in x and "all 16 items re-execute correctly" in x for x in clines), clines
    assert any("computed 16 items" in x for x in mlines) and not any("waiting" in x for x in mlines)
    assert dev.node.outputs.store.get(0, INPUTS) is None and c.owing == {}


def test_a_clinic_sends_a_dropped_input_chunk_again_from_what_the_chain_holds(dev: DevChain) -> None:
    now = [0.0]
    real = dev.submitter(dev_keypair("ferdie"))
    lost: list[str] = []

    def submit(call: str, args: tuple[Any, ...], wait: bool, force: bool = False) -> str:
        if call == "compute.post_inputs" and not lost:  # the first chunk never reaches the pool
            lost.append(call)
            return "0x" + "ee" * 32
        return real(call, args, wait, force)

    c, clines = case_clinic(dev, dev.rpc, submit, lambda: now[0])
    c.post()
    for _ in range(3):
        c.report()
        dev.author()
    assert dev.rpc.call("btt_job", 0)["inputsPosted"] == 0 and c.owing[0].tries == 1  # still waiting for it
    now[0] += 31.0  # the lost chunk counts as dropped: the missing chunks go again
    for _ in range(3):
        c.report()
        dev.author()
    assert dev.rpc.call("btt_job", 0)["inputsPosted"] == 16 and 0 not in c.owing
    assert any("its 16 input items are on chain" in x for x in clines), clines


def test_a_clinic_hands_its_cases_to_the_node_too_and_only_there_on_a_chain_owing_none(dev: DevChain) -> None:
    c, _ = case_clinic(dev, dev.rpc)
    c.post()
    dev.author()
    c.report()
    assert dev.node.outputs.store.get(0, INPUTS) is not None and c.owing[0].sent  # a copy kept past the job's end
    rpc = RecordingRpc(dev.rpc, no_inputs_on_chain=True)
    sent: list[str] = []
    real = dev.submitter(dev_keypair("ferdie"))

    def submit(call: str, args: tuple[Any, ...], wait: bool, force: bool = False) -> str:
        sent.append(call)
        return real(call, args, wait, force)

    c, clines = case_clinic(dev, rpc, submit)
    c.post()
    dev.author()
    c.report()
    assert "btt_submitJobInputs" in rpc.methods and sent == ["compute.post_job"] and c.owing == {}
    assert dev.node.outputs.store.get(1, INPUTS) is not None
    assert clines[0].endswith(": 16 real held-out cases of breast-cancer-v1, price 1 BTT escrowed"), clines


def test_registration_refuses_a_bond_below_the_minimum(dev: DevChain, tmp_path: Path) -> None:
    m, _ = miner(dev, "bob", tmp_path)
    with pytest.raises(ConfigError, match="below 100 BTT: the minimum provider bond, and one fixed slash"):
        m.ensure_registered(ProviderOptions(bond=UNIT))


def test_seeds_and_models_are_checked() -> None:
    assert len(parse_seed("random")) == 32 and parse_seed("0x" + "ab" * 32) == b"\xab" * 32
    for bad, why in (("zz", "not hex"), ("ab" * 31, "must be 32 bytes"), ("00" * 32, "must not be all zeros")):
        with pytest.raises(ConfigError, match=why):
            parse_seed(bad)


def test_an_unknown_model_names_the_registered_ones(dev: DevChain) -> None:
    with pytest.raises(ConfigError, match=r"no model .x-ray. .* \(registered: \S+-v1, \S+-v1\)"):
        resolve_model(dev.rpc, "x-ray")


def test_two_jobs_sampled_in_one_block_are_both_revealed(dev: DevChain, tmp_path: Path) -> None:
    # jobs assigned together share their sample start: their reveals go out in one tick, the second one with a
    # nonce after the first's, still pooled (a dry run against the head cannot judge it; it is sent all the same)
    m, mlines = miner(dev, "eve", tmp_path)
    m.ensure_registered(ProviderOptions(capacity=2))
    model, _ = resolve_model(dev.rpc, "breast-cancer-v1")
    post = dev.submitter(dev_keypair("ferdie"))
    for seed in (b"\x61" * 32, b"\x62" * 32):
        post("compute.post_job", (model, ZERO_HASH, seed, 4, UNIT, 1, 120_000), False)
    dev.author()
    run_until(dev, [m], lambda: sum("revealed in block" in x for x in mlines) == 2, 90)
    assert not any("reveal failed" in x for x in mlines), mlines
