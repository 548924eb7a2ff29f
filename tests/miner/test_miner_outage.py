"""A miner that was down past its job's deadline comes back, finds the assignment late and opens its sample
from the result it kept on disk: the chain takes the missed-deadline fee, not the withholding slash
(`runtime/compute/outage.py`). Its reveal window is the dev preset's, so it turns late at the end of that window,
before the job's deadline."""

from __future__ import annotations

from pathlib import Path

from btt_chain.miner.clinic import resolve_model
from btt_chain.miner.rpc_loop import ProviderOptions
from btt_chain.primitives.hashing import ZERO_HASH
from btt_chain.primitives.keys import dev_keypair
from tests.miner.test_miner_loop import UNIT, DevChain, miner, run_until


def test_a_miner_down_past_the_deadline_opens_its_sample_late_and_pays_only_the_fee(dev: DevChain,
                                                                                    tmp_path: Path) -> None:
    m, mlines = miner(dev, "bob", tmp_path)
    m.ensure_registered(ProviderOptions())
    model, _ = resolve_model(dev.rpc, "breast-cancer-v1")
    dev.submitter(dev_keypair("ferdie"))("compute.post_job", (model, ZERO_HASH, b"\x71" * 32, 4, UNIT, 1, 120_000),
                                         True)
    run_until(dev, [m], lambda: any("committed in block" in x for x in mlines), 20)
    # the miner is killed: blocks go on past the deadline, the sample is drawn meanwhile
    (job,) = dev.rpc.call("btt_jobs")
    while dev.rpc.call("btt_job", job["id"])["assignments"][0]["state"] != "late":
        dev.author()
    assert (tmp_path / f"job-{job['id']}.json").exists()
    # it comes back: a new loop over the same data directory
    back, lines = miner(dev, "bob", tmp_path)
    run_until(dev, [back], lambda: any("late reveal verified" in x for x in lines), 10)
    assert dev.rpc.call("btt_job", job["id"])["assignments"][0]["state"] == "missed"
    assert any("the missed-assignment fee of 0.15 BTT only" in x for x in lines)  # 0.05 + 10% of 1 BTT, not 25
    (p,) = dev.rpc.call("btt_providers", "0x" + dev_keypair("bob").public.hex())
    assert p["stats"]["failed"] == 1 and p["stats"]["frauds"] == 0
    # the miner bonds the fee back: below the minimum provider bond it would get no more work
    run_until(dev, [back], lambda: any("bonding 0.15 BTT back" in x for x in lines), 3)
    dev.author()
    (p,) = dev.rpc.call("btt_providers", "0x" + dev_keypair("bob").public.hex())
    assert int(p["bond"]) == 100 * UNIT
    back.tick()
    assert back.engine.job_ids() == [] and not any(tmp_path.iterdir())  # final: the kept result is dropped
