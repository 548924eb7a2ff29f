"""A closed referendum's tally, as `btt_referendum` and `btt-chain referendum show` give it, is the one stored when
voting closed (issue 42, finding 5), on an in-process dev node.

The walkthrough of docs/governance.md passes; then the spend is enacted (1,000 BTT leave a module account: the
circulating supply, the holders' electorate and the quorum's base, moves) and a year goes by (the house weights of the
decentralisation schedule move): the figures shown do not, and they say they are the figures at the close.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from btt_chain.node.service import Node, NodeConfig
from btt_chain.primitives.hashing import ZERO_HASH
from btt_chain.primitives.keys import dev_keypair
from btt_chain.rpc import runtime_info
from btt_chain.rpc.server import RpcServer
from cli.main import main
from genesis.loader import canonical_json, load_chain_spec, load_chain_spec_doc
from runtime.governance import electorate, logic, storage
from runtime.modules import RUNTIME
from runtime.overlay import Overlay
from runtime.system import time
from storage import schema

from .harness import UNIT, RpcHarness, free_port

ALL = 2**128 - 1


async def show(rpc: RpcHarness, capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """`btt-chain ARGV --rpc URL` (read-only) in a worker thread, so this loop keeps serving it; its stdout."""
    capsys.readouterr()

    def run() -> int:
        try:
            main([*argv, "--rpc", rpc.url])
        except SystemExit as exc:
            return int(exc.code or 0)
        return 0

    code = await asyncio.get_running_loop().run_in_executor(None, run)
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def field(text: str, name: str) -> str:
    """The value of the `name` row of the CLI's aligned fields."""
    (line,) = [line for line in text.splitlines() if line.startswith(name + " ")]
    return line[len(name):].strip()


def tally_lines(text: str) -> list[str]:
    """The per-house table and the lines under it (everything after the first blank line)."""
    return text.split("\n\n", 1)[1].splitlines()


