"""Outputs after the reveal, against an in-process dev node block by block: the miner publishes its outputs,
the clinic re-executes them and challenges a faked item outside the sample, demands outputs nobody serves,
and two redundant providers that disagree settle their dispute with the liar slashed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from btt_chain.miner.clinic import ClinicLoop, JobTerms, resolve_model
from btt_chain.miner.rpc_loop import MinerLoop, ProviderOptions, param_value
from btt_chain.primitives.hashing import ZERO_HASH
from btt_chain.primitives.keys import dev_keypair
from tests.miner.test_miner_loop import UNIT, DevChain, miner, run_until

ITEMS = 1024
"""Big enough that a faked item 0 usually escapes the 8-item sample (it is caught 8 times in 1024)."""
ATTEMPTS = 4
SLASH = 25 * UNIT
"""The dev chain's fixed fraud slash."""
REWARD = SLASH // 10
"""The challenger's share of it (`slashing.reporter_bps`)."""


def hexid(name: str) -> str:
    return "0x" + dev_keypair(name).public.hex()


def events(dev: DevChain, name: str) -> list[dict[str, Any]]:
    out = []
    for n in range(1, int(dev.rpc.call("chain_getHeader")["number"], 16) + 1):
        out += [e for e in dev.rpc.call("btt_events", dev.rpc.call("chain_getBlockHash", n)) if e["event"] == name]
    return out


def checking_clinic(dev: DevChain, name: str, demand_after_s: float = 60.0) -> tuple[ClinicLoop, list[str]]:
    lines: list[str] = []
    model, model_name = resolve_model(dev.rpc, "breast-cancer-v1")
    terms = JobTerms(model, model_name, ITEMS, 3 * UNIT, 1, 120_000)
    loop = ClinicLoop(dev.rpc, dev.address(name), terms, dev.submitter(dev_keypair(name)), lines.append,
                      demand_after_s=demand_after_s)
    return loop, lines


def rebond(dev: DevChain, provider: MinerLoop) -> None:
    """Bond a provider slashed for a sampled fake back up to the minimum: below it, it is drawn for no job and a
    job that needs it waits for ever."""
    minimum = param_value(dev.rpc, "compute.min_provider_bond")
    bonded = int(dev.rpc.call("btt_bonds", provider.address)["bonded"])
    if bonded < minimum:
        provider.submit("bonds.bond_extra", (minimum - bonded,), True)


def verified_job(dev: DevChain, loops: list[Any], post: Any, faker: MinerLoop, mlines: list[str]) -> int:
    """Post jobs until one's faked item escapes the sample (a sampled fake is caught at once: try again)."""
    for _ in range(ATTEMPTS):
        post()
        run_until(dev, loops, lambda: any("sample verified" in x or "FRAUD" in x for x in mlines), 80)
        if any("sample verified" in x for x in mlines):
            (jid,) = [int(x.split("#")[1].split()[0]) for x in mlines if "sample verified" in x]
            return jid
        mlines.clear()
        run_until(dev, [faker], lambda: not faker.engine.job_ids(), 5)
        rebond(dev, faker)
    raise AssertionError(f"the faked item was sampled {ATTEMPTS} times in a row")


def test_the_clinic_challenges_a_faked_item_outside_the_sample(dev: DevChain, tmp_path: Path) -> None:
    m, mlines = miner(dev, "bob", tmp_path, fake_items=1)
    m.ensure_registered(ProviderOptions())
    c, clines = checking_clinic(dev, "charlie")
    before = dev.rpc.call("btt_issuance")
    charlie_before = int(dev.rpc.call("btt_account", hexid("charlie"))["free"])
    jid = verified_job(dev, [m, c], c.post, m, mlines)

    run_until(dev, [m, c], lambda: any("challenge upheld" in x for x in clines), 10)
    assert any(f"job #{jid}: published {ITEMS} outputs to the node" in x for x in mlines), mlines
    assert any(f"1 of {ITEMS} outputs of {dev.address('bob')} are WRONG (item 0 first)" in x for x in clines), clines
    (upheld,) = events(dev, "ChallengeUpheld")
    assert (upheld["job_id"], upheld["provider"], upheld["item"]) == (jid, dev.address("bob"), 0)
    assert upheld["challenger"] == dev.address("charlie")
    assert (int(upheld["slashed"]), int(upheld["reward"]), int(upheld["refunded"])) == (SLASH, REWARD, 3 * UNIT)
    job = dev.rpc.call("btt_job", jid)
    assert job["assignments"][0]["state"] == "fraud"
    assert int(dev.rpc.call("btt_bonds", hexid("bob"))["bonded"]) == 100 * UNIT - SLASH
    account = dev.rpc.call("btt_account", hexid("charlie"))
    assert int(account["reserved"]) == 0
    # the escrow came back and the reward came in; a few small fees went out (posts, the challenge)
    assert REWARD - UNIT // 10 < int(account["free"]) - charlie_before < REWARD
    after = dev.rpc.call("btt_issuance")
    assert int(after["totalIssuance"]) == int(after["genesisSupply"]) - int(after["totalBurned"])
    assert int(before["totalIssuance"]) - int(after["totalIssuance"]) == int(after["totalBurned"]) - int(
        before["totalBurned"])
    run_until(dev, [m], lambda: not m.engine.job_ids(), 3)  # the assignment is final: the result is dropped


