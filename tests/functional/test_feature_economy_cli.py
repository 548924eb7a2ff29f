"""feature_economy_cli: issue 4's walk-through on a real dev node, through the `btt-chain` commands a user types.

The chain is the dev preset with a 6-second "month", so a 30-day lock ends in 6 s.
"""

from __future__ import annotations

import json

import pytest

from btt_chain.primitives.amounts import parse_btt
from genesis.loader import canonical_json, load_chain_spec_doc
from tests.functional.framework import Harness, wait_until
from tests.support.cli_runner import succeed as cli

UNIT = 10**18


def test_economics_walk_through(harness: Harness, capsys: pytest.CaptureFixture[str]) -> None:
    doc = load_chain_spec_doc("dev")
    doc["time"]["month_seconds"] = 6
    spec = harness.root / "fast-dev.json"
    spec.write_bytes(canonical_json(doc))
    node = harness.add_node(chain=str(spec), validator_key="alice")
    node.start()
    rpc = ("--rpc", node.rpc.url)

    def account(name: str) -> dict:
        return json.loads(cli(capsys, "query", "account", name, "--json", *rpc))

    def fee_of(out: str) -> str:
        return out.split("fee ")[1].split(" ")[0]

    harness.log("an investor's allocation is locked before its cliff")
    vesting = json.loads(cli(capsys, "query", "vesting", "dave", "--json", *rpc))
    assert int(vesting["locked"]) == 1_050_000 * UNIT and int(vesting["unlocked"]) == 0
    assert int(account("dave")["spendable"]) == 0

    harness.log("a 30-day stake of 1,000 BTT pays 3% a year pro rata at the end of its lock")
    cli(capsys, "stake", "--from", "bob", "--tier", "30d", "--amount", "1000", *rpc)
    stakes = json.loads(cli(capsys, "query", "stakes", "bob", "--json", *rpc))
    [deposit] = stakes["deposits"]
    wait_until(lambda: node.call("btt_header")["timestamp"] and
               int(node.call("btt_header")["timestamp"], 16) >= deposit["unlockMs"], 120, what="lock ends")
    cli(capsys, "unstake", "--from", "bob", "--deposit", str(deposit["id"]), *rpc)
    events = node.call("btt_events")
    [unstaked] = [e for e in events if e["event"] == "Unstaked"]
    assert int(unstaked["yield_paid"]) == 1000 * UNIT * 300 * 30 // (365 * 10_000)

    harness.log("a 180-day staker pays 20% less fee")
    cli(capsys, "stake", "--from", "charlie", "--tier", "180d", "--amount", "10000", *rpc)
    discounted = fee_of(cli(capsys, "transfer", "--from", "charlie", "--to", "eve", "--amount", "1", *rpc))
    full = fee_of(cli(capsys, "transfer", "--from", "eve", "--to", "charlie", "--amount", "1", *rpc))
    assert parse_btt(discounted) == parse_btt(full) - parse_btt(full) * 2000 // 10_000

    harness.log("the 2-of-3 multisig moves liquidity funds only with two approvals")
    args = ("--signatories", "alice,bob,charlie", "--threshold", "2", "--call", "balances.transfer_allow_death",
            "--args", '["dave", "5"]')
    dave = int(account("dave")["free"])
    cli(capsys, "multisig", "approve", "--from", "alice", *args, *rpc)
    assert int(account("dave")["free"]) == dave
    cli(capsys, "multisig", "approve", "--from", "bob", *args, *rpc)
    assert int(account("dave")["free"]) == dave + 5 * UNIT

    harness.log("after the cliff the investor's tokens unlock linearly, without a vest call")
    cliff = vesting["schedules"][0]["cliff"]
    wait_until(lambda: int(node.call("btt_header")["timestamp"], 16) > cliff + 6_000, 120, what="past the cliff")
    assert int(account("dave")["spendable"]) > 0  # no vest call: spendable follows the block's time