@pytest.mark.asyncio
async def test_the_figures_of_a_closed_referendum_do_not_move(rpc: RpcHarness,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    alice, dave = rpc.alice, dev_keypair("dave")
    params = {row["name"]: int(row["value"]) for row in await rpc.call("btt_params")}
    spend = RUNTIME.call("treasury.spend", "ecosystem_fund", dev_keypair("bob").public, 1_000 * UNIT)
    await rpc.submit_in_block(alice, "balances.transfer_allow_death", dave.public, 10 * UNIT)
    await rpc.submit_in_block(alice, "governance.propose", spend, ZERO_HASH, params["governance.min_deposit"], False)
    for name in ("bob", "charlie", "dave"):
        await rpc.submit_in_block(dev_keypair(name), "governance.vote", 0, True, ALL)
    voting = await rpc.call("btt_referendum", 0)
    assert not voting["frozen"] and voting["tallyAtClose"] is None
    live_text = await show(rpc, capsys, "referendum", "show", "0")
    assert "if voting closed now  passed" in live_text and "frozen" not in live_text, live_text

    rpc.author_at_time(voting["votingEndsMs"])
    closed = await rpc.call("btt_referendum", 0)
    assert closed["status"] == "passed" and closed["frozen"] and closed["liveTally"] is None
    at_close = closed["tallyAtClose"]
    assert at_close["verdict"] == "passed" and at_close["at"] == closed["votingEndsMs"]
    assert at_close["houses"] == voting["liveTally"]["houses"]  # nobody voted since: the same figures
    assert at_close["block"] == rpc.node.chain.head.number and at_close["closedMs"] >= closed["votingEndsMs"]
    text = await show(rpc, capsys, "referendum", "show", "0")
    assert f"frozen at the close: the figures stored in block #{at_close['block']}" in text, text
    assert field(text, "verdict at close") == "passed" and "if voting closed now" not in text, text
    query = await show(rpc, capsys, "query", "referendum", "0")
    assert query == text

    # the spend is enacted (the fund pays bob: circulating supply up by 1,000 BTT) and a year goes by
    rpc.author_at_time(closed["enactAtMs"])
    rpc.author_at_time(closed["enactAtMs"] + time.year_ms(Overlay(rpc.node.chain.db.state)))
    state = Overlay(rpc.node.chain.db.state)
    assert electorate.circulating(state) != int(at_close["quorum"]["circulating"])  # a recount would move
    ref = storage.referenda.get(state, 0)
    recount = logic.figures(logic.verdict(state, ref, ref.voting_ends_ms))
    assert recount.circulating != int(at_close["quorum"]["circulating"])

    later: dict[str, Any] = await rpc.call("btt_referendum", 0)
    assert later["status"] == "enacted" and later["frozen"]
    assert later["tallyAtClose"] == at_close
    later_text = await show(rpc, capsys, "referendum", "show", "0")
    assert tally_lines(later_text) == tally_lines(text)
    explained = (await rpc.call("btt_explorerReferenda", 5))[0]
    assert explained["tallyAtClose"] == at_close and explained["liveTally"] is None
    assert explained["explanation"]["reason"].startswith("passed (at the close, aye share 100.00%"), explained


@pytest.mark.asyncio
async def test_a_rejected_referendum_shows_its_stored_reason_with_the_figures(rpc: RpcHarness,
                                                                              capsys: pytest.CaptureFixture[str]
                                                                              ) -> None:
    params = {row["name"]: int(row["value"]) for row in await rpc.call("btt_params")}
    spend = RUNTIME.call("treasury.spend", "ecosystem_fund", dev_keypair("bob").public, UNIT)
    await rpc.submit_in_block(rpc.alice, "governance.propose", spend, ZERO_HASH, params["governance.min_deposit"],
                              False)
    await rpc.submit_in_block(dev_keypair("bob"), "governance.vote", 0, True, ALL)
    ends = (await rpc.call("btt_referendum", 0))["votingEndsMs"]
    rpc.author_at_time(ends)
    ref = await rpc.call("btt_referendum", 0)
    reason = "rejected: 1 house (holders) in favour at or above the turnout floor of 1.00%, 2 needed"
    assert ref["status"] == "rejected" and ref["reason"] == reason
    assert ref["tallyAtClose"]["verdict"] == "rejected" and ref["tallyAtClose"]["verdictReason"] == reason
    assert ref["tallyAtClose"]["housesInFavour"]["count"] == 1
    text = await show(rpc, capsys, "referendum", "show", "0")
    assert field(text, "verdict at close") == reason, text
    holders = next(line for line in text.splitlines() if line.startswith("holders"))
    assert holders.endswith("yes"), text


# the weight beyond the largest aye voters (issue 52, finding 6) -----------------------------------------------

WEIGHT_RULE = ("governance.house_min_aye_voters", "governance.house_min_other_aye_bps")
"""btt-21m's houses rule on a dev node: 2 aye voters, those beyond the largest holding 1% of the house."""
BTT_21M = {p.name: p.value for p in load_chain_spec("btt-21m").parameters}


@pytest_asyncio.fixture
async def rpc_21m_rule(tmp_path: Path) -> AsyncIterator[RpcHarness]:
    """A dev node (alice validates) whose houses rule is btt-21m's (`WEIGHT_RULE`), served over RPC."""
    doc = load_chain_spec_doc("dev")
    for name in WEIGHT_RULE:
        doc["parameters"][name]["value"] = BTT_21M[name]
    spec = tmp_path / "dev-21m-houses-rule.json"
    spec.write_bytes(canonical_json(doc))
    alice = dev_keypair("alice")
    node = Node(NodeConfig(chain=str(spec), base_path=None, tmp=True, validator_key=alice, rpc_port=free_port()))
    server = RpcServer(node, "127.0.0.1", node.config.rpc_port)
    try:
        await server.start()
        async with aiohttp.ClientSession() as session:
            yield RpcHarness(node, server, session, alice)
    finally:
        await server.stop()
        node.close()


def house_row(text: str, house: str) -> str:
    (line,) = [line for line in tally_lines(text) if line.startswith(house + " ")]
    return line


def cells(row: str) -> list[str]:
    """A row of the CLI's per-house table by column (columns are two or more spaces apart, cells have single)."""
    return re.split(r"\s{2,}", row.strip())


@pytest.mark.asyncio
async def test_a_whales_dust_account_is_shown_failing_the_weight_bar_as_the_close_enforces_it(
        rpc_21m_rule: RpcHarness, capsys: pytest.CaptureFixture[str]) -> None:
    """The attack of finding 6 as the RPC, the CLI and the explorer show it: bob (a whale of the holders' house,
    above its turnout floor alone) gets his second aye voter from a 1 BTT account of his own. The holders' house
    has 2 aye voters and its floor, and fails only the weight bar: every view says so in words, with the figure the
    close checks; charlie's real weight then meets it. What is shown while voting is what the close froze."""
    rpc = rpc_21m_rule
    params = {row["name"]: int(row["value"]) for row in await rpc.call("btt_params")}
    assert [params[name] for name in WEIGHT_RULE] == [2, 100] == [BTT_21M[name] for name in WEIGHT_RULE]
    bob, dust = dev_keypair("bob"), dev_keypair("bob//dust")
    spend = RUNTIME.call("treasury.spend", "ecosystem_fund", bob.public, UNIT)
    await rpc.submit_in_block(rpc.alice, "governance.propose", spend, ZERO_HASH, params["governance.min_deposit"],
                              False)
    await rpc.submit_in_block(bob, "balances.transfer_allow_death", dust.public, UNIT)
    for who in (bob, dust):
        await rpc.submit_in_block(who, "governance.vote", 0, True, ALL)

    live = (await rpc.call("btt_referendum", 0))["liveTally"]
    holders, rule = live["houses"]["holders"], live["housesInFavour"]
    assert (rule["minAyeVoters"], rule["minOtherAyeBps"], rule["otherAyeLeavesOut"]) == (2, 100, 1)
    assert holders["ayeVoters"] == 2 and holders["meetsTurnoutFloor"] and holders["enoughAyeVoters"]
    assert int(holders["aye"]) > int(holders["nay"]) == 0
    dust_turnout = (await rpc.call("btt_voter", "0x" + dust.public.hex()))["votes"][0]["turnout"]
    assert 0 < int(dust_turnout) <= UNIT and holders["otherAye"] == dust_turnout  # bob's own weight is left out
    assert holders["otherAyeSharePpm"] == 0 and not holders["enoughOtherAye"] and not holders["inFavour"]
    reason = live["verdictReason"]
    assert live["verdict"] == "rejected" and reason.startswith("rejected: 0 houses in favour"), reason
    assert reason.endswith("; in favour with under 1.00% of the house's weight voting aye beyond the largest aye "
                           "voter: holders (0.00%)"), reason

    text = await show(rpc, capsys, "referendum", "show", "0")
    header = tally_lines(text)[0]
    assert "aye beyond largest" in header, text
    assert cells(house_row(text, "holders"))[-2:] == ["0.00%", "under 1.00% aye beyond the largest"], text
    assert field(text, "houses in favour").startswith(
        "0 of 2 needed (aye above nay, turnout at least 1.00% of the house, at least 2 aye voters and at least "
        "1.00% of the house voting aye beyond the largest aye voter): not met"), text
    assert field(text, "if voting closed now") == reason, text
    (explained,) = await rpc.call("btt_explorerReferenda", 5)
    assert explained["explanation"]["reason"] == "if voting closed now, " + reason

    # real weight, not another head: charlie votes aye and the holders' house meets the bar
    await rpc.submit_in_block(dev_keypair("charlie"), "governance.vote", 0, True, ALL)
    live = (await rpc.call("btt_referendum", 0))["liveTally"]
    holders = live["houses"]["holders"]
    assert holders["enoughOtherAye"] and holders["inFavour"] and holders["otherAyeSharePpm"] >= 10_000
    assert int(holders["otherAye"]) * 10_000 >= int(holders["electorate"]) * 100
    assert house_row(await show(rpc, capsys, "referendum", "show", "0"), "holders").endswith("yes")

    # the close freezes what was shown: the same figures, the weight rule beside them
    ends = (await rpc.call("btt_referendum", 0))["votingEndsMs"]
    rpc.author_at_time(ends)
    at_close = (await rpc.call("btt_referendum", 0))["tallyAtClose"]
    assert at_close["houses"] == live["houses"] and at_close["housesInFavour"] == live["housesInFavour"]
    state = Overlay(rpc.node.chain.db.state)
    stored = storage.closed_other_ayes.get(state, 0)
    assert stored is not None and stored.min_other_aye_bps == 100
    assert [str(o) for o in stored.other_aye] == [h["otherAye"] for h in at_close["houses"].values()]
    assert list(stored.enough_other_aye) == [h["enoughOtherAye"] for h in at_close["houses"].values()]


@pytest.mark.asyncio
async def test_a_referendum_closed_before_the_weight_rule_was_stored_says_not_recorded(
        rpc: RpcHarness, capsys: pytest.CaptureFixture[str]) -> None:
    """A referendum closed by a spec before the weight bar has a `tally_at_close` entry and none in
    `other_aye_at_close`: the RPC reads null (never a 0 the chain did not check), the CLI and the explorer say "not
    recorded"; every figure that was stored reads as before."""
    params = {row["name"]: int(row["value"]) for row in await rpc.call("btt_params")}
    spend = RUNTIME.call("treasury.spend", "ecosystem_fund", dev_keypair("bob").public, UNIT)
    await rpc.submit_in_block(rpc.alice, "balances.transfer_allow_death", dev_keypair("dave").public, 10 * UNIT)
    await rpc.submit_in_block(rpc.alice, "governance.propose", spend, ZERO_HASH, params["governance.min_deposit"],
                              False)
    for name in ("bob", "dave"):
        await rpc.submit_in_block(dev_keypair(name), "governance.vote", 0, True, ALL)
    rpc.author_at_time((await rpc.call("btt_referendum", 0))["votingEndsMs"])
    recorded = await rpc.call("btt_referendum", 0)
    assert recorded["status"] == "passed" and recorded["tallyAtClose"]["housesInFavour"]["otherAyeRecorded"]

    # the state a spec-13 close left: the figures, and no weight rule beside them
    db = rpc.node.chain.db
    db.kv.write({}, [schema.state_key(storage.closed_other_ayes.key(0))])
    db.state.forget()
    ref = await rpc.call("btt_referendum", 0)
    at_close = ref["tallyAtClose"]
    assert ref["frozen"] and at_close["housesInFavour"]["otherAyeRecorded"] is False
    assert at_close["housesInFavour"]["minOtherAyeBps"] is None
    for house, h in at_close["houses"].items():
        assert (h["otherAye"], h["otherAyeShare"], h["otherAyeSharePpm"], h["enoughOtherAye"]) == (None,) * 4, house
    kept = recorded["tallyAtClose"]
    assert at_close["houses"]["holders"]["inFavour"] and at_close["houses"]["institutions"]["inFavour"]
    assert {h: {k: v for k, v in f.items() if not k.startswith(("otherAye", "enoughOtherAye"))}
            for h, f in at_close["houses"].items()} == {
        h: {k: v for k, v in f.items() if not k.startswith(("otherAye", "enoughOtherAye"))}
        for h, f in kept["houses"].items()}

    text = await show(rpc, capsys, "referendum", "show", "0")
    assert "aye of house" in tally_lines(text)[0], text  # the dev chain asks for 1 aye voter: none left out
    for house in ("institutions", "compute", "holders", "representatives"):
        assert cells(house_row(text, house))[7] == "not recorded", text
    assert cells(house_row(text, "holders"))[-2:] == ["not recorded", "yes"], text
    assert field(text, "houses in favour").startswith(
        "2 of 2 needed (aye above nay, turnout at least 1.00% of the house, at least 1 aye voter; the weight voting "
        "aye: not recorded, voting closed before the chain stored it): met"), text
    (explained,) = await rpc.call("btt_explorerReferenda", 5)
    assert explained["tallyAtClose"] == at_close
    assert "(the weight voting aye not recorded), 2 needed" in explained["explanation"]["reason"], explained
    assert "0.50%" not in explained["explanation"]["reason"]


@pytest.mark.asyncio
async def test_the_weight_figures_cost_one_pass_over_a_live_referendums_votes_and_none_once_closed(
        rpc: RpcHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    """The cost bound of the new figures: a live tally reads each of the referendum's votes once (the verdict's own
    pass, `logic.others_aye`: the RPC adds none), a closed one reads no vote (one stored record), the list reads
    none, and the explorer's page one pass per referendum still voting."""
    params = {row["name"]: int(row["value"]) for row in await rpc.call("btt_params")}
    spend = RUNTIME.call("treasury.spend", "ecosystem_fund", dev_keypair("bob").public, UNIT)
    for _ in range(2):
        await rpc.submit_in_block(rpc.alice, "governance.propose", spend, ZERO_HASH,
                                  params["governance.min_deposit"], False)
    voters = ("bob", "charlie")
    for name in voters:
        await rpc.submit_in_block(dev_keypair(name), "governance.vote", 0, True, ALL)
    await rpc.submit_in_block(dev_keypair("eve"), "governance.vote", 1, True, ALL)
    passes: list[int] = []
    real = storage.votes_of

    def counted(state: Overlay, ref_id: int) -> Any:
        passes.append(ref_id)
        yield from real(state, ref_id)

    monkeypatch.setattr(storage, "votes_of", counted)
    assert (await rpc.call("btt_referendum", 0))["liveTally"]["houses"]["holders"]["ayeVoters"] == len(voters)
    assert passes == [0]  # one pass over referendum 0's votes, nothing else
    passes.clear()
    await rpc.call("btt_referenda")
    assert passes == []
    await rpc.call("btt_explorerReferenda", 20)
    assert sorted(passes) == [0, 1]
    rpc.author_at_time((await rpc.call("btt_referendum", 1))["votingEndsMs"])
    passes.clear()
    closed = await rpc.call("btt_referendum", 0)
    assert closed["frozen"] and closed["tallyAtClose"]["housesInFavour"]["otherAyeRecorded"]
    await rpc.call("btt_explorerReferenda", 20)
    assert passes == []  # closed: the figures as stored, no vote read


@pytest.mark.asyncio
async def test_a_live_tally_is_the_verdict_of_the_spec_that_runs_the_next_block(
        rpc: RpcHarness, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The live tally takes the verdict of the runtime at the head (`runtime_info.module_of`: its own
    `governance.logic`), the rules the close would apply; under a spec without the weight bar (spec 13, before the
    upgrade that adds it and its parameter) that verdict has no such figure, and every view says "not recorded"
    instead of the newest spec's number (or its error: spec 13's state has no `house_min_other_aye_bps`)."""
    params = {row["name"]: int(row["value"]) for row in await rpc.call("btt_params")}
    spend = RUNTIME.call("treasury.spend", "ecosystem_fund", dev_keypair("bob").public, UNIT)
    await rpc.submit_in_block(rpc.alice, "governance.propose", spend, ZERO_HASH, params["governance.min_deposit"],
                              False)
    await rpc.submit_in_block(dev_keypair("bob"), "governance.vote", 0, True, ALL)
    asked: list[tuple[int, str]] = []
    real = runtime_info.module_of
    without_bar = SimpleNamespace(verdict=logic.verdict, figures=logic.figures)  # a spec's logic before the bar

    def module_of(runtime: Any, name: str) -> Any:
        asked.append((runtime.spec_version, name))
        return without_bar if name == "runtime.governance.logic" else real(runtime, name)

    monkeypatch.setattr(runtime_info, "module_of", module_of)
    live = (await rpc.call("btt_referendum", 0))["liveTally"]
    head_spec = runtime_info.runtime_at(Overlay(rpc.node.chain.db.state)).spec_version
    assert (head_spec, "runtime.governance.logic") in asked
    rule = live["housesInFavour"]
    assert rule["otherAyeRecorded"] is False and rule["minOtherAyeBps"] is None
    assert all(h["otherAye"] is None and h["enoughOtherAye"] is None for h in live["houses"].values())
    assert live["houses"]["holders"]["inFavour"] and live["verdict"] == "rejected"  # the rest of the verdict stands
    text = await show(rpc, capsys, "referendum", "show", "0")
    assert cells(house_row(text, "holders"))[-2:] == ["not recorded", "yes"], text
    assert "; the weight voting aye: not recorded, the spec the chain runs has no weight bar): not met" in text, text
