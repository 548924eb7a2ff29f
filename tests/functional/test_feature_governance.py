"""feature_governance: issue 6's "done when" on a real dev node, as a new user would do it from the command line.

Alice proposes spending 1,000 BTT from the Ecosystem Development Fund to bob; the token holders alice, bob
and charlie and the founding institution dave (holder of allocation row 2) vote aye; the referendum passes
when its voting period ends (20 s: the dev preset's 30 s, shortened, since the votes land in the first seconds)
and is enacted after the dev chain's 5-second delay; bob's balance
rises by exactly 1,000 BTT; `btt-chain query referenda --json` shows the tally per house. A second proposal
nobody backs is withdrawn: the command refuses without `--force`, since withdrawing it burns the deposit.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from btt_chain.primitives.accounts import module_account
from btt_chain.primitives.address import encode_address
from btt_chain.primitives.hashing import blake2b_256
from tests.functional.framework import Harness, NodeProcess, wait_until
from tests.support.cli_runner import run
from tests.support.cli_runner import succeed as cli
from tests.support.dev_accounts import dev_address as address

PREFIX = 42
UNIT = 10**18
GRANT = 1_000 * UNIT
DESCRIPTION = "Grant: 1,000 BTT from the Ecosystem Development Fund to bob"
VOTING_MS = 20_000


def free(node: NodeProcess, name: str) -> int:
    return int(node.call("btt_account", address(name))["free"])


def events_with(node: NodeProcess, first: int, event: str) -> tuple[int, list[dict[str, Any]]]:
    """The number and events of the first block from `first` on holding a governance `event`."""
    for n in range(first, node.height() + 1):
        events = node.call("btt_events", node.call("chain_getBlockHash", n))
        if any(e["module"] == "governance" and e["event"] == event for e in events):
            return n, events
    raise AssertionError(f"no block with governance.{event} from #{first}")


def test_a_treasury_grant_by_referendum(harness: Harness, capsys: pytest.CaptureFixture[str]) -> None:
    spec = harness.write_dev_spec(epoch_slots=20, parameters={"governance.voting_period_ms": VOTING_MS})
    node = harness.add_node(chain=str(spec), validator_key="alice", extra_args=["--no-p2p"])
    node.start()
    rpc = ("--rpc", node.rpc.url)
    start = node.height()

    harness.log("dave holds the China Digital Healthcare Group row, all locked: alice gives him 10 BTT for fees")
    cli(capsys, "transfer", "--from", "alice", "--to", "dave", "--amount", "10", *rpc)
    voter = json.loads(cli(capsys, "query", "voter", "dave", "--json", *rpc))
    assert voter["weights"]["institutions"] == str(1_050_000 * UNIT)

    harness.log("alice proposes treasury.spend of 1,000 BTT from ecosystem_fund to bob")
    fund_before = int(node.call("btt_account", encode_address(module_account("ecosystem_fund"), PREFIX))["free"])
    out = cli(capsys, "propose", "--call", "treasury.spend", "--args", '["ecosystem_fund", "bob", "1000"]',
              "--description", DESCRIPTION, "--from", "alice", "--json", *rpc)
    proposed = json.loads(out)
    ref_id = proposed["referendumId"]
    assert ref_id == 0 and proposed["descriptionHash"] == "0x" + blake2b_256(DESCRIPTION.encode()).hex()
    ref = node.call("btt_referendum", ref_id)
    assert ref["status"] == "voting" and ref["proposer"] == address("alice") and ref["track"] == "standard"
    assert ref["call"]["args"] == {"source": "ecosystem_fund", "dest": address("bob"), "amount": str(GRANT)}

    harness.log("the token holders bob, charlie and alice and the institution dave vote aye")
    for name in ("bob", "charlie", "dave", "alice"):
        out = cli(capsys, "vote", str(ref_id), "aye", "--from", name, *rpc)
        assert out.startswith(f"voted aye on referendum #{ref_id} with "), out
    bob_after_vote = free(node, "bob")  # bob sends nothing more: his balance moves only by the grant from here
    table = cli(capsys, "query", "referendum", str(ref_id), *rpc)
    for line in ("institutions", "compute", "holders", "representatives", "combined aye share", "turnout",
                 "in favour"):
        assert line in table, table
    assert "if voting closed now  passed" in table, table
    houses_line = next(line for line in table.splitlines() if line.startswith("houses in favour"))
    assert houses_line.split(None, 3)[3].startswith("2 of 2 needed") and houses_line.endswith(": met"), table
    holders_row = next(line for line in table.splitlines() if line.startswith("holders"))
    assert holders_row.endswith("yes"), table  # turnout above the dev chain's 1% floor: a house in favour
    live = node.call("btt_referendum", ref_id)["liveTally"]
    assert live["verdict"] == "passed" and live["ayeShare"] == "1" and live["quorum"]["met"]
    assert not live["houses"]["institutions"]["empty"] and live["houses"]["compute"]["empty"]

    harness.log(f"voting ends after {VOTING_MS // 1000} s: the referendum passes; 5 s later it is enacted")
    passed = wait_until(lambda: (r := node.call("btt_referendum", ref_id))["status"] != "voting" and r, 150, 0.5,
                        "the end of voting")
    assert passed["status"] in ("passed", "enacted"), passed
    enacted = wait_until(lambda: (r := node.call("btt_referendum", ref_id))["status"] == "enacted" and r, 60, 0.5,
                         "the enactment")
    assert enacted["ayeSharePpm"] == 1_000_000 and enacted["error"] is None
    assert enacted["enactAtMs"] - enacted["votingEndsMs"] == 5_000

    harness.log("bob's balance rose by exactly 1,000 BTT, paid out of the Ecosystem Development Fund")
    assert free(node, "bob") - bob_after_vote == GRANT
    fund_after = int(node.call("btt_account", encode_address(module_account("ecosystem_fund"), PREFIX))["free"])
    assert fund_before - fund_after == GRANT
    number, events = events_with(node, start, "Enacted")
    (enact,) = [e for e in events if e["event"] == "Enacted"]
    assert enact["ref_id"] == ref_id and enact["success"] is True
    (spent,) = [e for e in events if e["module"] == "treasury" and e["event"] == "Spent"]
    assert spent["dest"] == address("bob") and int(spent["amount"]) == GRANT and spent["source"] == "ecosystem_fund"
    _, closing = events_with(node, start, "VotingClosed")
    (closed,) = [e for e in closing if e["event"] == "VotingClosed"]
    assert closed["status"] == 1 and closed["aye_share_ppm"] == 1_000_000 and int(closed["deposit_burned"]) == 0

    harness.log("`btt-chain query referenda --json` shows the tally per house")
    (row,) = json.loads(cli(capsys, "query", "referenda", "--json", *rpc))
    assert row["id"] == ref_id and row["status"] == "enacted" and row["ayeShare"] == "1"
    houses = row["tally"]["houses"]
    assert list(houses) == ["institutions", "compute", "holders", "representatives"]
    assert houses["institutions"] == {"aye": str(1_050_000 * UNIT), "nay": "0"}
    assert houses["compute"] == {"aye": "0", "nay": "0"} and houses["representatives"] == {"aye": "0", "nay": "0"}
    assert int(houses["holders"]["aye"]) > 1_300_000 * UNIT and houses["holders"]["nay"] == "0"
    assert int(row["tally"]["turnout"]) == int(houses["holders"]["aye"])
    listing = cli(capsys, "query", "referenda", *rpc)
    assert listing.startswith(f"#{ref_id}") and "enacted" in listing and "treasury.spend(" in listing, listing

    harness.log("a proposal nobody backs: withdrawing it burns its deposit, so `referendum cancel` asks for --force")
    proposed = json.loads(cli(capsys, "propose", "--call", "treasury.spend", "--args",
                              '["ecosystem_fund", "alice", "1"]', "--from", "alice", "--json", *rpc))
    unbacked = proposed["referendumId"]
    live = node.call("btt_referendum", unbacked)["liveTally"]
    assert live["deposit"]["spam"] and live["deposit"]["backedShare"] == "0"
    code, _, err = run(capsys, "referendum", "cancel", str(unbacked), "--from", "alice", *rpc)
    assert code != 0 and "burns its deposit of 100 BTT" in err and "--force" in err, err
    assert node.call("btt_referendum", unbacked)["status"] == "voting"
    out = cli(capsys, "--force", "referendum", "cancel", str(unbacked), "--from", "alice", *rpc)
    assert f"cancelled referendum #{unbacked}; the deposit of 100 BTT is burned" in out, out
    assert node.call("btt_referendum", unbacked)["status"] == "cancelled"
