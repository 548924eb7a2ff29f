"""A private job end to end against an in-process dev node (issue 51): the provider's miner loop and the clinic's
driver make exactly the calls `btt-chain miner` and `btt-chain job post --cases` make; blocks are authored by the
test. The clinic's real cases never reach the chain, the node's stores or an RPC answer; its decoys are checked; it
reads its diagnoses with its own key; a provider that fakes a real case is shown wrong by opening that one case."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from btt_chain.miner.audit import model_spec, parse_hash
from btt_chain.miner.clinic import resolve_model
from btt_chain.miner.engine import MinerEngine
from btt_chain.miner.private_cases import decoys_for, generated_cases
from btt_chain.miner.private_clinic import PrivateJobDriver, ensure_clinic_key
from btt_chain.miner.private_order import PrivateOrder, mix
from btt_chain.miner.rpc_loop import MinerLoop, ProviderOptions
from btt_chain.primitives.keys import dev_keypair
from btt_chain.primitives.sealed_cases import BoxKeypair
from tests.miner.test_miner_loop import DevChain, dev  # noqa: F401  (the fixture)

CASES, DECOYS = 8, 8


def private_miner(chain: DevChain, name: str, data_dir: Path, fake_items: int = 0) -> tuple[MinerLoop, list[str]]:
    lines: list[str] = []
    box = BoxKeypair.from_seed(dev_keypair(name).secret)
    loop = MinerLoop(chain.rpc, chain.address(name), MinerEngine(data_dir, fake_items),
                     chain.submitter(dev_keypair(name)), lines.append, box=box)
    loop.ensure_registered(ProviderOptions(capacity=2))
    loop.ensure_box_key()
    return loop, lines


def private_clinic(chain: DevChain, tmp_path: Path, name: str = "ferdie", first_is_case: bool = False,
                   count: int = CASES) -> tuple[PrivateJobDriver, list[str]]:
    lines: list[str] = []
    model, model_name = resolve_model(chain.rpc, "breast-cancer-v1")
    spec = model_spec(chain.rpc.call("btt_model", "0x" + model.hex()))
    cases, labels = generated_cases(model_name, count, b"\x42" * 32)
    decoys, decoy_labels = decoys_for(model_name, cases, DECOYS, labels)
    order = mix(model, cases, decoys, labels, decoy_labels)
    while first_is_case and 0 in order.positions:  # positions are random: draw again until item 0 is a real case
        order = mix(model, cases, decoys, labels, decoy_labels)
    keypair = BoxKeypair.from_seed(dev_keypair(name).secret)
    submit = chain.submitter(dev_keypair(name))
    ensure_clinic_key(chain.rpc, submit, chain.address(name), keypair, lines.append)
    genesis = parse_hash(chain.rpc.call("chain_getBlockHash", 0))
    driver = PrivateJobDriver(chain.rpc, submit, lines.append, keypair, order, tmp_path / "order.json", genesis, spec,
                              lambda c: spec.labels[c])
    terms = chain.rpc.call("btt_jobTerms", "0x" + model.hex(), len(order.items), 1, None, DECOYS)
    driver.post(max(10**18, int(terms["minPrice"])), max(300_000, 2 * int(terms["minDeadlineMs"])))
    return driver, lines


def run(chain: DevChain, miner: MinerLoop, driver: PrivateJobDriver, done: Callable[[], bool], blocks: int) -> None:
    for _ in range(blocks):
        miner.tick()
        driver.tick()
        if done():
            return
        chain.author()
    raise AssertionError(f"not done after {blocks} blocks")


def everything_the_node_holds(chain: DevChain) -> bytes:
    """Every key and value of the node's database (blocks, state, the outputs and inputs stores)."""
    chain.node.kv.flush()
    return b"\x00".join(k + b"\x00" + v for k, v in chain.node.kv.iterate(b""))


