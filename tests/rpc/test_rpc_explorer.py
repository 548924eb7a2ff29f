"""RPC: the explorer's read-only methods (btt_explorer*) and the explorer's files on the RPC port, with their
failing paths (bad parameters change nothing)."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from btt_chain.explorer import static_file
from btt_chain.node.service import Node, NodeConfig
from btt_chain.primitives.address import encode_address
from btt_chain.primitives.hashing import ZERO_HASH
from btt_chain.primitives.keys import Keypair, dev_keypair
from btt_chain.rpc.cors import CorsPolicy
from btt_chain.rpc.methods_explorer import burned_by_event
from btt_chain.rpc.server import RpcServer
from runtime.compute.model import model_hash
from runtime.compute.reference import reference_spec
from runtime.system import storage as system

from .harness import UNIT, RpcHarness, free_port


def _address(rpc: RpcHarness, pair: Keypair) -> str:
    return encode_address(pair.public, rpc.node.spec.ss58_prefix)


# serving --------------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_get_root_serves_the_explorer_and_websockets_still_work(rpc: RpcHarness) -> None:
    async with rpc.session.get(rpc.url + "/") as resp:
        assert resp.status == 200 and resp.content_type == "text/html"
        assert "btt-chain explorer" in await resp.text()
    for name, kind in (("app.js", "text/javascript"), ("style.css", "text/css")):
        async with rpc.session.get(f"{rpc.url}/explorer/{name}") as resp:
            assert resp.status == 200 and resp.content_type == kind
    async with rpc.session.get(rpc.url + "/explorer/nothing.js") as resp:
        assert resp.status == 404
    async with rpc.session.ws_connect(rpc.url + "/") as ws:
        await ws.send_json({"jsonrpc": "2.0", "id": 1, "method": "system_name"})
        assert (await ws.receive_json(timeout=10))["result"] == "btt-chain"


def test_static_file_refuses_names_outside_the_folder() -> None:
    assert static_file("index.html") is not None
    for name in ("", "../__init__.py", "..", ".hidden.js", "static/index.html", "a\\b.js", "__init__.py"):
        assert static_file(name) is None, name


@pytest.mark.asyncio
async def test_no_explorer_leaves_only_rpc_on_the_port() -> None:
    node = Node(NodeConfig(chain="dev", base_path=None, tmp=True, validator_key=dev_keypair("alice"),
                           rpc_port=free_port(), explorer=False))
    server = RpcServer(node, "127.0.0.1", node.config.rpc_port, explorer=False)
    try:
        await server.start()
        assert server.explorer_url is None
        async with aiohttp.ClientSession() as session:
            async with session.get(server.url + "/") as resp:
                assert resp.status == 405
            async with session.get(server.url + "/explorer/app.js") as resp:
                assert resp.status == 404
    finally:
        await server.stop()
        node.close()


# blocks and extrinsics ------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_blocks_block_extrinsic_and_search_agree_with_the_chain(rpc: RpcHarness) -> None:
    bob = dev_keypair("bob")
    status = await rpc.submit_in_block(rpc.alice, "balances.transfer_allow_death", bob.public, 7 * UNIT)
    rpc.author_block()
    head = rpc.node.chain.head.number
    page = await rpc.call("btt_explorerBlocks")
    assert page["head"] == head and [b["number"] for b in page["blocks"]] == list(range(head, -1, -1))
    assert page["next"] is None
    one = await rpc.call("btt_explorerBlocks", 1, 1)
    assert [b["number"] for b in one["blocks"]] == [1] and one["next"] == 0
    with_xt = next(b for b in page["blocks"] if b["number"] == status["blockNumber"])
    assert with_xt["extrinsics"] == 2 and with_xt["size"] == len(rpc.node.chain.db.get_block_bytes(
        bytes.fromhex(with_xt["hash"][2:])) or b"")

    block = await rpc.call("btt_explorerBlock", status["blockNumber"])
    assert block == await rpc.call("btt_explorerBlock", status["blockHash"])
    inherent, xt = block["extrinsicList"]
    assert inherent["call"]["name"] == "timestamp.set" and inherent["call"]["args"]["now"] == block["timestamp"]
    assert (inherent["signer"], inherent["nonce"], inherent["era"], inherent["fee"]) == (None, None, None, "0")
    assert any(e["event"] == "ExtrinsicSuccess" for e in inherent["events"])
    assert xt["call"]["name"] == "balances.transfer_allow_death" and xt["signer"] == _address(rpc, rpc.alice)
    assert xt["call"]["args"]["value"] == str(7 * UNIT)
    assert (xt["success"], xt["fee"]) == (True, status["fee"])
    assert any(e["event"] == "Transfer" and e["amount"] == str(7 * UNIT) for e in xt["events"])
    assert {e["phase"] for e in block["blockEvents"]} <= {"initialization", "finalization"}

    found = await rpc.call("btt_explorerExtrinsic", xt["hash"])
    assert found["status"] == "included" and {k: found[k] for k in xt} == xt
    assert await rpc.call("btt_explorerSearch", xt["hash"]) == {"kind": "extrinsic", "hash": xt["hash"]}
    assert await rpc.call("btt_explorerSearch", str(status["blockNumber"])) == {
        "kind": "block", "hash": status["blockHash"], "number": status["blockNumber"]}
    assert await rpc.call("btt_explorerSearch", status["blockHash"]) == {
        "kind": "block", "hash": status["blockHash"], "number": status["blockNumber"]}
    bob_address = _address(rpc, bob)
    assert await rpc.call("btt_explorerSearch", bob_address) == {"kind": "account", "address": bob_address}
    assert await rpc.call("btt_explorerSearch", "999999") is None
    assert await rpc.call("btt_explorerSearch", "not an address") is None
    assert await rpc.call("btt_explorerBlock", 999_999) is None
    assert await rpc.call("btt_explorerExtrinsic", "0x" + "11" * 32) is None

    # both sides of the transfer list it: the signer, and bob because its events name him
    for who, role in ((rpc.alice, "signer"), (bob, "named")):
        listed = await rpc.call("btt_explorerAccountExtrinsics", _address(rpc, who))
        assert [(x["hash"], x["role"]) for x in listed["extrinsics"]] == [(xt["hash"], role)]
        assert listed["scanned"] == [0, head]
    quiet = await rpc.call("btt_explorerAccountExtrinsics", "0x" + Keypair.generate().public.hex())
    assert quiet["extrinsics"] == []


@pytest.mark.asyncio
async def test_bad_parameters_are_refused(rpc: RpcHarness) -> None:
    bad: list[tuple[Any, ...]] = [
        ("limit", "btt_explorerBlocks", None, 0),
        ("limit", "btt_explorerBlocks", None, 101),
        ("number", "btt_explorerBlocks", -1),
        ("number", "btt_explorerBlocks", "7"),
        ("block", "btt_explorerBlock", True),
        ("block hash", "btt_explorerBlock", "0x12"),
        ("number", "btt_explorerBlock", -3),
        ("hash", "btt_explorerExtrinsic", "nothex"),
        ("account", "btt_explorerAccountExtrinsics", "nobody"),
        ("blocks", "btt_explorerAccountExtrinsics", "0x" + "00" * 32, 2001),
        ("limit", "btt_explorerAccountExtrinsics", "0x" + "00" * 32, 10, 0),
        ("query", "btt_explorerSearch", ""),
        ("query", "btt_explorerSearch", 5),
        ("status", "btt_explorerJobs", "running"),
        ("before", "btt_explorerJobs", None, -1),
        ("limit", "btt_explorerJobs", None, None, 201),
        ("blocks", "btt_explorerBurns", 0),
        ("buckets", "btt_explorerBurns", 10, 101),
        ("modules", "btt_explorerEvents", []),
        ("modules", "btt_explorerEvents", ["nope"]),
        ("modules", "btt_explorerEvents", "compute"),
        ("limit", "btt_explorerEvents", ["compute"], 10, 501),
        ("account", "btt_explorerLocks", 12),
        ("block hash", "btt_explorerSupply", "0x00"),
    ]
    for substring, name, *params in bad:
        await rpc.assert_raises_rpc_error(-32602, substring, name, *params)


# economy --------------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_locks_name_their_source_and_frozen_is_the_largest(rpc: RpcHarness) -> None:
    dave = "0x" + dev_keypair("dave").public.hex()
    report = await rpc.call("btt_explorerLocks", dave)
    account = await rpc.call("btt_account", dave)
    assert [lock["source"] for lock in report["locks"]] == ["vesting"]
    assert report["frozen"] == account["frozen"] == max(lock["amount"] for lock in report["locks"])
    assert (await rpc.call("btt_explorerLocks", "0x" + Keypair.generate().public.hex()))["locks"] == []


@pytest.mark.asyncio
async def test_supply_rows_split_each_allocation_into_released_and_locked(rpc: RpcHarness) -> None:
    supply = await rpc.call("btt_explorerSupply")
    state = rpc.node.chain.state()
    assert supply["totalIssuance"] == str(system.total_issuance.get(state))
    assert supply["totalBurned"] == str(system.total_burned.get(state))
    rows = supply["allocations"]
    assert len(rows) == len(rpc.node.spec.allocations)
    for row in rows:
        assert int(row["released"]) + int(row["locked"]) == int(row["amount"]), row
        if row["kind"] == "liquid":
            assert row["locked"] == "0"
    dave_row = next(r for r in rows if any(h["label"] == "dave" for h in r["holders"]))
    assert dave_row["kind"] == "linear" and dave_row["released"] == "0"
    assert sum(int(r["amount"]) for r in rows) == int(supply["genesisSupply"])
    assert [y["year"] for y in supply["years"]] == list(range(1, len(supply["years"]) + 1))


@pytest.mark.asyncio
async def test_burns_and_events_come_from_the_stored_events(rpc: RpcHarness) -> None:
    await rpc.submit_in_block(rpc.alice, "balances.burn", 3 * UNIT, True)
    burns = await rpc.call("btt_explorerBurns", 50, 5)
    assert burns["totals"] == {"balances": str(3 * UNIT)}
    assert sum(int(b["bySource"].get("balances", "0")) for b in burns["series"]) == 3 * UNIT
    assert burns["series"][0]["from"] == 0 and burns["series"][-1]["to"] == rpc.node.chain.head.number
    events = await rpc.call("btt_explorerEvents", ["balances"], 50, 1)
    assert events["counts"]["balances.Burned"] == 1 and len(events["events"]) == 1
    assert burned_by_event({"module": "balances", "event": "Burned", "amount": "5"}) == 5
    assert burned_by_event({"module": "payments", "event": "Paid", "burned": "2", "amount": "9"}) == 2
    assert burned_by_event({"module": "balances", "event": "Transfer", "amount": "9"}) == 0


@pytest.mark.asyncio
async def test_jobs_page_newest_first_with_a_cursor(rpc: RpcHarness) -> None:
    empty = await rpc.call("btt_explorerJobs")
    assert empty == {"total": 0, "jobs": [], "next": None}
    mh = model_hash(reference_spec("breast-cancer-v1"))
    bob = dev_keypair("bob")
    for i in range(5):
        xt = rpc.sign(bob, "compute.post_job", mh, ZERO_HASH, bytes([i + 1]) * 32, 4, UNIT, 1, 120_000,
                      nonce=rpc.node.next_account_index(bob.public))
        await rpc.call("author_submitExtrinsic", "0x" + xt.encode().hex())
    rpc.author_block()
    pages, before = [], None
    while True:
        page = await rpc.call("btt_explorerJobs", None, before, 2)
        assert page["total"] == 5
        pages.append([j["id"] for j in page["jobs"]])
        before = page["next"]
        if before is None:
            break
    assert pages == [[4, 3], [2, 1], [0]]
    assert [j["id"] for j in (await rpc.call("btt_explorerJobs", "open", 3, 10))["jobs"]] == [2, 1, 0]
    assert (await rpc.call("btt_explorerJobs", "done"))["jobs"] == []


@pytest.mark.asyncio
async def test_the_explorer_page_may_call_its_own_node_whatever_rpc_cors_says() -> None:
    node = Node(NodeConfig(chain="dev", base_path=None, tmp=True, validator_key=dev_keypair("alice"),
                           rpc_port=free_port()))
    body = {"jsonrpc": "2.0", "id": 1, "method": "system_name"}
    for explorer, own_status in ((True, 200), (False, 403)):
        server = RpcServer(node, "127.0.0.1", free_port(), cors=CorsPolicy.parse("http://only.example"),
                           explorer=explorer)
        try:
            await server.start()
            async with aiohttp.ClientSession() as session:
                # the page this server shipped (on an --rpc-external address, say) has the RPC's own origin
                async with session.post(server.url, json=body, headers={"Origin": server.url}) as resp:
                    assert resp.status == own_status
                async with session.post(server.url, json=body, headers={"Origin": "http://evil.example"}) as resp:
                    assert resp.status == 403
                # DNS rebinding: an attacker's name re-pointed at this node; its page's origin equals the Host it
                # sends, but a name is not this node's own address: refused unless --rpc-cors names it
                rebound = f"http://evil.example:{server.url.rsplit(':', 1)[1]}"
                async with session.post(server.url, json=body,
                                        headers={"Origin": rebound, "Host": rebound[len("http://"):]}) as resp:
                    assert resp.status == 403
        finally:
            await server.stop()
    node.close()


@pytest.mark.asyncio
async def test_events_subscription_sends_each_new_heads_events(rpc: RpcHarness) -> None:
    bob = dev_keypair("bob")
    async with rpc.session.ws_connect(rpc.url + "/") as ws:
        await ws.send_json({"jsonrpc": "2.0", "id": 1, "method": "btt_subscribeEvents", "params": []})
        sub_id = (await ws.receive_json(timeout=10))["result"]
        first = await ws.receive_json(timeout=10)
        assert first["method"] == "btt_newEvents" and first["params"]["subscription"] == sub_id
        assert first["params"]["result"]["number"] == rpc.node.chain.head.number
        status = await rpc.submit_in_block(rpc.alice, "balances.transfer_allow_death", bob.public, 3 * UNIT)
        note = (await ws.receive_json(timeout=10))["params"]["result"]
        assert (note["blockHash"], note["number"]) == (status["blockHash"], status["blockNumber"])
        assert note["events"] == await rpc.call("btt_events", status["blockHash"])
        assert any(e["event"] == "Transfer" and e["amount"] == str(3 * UNIT) for e in note["events"])
        await ws.send_json({"jsonrpc": "2.0", "id": 2, "method": "btt_unsubscribeEvents", "params": [sub_id]})
        assert (await ws.receive_json(timeout=10))["result"] is True
    await rpc.assert_raises_rpc_error(-32601, "", "btt_subscribeEvents")
