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


def private_clinic(chain: DevChain, tmp_path: Path, name: str = "ferdie",
                   first_is_case: bool = False) -> tuple[PrivateJobDriver, list[str]]:
    lines: list[str] = []
    model, model_name = resolve_model(chain.rpc, "breast-cancer-v1")
    spec = model_spec(chain.rpc.call("btt_model", "0x" + model.hex()))
    cases, labels = generated_cases(model_name, CASES, b"\x42" * 32)
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
    driver.post(10**18, 300_000)
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
