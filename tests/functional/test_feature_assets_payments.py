"""feature_assets_payments: issue 7's "done when" on a real dev node, as a new user would do it from the command
line, with every balance and the total issuance checked to the base unit.

The clinic ferdie registers a panoramic X-ray machine valued at 50,000 BTT; charlie (the dev chain's genesis
verifier) approves it; ferdie tokenises it into 1,000,000 fractions paying exactly 1,000 BTT (30 BTT burned,
970 to the treasury); ferdie sells 100,000 fractions to bob through an offer (5,000 BTT, 0.75% fee paid by
bob, 3% of it burned); bob pays ferdie's invoice of 200 BTT (0.6% fee, 0.75% of it burned); eve (the dev
health oracle) rewards charlie for a preventive visit and charlie redeems the points from Community
Incentives: the request is paid at the next epoch boundary, which `incentives redeem --wait-payout` waits for (the
dev preset's epochs are 20 one-second slots; here 5, so that wait is seconds, not up to 20: nothing else here reads
the epoch's length).
"""

from __future__ import annotations

from typing import Any

import pytest

from btt_chain.primitives.accounts import module_account
from btt_chain.primitives.address import encode_address
from tests.functional.framework import Harness, NodeProcess
from tests.support.cli_runner import succeed_json as cli
from tests.support.dev_accounts import dev_address as address

PREFIX = 42
UNIT = 10**18
TREASURY = encode_address(module_account("treasury"), PREFIX)
POOL = encode_address(module_account("community_incentives"), PREFIX)


def free(node: NodeProcess, who: str) -> int:
    return int(node.call("btt_account", who if who.startswith("5") else address(who))["free"])


def issuance(node: NodeProcess) -> int:
    return int(node.call("btt_issuance")["totalIssuance"])


def test_an_x_ray_machine_is_tokenised_and_sold_an_invoice_paid_and_a_visit_rewarded(
    harness: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    node = harness.add_node(chain=str(harness.write_dev_spec(epoch_slots=5)), validator_key="alice",
                            extra_args=["--no-p2p"])
    node.start()
    rpc = ("--rpc", node.rpc.url)
    names = ("ferdie", "bob", "charlie", "eve")
    before = {n: free(node, n) for n in names}
    treasury0, pool0, issued0 = free(node, TREASURY), free(node, POOL), issuance(node)
    fees = dict.fromkeys(names, 0)

    def run(who: str, *argv: str) -> dict[str, Any]:
        out = cli(capsys, *argv, "--from", who, *rpc)
        assert out["status"] == "included" or "blockNumber" in out, out
        fees[who] += int(out["fee"])
        return out

    harness.log("ferdie registers a panoramic X-ray machine valued at 50,000 BTT; charlie approves it")
    asset_id = run("ferdie", "asset", "register", "--class", "equipment", "--metadata", "Panoramic X-ray, room 2",
                   "--valuation", "50000")["assetId"]
    run("charlie", "asset", "verify", str(asset_id), "approve", "--report", "inspected on site")

    harness.log("ferdie tokenises it into 1,000,000 fractions: exactly 1,000 BTT, 30 of it burned")
    minted = run("ferdie", "asset", "tokenize", str(asset_id), "--symbol", "PANO", "--supply", "1000000")
    assert (int(minted["assetFee"]), int(minted["burned"])) == (1_000 * UNIT, 30 * UNIT)
    assert issuance(node) == issued0 - 30 * UNIT

    harness.log("ferdie offers 100,000 fractions for 5,000 BTT; bob accepts and pays the 0.75% fee")
    offer_id = run("ferdie", "asset", "offer", str(asset_id), "--amount", "100000", "--price", "5000")["offerId"]
    bought = run("bob", "asset", "accept", str(offer_id))
    trade_fee, trade_burn = 5_000 * UNIT * 75 // 10_000, 5_000 * UNIT * 75 // 10_000 * 300 // 10_000
    assert (int(bought["assetFee"]), int(bought["burned"])) == (trade_fee, trade_burn) == (
        37_500_000_000_000_000_000, 1_125_000_000_000_000_000)
    asset = node.call("btt_asset", asset_id)
    holdings = {h["account"]: int(h["amount"]) for h in asset["holdings"]}
    assert holdings == {address("ferdie"): 900_000, address("bob"): 100_000}

    harness.log("bob pays ferdie's invoice of 200 BTT: 1.2 BTT fee, 0.009 BTT of it burned")
    invoice_id = run("ferdie", "invoice", "create", "--payee", "ferdie", "--amount", "200", "--due", "3600",
                     "--memo", "cleaning and X-ray")["invoiceId"]
    paid = run("bob", "invoice", "pay", str(invoice_id))
    pay_fee, pay_burn = 200 * UNIT * 60 // 10_000, 200 * UNIT * 60 // 10_000 * 75 // 10_000
    assert (int(paid["paymentFee"]), int(paid["burned"])) == (pay_fee, pay_burn) == (
        1_200_000_000_000_000_000, 9_000_000_000_000_000)
    invoices = node.call("btt_invoices", address("ferdie"))
    assert [(i["id"], i["status"]) for i in invoices] == [(invoice_id, "settled")]

    harness.log("eve attests charlie's preventive visit; charlie redeems the 100 points: 1 BTT at the epoch's end")
    attested = run("eve", "incentives", "attest", "--patient", "charlie", "--activity", "preventive_visit",
                   "--evidence", "visit 2026-11-22 charlie")
    assert attested["points"] == "100"
    redeemed = run("charlie", "incentives", "redeem", "--points", "100", "--wait-payout", "--timeout", "120")
    reward = 100 * UNIT // 100
    assert (redeemed["requested"], int(redeemed["amount"])) == ("100", reward)  # asked now, paid at the boundary
    assert redeemed["payout"] == {"epoch": redeemed["epoch"], "requested": "100", "paid": "100", "returned": "0",
                                  "amount": str(reward)}

    harness.log("every balance and the total issuance, to the base unit")
    assert free(node, "ferdie") == before["ferdie"] - fees["ferdie"] - 1_000 * UNIT + 5_000 * UNIT + 200 * UNIT
    assert free(node, "bob") == before["bob"] - fees["bob"] - 5_000 * UNIT - trade_fee - 200 * UNIT - pay_fee
    assert free(node, "charlie") == before["charlie"] - fees["charlie"] + reward
    assert free(node, "eve") == before["eve"] - fees["eve"]
    assert free(node, TREASURY) == treasury0 + (1_000 - 30) * UNIT + trade_fee - trade_burn + pay_fee - pay_burn
    assert free(node, POOL) == pool0 - reward
    assert issuance(node) == issued0 - 30 * UNIT - trade_burn - pay_burn
    points = node.call("btt_points", address("charlie"))
    assert points["points"] == "0" and points["requested"] == "0"
    assert points["lastPayout"]["amount"] == str(reward)