def test_a_private_job_settles_checked_on_its_decoys_and_no_node_store_holds_a_case(dev: DevChain,  # noqa: F811
                                                                                   tmp_path: Path) -> None:
    miner, mlines = private_miner(dev, "alice", tmp_path / "miner")
    driver, clines = private_clinic(dev, tmp_path)
    order: PrivateOrder = driver.order
    run(dev, miner, driver, lambda: driver.results is not None, 150)
    job = dev.rpc.call("btt_job", order.job_id)
    priv = job["private"]
    assert priv["outcome"] == "checked" and priv["decoyPositions"] == list(order.positions)
    assert job["assignments"][0]["state"] in ("verified", "settled")
    assert any("revealed its 8 decoys" in x for x in clines), clines
    assert any("read 16 of 16 results" in x for x in clines), clines
    # the clinic reads exactly what the model says of its cases
    from runtime.compute.inference import infer
    from runtime.compute.models import built

    truth = infer(built(driver.spec), order.items)
    assert driver.results == truth
    # no real case's bytes anywhere on this node (the clinic's and the provider's node here: its sealed inputs,
    # blocks, state, the outputs store) nor in the RPC answers for the job
    held = everything_the_node_holds(dev)
    real = [order.items[i] for i in order.real]
    assert [i for i, x in enumerate(real) if x in held] == []
    inputs = dev.rpc.call("btt_jobInputs", order.job_id)
    assert inputs["sealed"] is True and all(bytes.fromhex(x[2:]) not in real for x in inputs["inputs"])
    results = dev.rpc.call("btt_jobResults", order.job_id)
    assert results["sealed"] is True and all(r["classes"] is None for r in results["results"])
    assert any("computed 16 items" in x for x in mlines), mlines


def test_a_provider_faking_a_real_case_is_shown_wrong_by_the_clinic_opening_it(dev: DevChain,  # noqa: F811
                                                                             tmp_path: Path) -> None:
    miner, _ = private_miner(dev, "alice", tmp_path / "miner")
    miner.engine.fake_items = 1  # the miner fakes the first item it computes: a real case, which no decoy checks
    driver, clines = private_clinic(dev, tmp_path, first_is_case=True)
    order = driver.order
    assert 0 in order.real
    run(dev, miner, driver, lambda: bool(driver.opened), 150)
    assert driver.opened == {0}
    job = dev.rpc.call("btt_job", order.job_id)
    assert job["assignments"][0]["state"] == "fraud"


def test_a_clinic_interrupted_after_posting_resumes_from_its_order_file(dev: DevChain,  # noqa: F811
                                                                       tmp_path: Path) -> None:
    from btt_chain.client.chain import ChainInfo
    from cli.private_jobs_cmd import resume_private

    miner, _ = private_miner(dev, "alice", tmp_path / "miner")
    driver, _ = private_clinic(dev, tmp_path)
    run(dev, miner, driver, lambda: driver.order.provider_key is not None, 30)  # it sealed; then it is gone
    path = driver.path
    assert path.name == f"job-{driver.order.job_id}.json" and path.exists()
    lines: list[str] = []
    resumed = PrivateJobDriver(dev.rpc, driver.submit, lines.append, driver.keypair, PrivateOrder.load(path),
                               path, driver.genesis, driver.spec)
    run(dev, miner, resumed, lambda: resumed.results is not None, 150)
    from runtime.compute.inference import infer
    from runtime.compute.models import built

    assert resumed.results == infer(built(driver.spec), driver.order.items)  # read with the clinic's key, all right
    assert dev.rpc.call("btt_job", driver.order.job_id)["private"]["outcome"] == "checked"
    # the command refuses another account's order before driving anything
    info = ChainInfo.fetch(dev.rpc)  # type: ignore[arg-type]
    from btt_chain.primitives.errors import ConfigError

    try:
        resume_private(dev.rpc, info, dev_keypair("dave"), driver.submit, path, lines.append)  # type: ignore[arg-type]
    except ConfigError as exc:
        assert "not by this key" in str(exc)
    else:
        raise AssertionError("another account's order was driven")


def test_sealed_results_no_node_serves_are_demanded_and_read_from_the_chain(dev: DevChain,  # noqa: F811
                                                                            tmp_path: Path, monkeypatch: Any) -> None:
    import btt_chain.miner.private_clinic as private_clinic_module

    monkeypatch.setattr(private_clinic_module, "DEMAND_AFTER_S", 0.0)
    miner, mlines = private_miner(dev, "alice", tmp_path / "miner")
    miner._publish = lambda jid, outputs: miner.unpublished.discard(jid)  # type: ignore[method-assign]
    driver, clines = private_clinic(dev, tmp_path)
    run(dev, miner, driver, lambda: driver.results is not None, 150)
    assert driver.demanded and any("demanded them on chain" in x for x in clines), clines
    assert any("posted its outputs on chain" in x for x in mlines), mlines
    from runtime.compute.inference import infer
    from runtime.compute.models import built

    assert driver.results == infer(built(driver.spec), driver.order.items)
    held = everything_the_node_holds(dev)
    assert [i for i in driver.order.real if driver.order.items[i] in held] == []


