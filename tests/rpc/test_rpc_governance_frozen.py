"""A closed referendum's tally, as `btt_referendum` and `btt-chain referendum show` give it, is the one stored when
voting closed (issue 42, finding 5), on an in-process dev node.

The README's walkthrough passes; then the spend is enacted (1,000 BTT leave a module account: the circulating
supply, the holders' electorate and the quorum's base, moves) and a year goes by (the house weights of the
decentralisation schedule move): the figures shown do not, and they say they are the figures at the close.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from btt_chain.primitives.hashing import ZERO_HASH
from btt_chain.primitives.keys import dev_keypair
from cli.main import main
from runtime.governance import electorate, logic, storage
from runtime.modules import RUNTIME
from runtime.overlay import Overlay
from runtime.system import time

from .harness import UNIT, RpcHarness

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
