"""RPC of the asset registry: btt_assets, btt_asset and btt_assetHoldings through an asset's life on the dev chain
(registered, verified by charlie, the genesis verifier, tokenised for exactly 1,000 BTT, offered, bought), the
owner filter, and bad parameters."""

from __future__ import annotations

from typing import Any

import pytest

from btt_chain.primitives.accounts import module_account
from btt_chain.primitives.address import encode_address
from btt_chain.primitives.keys import dev_keypair

from .harness import UNIT, RpcHarness

DOCS = b"\x11" * 32
REPORT = b"\x22" * 32


def addr(rpc: RpcHarness, name: str) -> str:
    return encode_address(dev_keypair(name).public, rpc.node.spec.ss58_prefix)


def hexid(name: str) -> str:
    return "0x" + dev_keypair(name).public.hex()




async def free(rpc: RpcHarness, who: str) -> int:
    return int((await rpc.call("btt_account", who))["free"])


@pytest.mark.asyncio
async def test_an_asset_through_the_rpc_from_registration_to_a_sale(rpc: RpcHarness) -> None:
    bob, charlie, eve = (dev_keypair(n) for n in ("bob", "charlie", "eve"))
    assert await rpc.call("btt_assets") == []
    assert await rpc.call("btt_asset", 0) is None

    await rpc.submit_in_block(bob, "assets.register", 0, DOCS, 50_000 * UNIT)
    (a,) = await rpc.call("btt_assets")
    assert a == {
        "id": 0, "owner": addr(rpc, "bob"), "class": "equipment", "metadataHash": "0x" + DOCS.hex(),
        "valuation": str(50_000 * UNIT), "status": "pending", "frozen": False, "reportHash": None, "verifier": None,
        "registeredBlock": a["registeredBlock"], "token": None, "holderCount": 0, "openOffers": 0, "escrowed": "0",
        "countsComplete": True,
    }
    one = await rpc.call("btt_asset", 0)
    assert one["holdings"] == [] and one["offers"] == [] and one["mintFee"] is None

    await rpc.submit_in_block(charlie, "assets.verify", 0, True, REPORT)
    one = await rpc.call("btt_asset", 0)
    assert (one["status"], one["reportHash"]) == ("verified", "0x" + REPORT.hex())
    assert one["verifier"] == addr(rpc, "charlie")
    assert one["mintFee"] == {"gross": str(1_000 * UNIT), "discount": "0", "fee": str(1_000 * UNIT),
                              "burned": str(30 * UNIT), "toTreasury": str(970 * UNIT)}

    treasury = "0x" + module_account("treasury").hex()
    before = await free(rpc, treasury)
    await rpc.submit_in_block(bob, "assets.tokenize", 0, "XRAY", 1_000_000, 0, 100)
    assert await free(rpc, treasury) == before + 970 * UNIT
    one = await rpc.call("btt_asset", 0)
    assert one["status"] == "tokenised" and one["mintFee"] is None
    assert one["token"] == {"symbol": "XRAY", "supply": "1000000", "decimals": 0, "minBalance": "100"}
    assert one["holdings"] == [{"account": addr(rpc, "bob"), "amount": "1000000"}]

    await rpc.submit_in_block(bob, "assets.offer", 0, 100_000, 5_000 * UNIT)
    one = await rpc.call("btt_asset", 0)
    (o,) = one["offers"]
    assert (o["id"], o["assetId"], o["seller"], o["amount"], o["price"]) == (
        0, 0, addr(rpc, "bob"), "100000", str(5_000 * UNIT))
    assert o["tradeFee"] == {"gross": str(37_500_000_000_000_000_000), "discount": "0",
                             "fee": str(37_500_000_000_000_000_000), "burned": str(1_125_000_000_000_000_000),
                             "toTreasury": str(36_375_000_000_000_000_000)}
    assert (one["openOffers"], one["escrowed"], one["holderCount"]) == (1, "100000", 1)
    (h,) = await rpc.call("btt_assetHoldings", hexid("bob"))
    assert h == {"assetId": 0, "symbol": "XRAY", "decimals": 0, "supply": "1000000", "held": "900000",
                 "escrowed": "100000", "total": "1000000", "frozen": False, "escrowComplete": True}

    await rpc.submit_in_block(eve, "assets.accept", 0)
    one = await rpc.call("btt_asset", 0)
    assert one["offers"] == [] and one["escrowed"] == "0"
    assert {(x["account"], x["amount"]) for x in one["holdings"]} == {
        (addr(rpc, "bob"), "900000"), (addr(rpc, "eve"), "100000")}
    (h,) = await rpc.call("btt_assetHoldings", addr(rpc, "eve"))
    assert (h["held"], h["escrowed"], h["total"]) == ("100000", "0", "100000")
    assert await rpc.call("btt_assetHoldings", hexid("ferdie")) == []
    (accepted,) = [e for e in await rpc.call("btt_events") if e["event"] == "OfferAccepted"]
    assert accepted["buyer"] == addr(rpc, "eve") and accepted["burned"] == str(1_125_000_000_000_000_000)

    # the owner filter
    await rpc.submit_in_block(eve, "assets.register", 3, DOCS, UNIT)
    assert [x["id"] for x in await rpc.call("btt_assets")] == [0, 1]
    assert [x["id"] for x in await rpc.call("btt_assets", hexid("eve"))] == [1]
    assert (await rpc.call("btt_assets", addr(rpc, "eve")))[0]["class"] == "medical_data"
    assert await rpc.call("btt_assets", hexid("ferdie")) == []


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "method, params, fragment",
    [
        ("btt_asset", [-1], "asset id"),
        ("btt_asset", ["0"], "asset id"),
        ("btt_asset", [True], "asset id"),
        ("btt_asset", [], "missing parameter 'id'"),
        ("btt_assets", ["nobody"], "account"),
        ("btt_assets", [None, None, 1, 0, 1], "at most 4 parameters"),
        ("btt_assets", [None, None, 101], "limit"),
        ("btt_assetHoldings", [], "missing parameter 'account'"),
        ("btt_assetHoldings", ["0x1234"], "32 bytes"),
    ],
)
async def test_bad_parameters_are_refused(rpc: RpcHarness, method: str, params: list[Any], fragment: str) -> None:
    await rpc.assert_raises_rpc_error(-32602, fragment, method, *params)