def test_the_sealed_items_go_on_chain_in_the_sealing_window_and_no_node_is_handed_them(dev: DevChain,  # noqa: F811
                                                                                     tmp_path: Path) -> None:
    # spec 17: the provider commits only once every sealed item is on chain; the clinic posts them right after the
    # root (a driver that finds the root given goes on from the chain's count), and never hands them to a node
    from btt_chain.node.job_outputs import INPUTS
    from tests.miner.test_miner_loop import RecordingRpc

    miner, mlines = private_miner(dev, "alice", tmp_path / "miner")
    driver, clines = private_clinic(dev, tmp_path)
    rpc = RecordingRpc(dev.rpc)
    driver.rpc = rpc
    jid, order = driver.job_id, driver.order
    for _ in range(10):  # the miner alone: the job is drawn, and nobody seals it yet
        miner.tick()
        dev.author()
        if dev.rpc.call("btt_job", jid)["assignments"]:
            break
    job = dev.rpc.call("btt_job", jid)
    assert job["assignments"][0]["state"] == "assigned" and job["inputsPosted"] == 0
    # the root alone, as a clinic stopped right after it would have given it (its order file holds the key)
    key = parse_hash(job["private"]["providerKey"])
    order.provider_key = key
    order.save(driver.path)
    driver.submit("compute.submit_sealed_inputs", (jid, order.sealed_root(driver.genesis, key)), True)
    for _ in range(2):
        miner.tick()
        dev.author()
    job = dev.rpc.call("btt_job", jid)
    assert job["assignments"][0]["state"] == "assigned" and job["inputsPosted"] == 0  # the provider cannot commit
    assert dev.rpc.call("btt_jobInputs", jid) is None  # a root without its items serves nothing
    driver.tick()
    assert any("its 16 sealed items are on chain (1 chunk sent)" in x for x in clines), clines
    inputs = dev.rpc.call("btt_jobInputs", jid)
    assert inputs["sealed"] is True and inputs["inputs"] == ["0x" + x.hex() for x in order.sealed(driver.genesis, key)]
    assert dev.rpc.call("btt_job", jid)["inputsPosted"] == 16
    run(dev, miner, driver, lambda: driver.results is not None, 150)
    assert dev.rpc.call("btt_job", jid)["private"]["outcome"] == "checked"
    assert any("computed 16 items" in x for x in mlines), mlines
    assert "btt_submitJobInputs" not in rpc.methods and dev.node.outputs.store.get(jid, INPUTS) is None


def test_a_clinic_resumed_after_some_sealed_chunks_landed_sends_only_the_rest(dev: DevChain,  # noqa: F811
                                                                             tmp_path: Path) -> None:
    # 692 cases and 8 decoys: 700 sealed items of 78 bytes, two chunks of the chain's plan (599 and 101)
    from btt_chain.miner.clinic import input_chunk_args
    from btt_chain.primitives.hashing import merkle_root

    miner, _ = private_miner(dev, "alice", tmp_path / "miner")
    driver, _ = private_clinic(dev, tmp_path, count=692)
    jid, order = driver.job_id, driver.order
    for _ in range(10):
        miner.tick()
        dev.author()
        if dev.rpc.call("btt_job", jid)["assignments"]:
            break
    key = parse_hash(dev.rpc.call("btt_job", jid)["private"]["providerKey"])
    order.provider_key = key
    order.save(driver.path)
    sealed = order.sealed(driver.genesis, key)
    first, rest = input_chunk_args(jid, sealed, driver.spec, True)
    assert (first[1], len(first[2]), rest[1], len(rest[2])) == (0, 599, 599, 101)
    driver.submit("compute.submit_sealed_inputs", (jid, merkle_root(sealed)), True)
    driver.submit("compute.post_inputs", first, True)  # then the clinic stops
    assert dev.rpc.call("btt_job", jid)["inputsPosted"] == 599 and dev.rpc.call("btt_jobInputs", jid) is None
    sent: list[tuple[str, Any]] = []

    def submit(call: str, args: tuple[Any, ...], wait: bool, force: bool = False) -> str:
        sent.append((call, args[1]))
        return driver.submit(call, args, wait, force)

    lines: list[str] = []
    resumed = PrivateJobDriver(dev.rpc, submit, lines.append, driver.keypair, PrivateOrder.load(driver.path),
                               driver.path, driver.genesis, driver.spec)
    resumed.tick()
    assert sent == [("compute.post_inputs", 599)]  # the root is on chain, and so is the first chunk
    assert any("its 700 sealed items are on chain (1 chunk sent from item 599 on)" in x for x in lines), lines
    assert dev.rpc.call("btt_jobInputs", jid)["inputs"] == ["0x" + x.hex() for x in sealed]
    run(dev, miner, resumed, lambda: resumed.results is not None, 150)
    from runtime.compute.inference import infer
    from runtime.compute.models import built

    assert resumed.results == infer(built(driver.spec), order.items)