def test_outputs_nobody_serves_are_demanded_posted_and_checked(dev: DevChain, tmp_path: Path) -> None:
    m, mlines = miner(dev, "bob", tmp_path)
    m._publish = lambda jid, outputs: m.unpublished.discard(jid)  # type: ignore[method-assign]
    m.ensure_registered(ProviderOptions())
    c, clines = checking_clinic(dev, "charlie", demand_after_s=0)
    c.post()
    run_until(dev, [m, c], lambda: any("re-execute correctly" in x for x in clines), 80)
    assert any("no node serves the outputs" in x and "demanded them on chain" in x for x in clines), clines
    assert any("outputs demanded in block" in x for x in mlines) and any("posted its outputs on chain" in x
                                                                       for x in mlines), mlines
    (job,) = dev.rpc.call("btt_jobs")
    assert job["assignments"][0]["outputsPosted"] is True
    assert dev.rpc.call("btt_jobOutputs", job["id"], hexid("bob"))["source"] == "chain"
    run_until(dev, [m, c], lambda: any("receipt" in x for x in clines), 30)
    assert dev.rpc.call("btt_job", job["id"])["assignments"][0]["state"] == "settled"


def redundant_job(
    dev: DevChain, tmp_path: Path, liar_posts: bool = True
) -> tuple[MinerLoop, list[str], MinerLoop, list[str], int]:
    """bob (honest) and charlie (faking item 0) both verified on one 2-provider job of ferdie's."""
    honest, hlines = miner(dev, "bob", tmp_path / "bob")
    liar, llines = miner(dev, "charlie", tmp_path / "charlie", fake_items=1)
    liar.withhold_outputs = not liar_posts  # it still publishes them to its node
    honest.ensure_registered(ProviderOptions())
    liar.ensure_registered(ProviderOptions())
    model, _ = resolve_model(dev.rpc, "breast-cancer-v1")
    ferdie = dev.submitter(dev_keypair("ferdie"))
    seeds = iter(bytes([i]) * 32 for i in range(1, ATTEMPTS + 1))

    def post() -> None:
        ferdie("compute.post_job", (model, ZERO_HASH, next(seeds), ITEMS, 4 * UNIT, 2, 120_000), True)

    jid = verified_job(dev, [honest, liar], post, liar, llines)
    return honest, hlines, liar, llines, jid


def slashed_liar(dev: DevChain, jid: int, challenger: str) -> None:
    (differ,) = events(dev, "ResultsDiffer")
    assert {differ["provider_a"], differ["provider_b"]} == {dev.address("bob"), dev.address("charlie")}
    (upheld,) = events(dev, "ChallengeUpheld")
    assert (upheld["job_id"], upheld["provider"], upheld["item"]) == (jid, dev.address("charlie"), 0)
    assert upheld["challenger"] == dev.address(challenger)
    assert (int(upheld["slashed"]), int(upheld["reward"]), int(upheld["refunded"])) == (SLASH, REWARD, 2 * UNIT)
    states = {a["provider"]: a["state"] for a in dev.rpc.call("btt_job", jid)["assignments"]}
    assert states == {dev.address("charlie"): "fraud", dev.address("bob"): "verified"}
    assert int(dev.rpc.call("btt_bonds", hexid("charlie"))["bonded"]) == 100 * UNIT - SLASH


def test_two_redundant_providers_disagree_and_the_liar_is_slashed(dev: DevChain, tmp_path: Path) -> None:
    honest, hlines, liar, llines, jid = redundant_job(dev, tmp_path)
    run_until(dev, [honest, liar], lambda: events(dev, "ChallengeUpheld"), 10)
    # both owed their outputs, both posted them; the chain re-executed item 0 and slashed charlie (bob reported)
    for lines in (hlines, llines):
        assert any("our output root differs" in x for x in lines) and any("posted its outputs on chain" in x
                                                                          for x in lines)
    slashed_liar(dev, jid, "bob")
    assert not any("challenging it" in x for x in llines)  # the liar's miner found nothing wrong with bob's
    run_until(dev, [honest, liar], lambda: any(f"job #{jid} receipt" in x for x in hlines), 150)
    states = {a["provider"]: a["state"] for a in dev.rpc.call("btt_job", jid)["assignments"]}
    assert states == {dev.address("charlie"): "fraud", dev.address("bob"): "settled"}
    issuance = dev.rpc.call("btt_issuance")
    assert int(issuance["totalIssuance"]) == int(issuance["genesisSupply"]) - int(issuance["totalBurned"])


def test_a_liar_that_keeps_its_outputs_off_chain_is_challenged_by_the_honest_provider(
    dev: DevChain, tmp_path: Path
) -> None:
    honest, hlines, liar, llines, jid = redundant_job(dev, tmp_path, liar_posts=False)
    run_until(dev, [honest, liar], lambda: events(dev, "ChallengeUpheld"), 10)
    # the liar published its outputs to the node but never posted them: bob fetched them and proved item 0 wrong
    assert any(f"{dev.address('charlie')}'s item 0 does not re-execute to its output; challenging it" in x
               for x in hlines), hlines
    assert any(f"{dev.address('charlie')}'s item 0 proven wrong" in x and "2.5 BTT to us as its reporter" in x
               for x in hlines), hlines
    slashed_liar(dev, jid, "bob")
