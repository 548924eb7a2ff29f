"""Every RPC method over HTTP against an in-process dev node (only its RpcServer runs; blocks are authored by
the test), the WebSocket head subscriptions, and the failing paths: each error code, malformed and invalid
extrinsics, oversize bodies and mixed batches. After every failing call the pool and the head are unchanged."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from typing import Any

import aiohttp
import pytest

from btt_chain.client.headers import header_hash
from btt_chain.primitives.address import encode_address
from btt_chain.primitives.hashing import blake2b_256
from btt_chain.primitives.keys import dev_keypair
from btt_chain.rpc.errors import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    INVALID_TRANSACTION,
    METHOD_NOT_FOUND,
    PARSE_ERROR,
)
from btt_chain.rpc.server import MAX_BODY
from runtime.modules import RUNTIME
from runtime.system import storage as system
from runtime.system.types import AccountInfo

from .harness import UNIT, RpcHarness

log = logging.getLogger("test.rpc")

BOB = dev_keypair("bob")
PREFIX = 42


def addr(public: bytes) -> str:
    return encode_address(public, PREFIX)


def hx(data: bytes) -> str:
    return "0x" + data.hex()


async def submit_transfer(rpc: RpcHarness, amount: int, **kw: Any) -> tuple[str, bytes]:
    encoded = rpc.sign(rpc.alice, "balances.transfer_allow_death", BOB.public, amount, **kw).encode()
    return await rpc.call("author_submitExtrinsic", hx(encoded)), encoded


# system, state, chain at genesis ------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_system_methods(rpc: RpcHarness) -> None:
    log.info("system_* describe the node and its chain")
    assert await rpc.call("system_health") == {"peers": 0, "isSyncing": False, "shouldHavePeers": False}
    assert await rpc.call("system_chain") == rpc.node.spec.name == "BTT Development"
    assert await rpc.call("system_name") == "btt-chain"
    version = await rpc.call("system_version")
    assert isinstance(version, str) and version
    assert await rpc.call("system_chainType") == "Development"
    assert await rpc.call("system_properties") == {"ss58Format": 42, "tokenDecimals": 18, "tokenSymbol": "BTT"}
    assert await rpc.call("system_peers") == []
    assert await rpc.call("system_accountNextIndex", addr(rpc.alice.public)) == 0
    assert await rpc.call("system_accountNextIndex", hx(rpc.alice.public)) == 0


@pytest.mark.asyncio
async def test_rpc_methods_lists_every_method(rpc: RpcHarness) -> None:
    methods = (await rpc.call("btt_rpcMethods"))["methods"]
    substrate = (await rpc.call("rpc_methods"))["methods"]
    assert not [m for m in substrate if m.startswith("btt_")] and set(substrate) < set(methods)
    assert "state_subscribeRuntimeVersion" in substrate and "chain_subscribeNewHead" in substrate
    for name in (
        "author_submitExtrinsic", "author_pendingExtrinsics", "chain_getBlock", "chain_getHeader", "chain_getBlockHash",
        "chain_getFinalizedHead", "chain_subscribeNewHeads", "chain_subscribeAllHeads", "chain_unsubscribeNewHeads",
        "chain_subscribeFinalizedHeads", "chain_unsubscribeFinalizedHeads", "state_getStorage", "state_getMetadata",
        "state_getRuntimeVersion", "system_health", "system_chain", "system_name", "system_version",
        "system_properties", "system_accountNextIndex", "system_chainType", "payment_queryInfo", "btt_account",
        "btt_events", "btt_extrinsicStatus", "btt_issuance", "btt_validators", "rpc_methods",
    ):
        assert name in methods, name
    assert methods == sorted(methods)


@pytest.mark.asyncio
async def test_state_and_chain_at_genesis(rpc: RpcHarness) -> None:
    genesis = hx(rpc.node.chain.genesis_hash)
    assert await rpc.call("chain_getBlockHash", 0) == genesis
    assert await rpc.call("chain_getBlockHash") == genesis
    assert await rpc.call("chain_getBlockHash", "0x0") == genesis
    assert await rpc.call("chain_getBlockHash", 1) is None
    assert await rpc.call("chain_getFinalizedHead") == genesis
    header = await rpc.call("chain_getHeader")
    assert header["number"] == "0x0" and hx(header_hash(header)) == genesis and header["parentHash"] == hx(bytes(32))
    assert set(header) == {"parentHash", "number", "stateRoot", "extrinsicsRoot", "digest"}  # Substrate's, no more
    version = await rpc.call("state_getRuntimeVersion")
    assert (version["specName"], version["specVersion"]) == ("btt", RUNTIME.spec_version)
    assert version["transactionVersion"] == RUNTIME.transaction_version
    assert ["0xdf6acb689907609b", 4] in version["apis"]  # Core, with Substrate's id (blake2b-64 of the name)
    metadata = await rpc.call("state_getMetadata")
    assert metadata.startswith("0x6d6574610e")  # "meta", V14
    table = await rpc.call("btt_callTable")
    assert table == json.loads(json.dumps(RUNTIME.metadata()))
    assert "balances" in [m["name"] for m in table["modules"]]
    assert await rpc.call("btt_events") == []
    assert await rpc.call("author_pendingExtrinsics") == []


@pytest.mark.asyncio
async def test_account_issuance_validators(rpc: RpcHarness) -> None:
    state = rpc.node.chain.state()
    info = system.account.get(state, rpc.alice.public)
    account = await rpc.call("btt_account", addr(rpc.alice.public))
    assert account == {
        "address": addr(rpc.alice.public),
        "nonce": info.nonce,
        "free": str(info.free),
        "reserved": str(info.reserved),
        "frozen": str(info.frozen),
        "spendable": str(info.spendable),
    }
    assert int(account["reserved"]) == 10_000 * UNIT  # the validator bond
    nobody = dev_keypair("nobody").public
    assert (await rpc.call("btt_account", hx(nobody)))["free"] == "0"

    issuance = await rpc.call("btt_issuance")
    assert set(issuance) == {"totalIssuance", "totalBurned", "genesisSupply"}
    assert all(isinstance(v, str) and v.isdigit() for v in issuance.values())
    assert int(issuance["genesisSupply"]) == rpc.node.spec.token.total_supply
    assert int(issuance["totalIssuance"]) == system.total_issuance.get(state)

    assert await rpc.call("btt_validators") == [
        {"account": addr(rpc.alice.public), "sessionKey": hx(rpc.alice.public), "bond": str(10_000 * UNIT),
         "payee": addr(dev_keypair("alice//stash").public)}
    ]


@pytest.mark.asyncio
async def test_state_get_storage(rpc: RpcHarness) -> None:
    key = system.account.key(BOB.public)
    value = await rpc.call("state_getStorage", hx(key))
    assert value == hx(system.account.get(rpc.node.chain.state(), BOB.public).encode())
    assert AccountInfo.decode(bytes.fromhex(value[2:])).free > 0
    assert await rpc.call("state_getStorage", hx(key), hx(rpc.node.chain.head_hash)) == value
    assert await rpc.call("state_getStorage", hx(b"no such key")) is None


@pytest.mark.asyncio
async def test_state_get_read_proof_verifies_against_the_state_root(rpc: RpcHarness) -> None:
    import msgpack

    from storage.smt import SmtProof, verify_proof

    rpc.author_block()
    present, absent = system.account.key(BOB.public), b"no such key"
    result = await rpc.call("state_getReadProof", [hx(present), hx(absent)])
    assert result["at"] == hx(rpc.node.chain.head_hash)
    root = bytes.fromhex(result["stateRoot"][2:])
    assert root == rpc.node.chain.head.state_root
    for entry, key in zip(result["proof"], (present, absent), strict=True):
        value = None if entry["value"] is None else bytes.fromhex(entry["value"][2:])
        proof = SmtProof.from_wire(msgpack.unpackb(bytes.fromhex(entry["proof"][2:])))
        assert verify_proof(root, key, value, proof)
        assert not verify_proof(root, key, b"forged", proof)
    assert result["proof"][1]["value"] is None
    for bad, reason in (([], "non-empty"), ("0x00", "list"), ([hx(present)] * 65, "at most 64"), (["zz"], "hex")):
        await rpc.assert_raises_rpc_error(-32602, reason, "state_getReadProof", bad)


# a transfer end to end ---------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_transfer_lifecycle(rpc: RpcHarness) -> None:
    node = rpc.node
    amount = 10 * UNIT
    alice_before = system.account.get(node.chain.state(), rpc.alice.public)
    bob_before = int((await rpc.call("btt_account", addr(BOB.public)))["free"])

    xt = rpc.sign(rpc.alice, "balances.transfer_allow_death", BOB.public, amount)
    encoded = xt.encode()
    info = await rpc.call("payment_queryInfo", hx(encoded))
    assert info["class"] == "normal" and info["weight"] == {"refTime": 100, "proofSize": 0}
    assert isinstance(info["partialFee"], str) and int(info["partialFee"]) > 0

    log.info("submit: pending in the pool")
    xt_hash = await rpc.call("author_submitExtrinsic", hx(encoded))
    assert xt_hash == hx(blake2b_256(encoded))
    assert await rpc.call("author_pendingExtrinsics") == [hx(encoded)]
    assert await rpc.call("btt_extrinsicStatus", xt_hash) == {"status": "pending"}
    assert await rpc.call("system_accountNextIndex", addr(rpc.alice.public)) == 1
    assert await rpc.call("btt_poolStatus") == {"ready": 1, "future": 0, "bytes": len(encoded)}

    log.info("author a block: included")
    imported = rpc.author_block()
    block_hash = hx(imported.hash)
    assert await rpc.call("author_pendingExtrinsics") == []
    status = await rpc.call("btt_extrinsicStatus", xt_hash)
    assert status == {
        "status": "included", "blockHash": block_hash, "blockNumber": 1, "index": 1, "success": True,
        "fee": info["partialFee"], "error": None,
    }
    assert await rpc.call("chain_getBlockHash", 1) == block_hash
    assert await rpc.call("chain_getBlockHash", "0x1") == block_hash
    assert await rpc.call("chain_getBlockHash", [0, 1, 2]) == [hx(node.chain.genesis_hash), block_hash, None]
    assert await rpc.call("chain_getBlockHash") == block_hash

    header = await rpc.call("chain_getHeader", block_hash)
    h = imported.block.header
    assert header == {
        "parentHash": hx(node.chain.genesis_hash),
        "number": "0x1",
        "stateRoot": hx(h.state_root),
        "extrinsicsRoot": hx(h.extrinsics_root),
        "digest": {"logs": [hx(item) for item in h.digest_items()]},
    }
    assert hx(header_hash(header)) == block_hash  # what a Substrate client computes
    assert await rpc.call("btt_header", block_hash) == {
        "parentHash": hx(node.chain.genesis_hash),
        "number": "0x1",
        "slot": hex(h.slot),
        "timestamp": hex(h.timestamp_ms),
        "stateRoot": hx(h.state_root),
        "extrinsicsRoot": hx(h.extrinsics_root),
        "receiptsRoot": hx(h.receipts_root),
        "author": addr(rpc.alice.public),
        "digest": {"reveal": hx(h.digest.reveal)},
        "signature": hx(h.signature),
        "hash": block_hash,
    }
    assert await rpc.call("chain_getHeader") == header
    block = await rpc.call("chain_getBlock", block_hash)
    inherent = hx(imported.block.extrinsics[0].encode())  # extrinsic 0: the author's timestamp.set
    assert block == {"block": {"header": header, "extrinsics": [inherent, hx(encoded)]}, "justifications": None}
    assert await rpc.call("chain_getBlock") == block

    log.info("balances moved; the fee is what payment_queryInfo said")
    fee = int(info["partialFee"])
    bob_after = await rpc.call("btt_account", addr(BOB.public))
    assert int(bob_after["free"]) == bob_before + amount
    events = await rpc.call("btt_events", block_hash)
    assert {"phase": 1, "module": "balances", "event": "Transfer", "source": addr(rpc.alice.public),
            "dest": addr(BOB.public), "amount": str(amount)} in events
    assert {"phase": 1, "module": "transaction_payment", "event": "TransactionFeePaid", "who": addr(rpc.alice.public),
            "actual_fee": str(fee), "tip": "0"} in events
    assert {"phase": 1, "module": "system", "event": "ExtrinsicSuccess",
            "dispatch_info": {"ref_time": 100, "proof_size": 0, "dispatch_class": 0, "pays_fee": 0}} in events
    [fees] = [e for e in events if e["event"] == "FeesDistributed"]
    # the dev validator alice sends her author rewards to alice//stash
    assert fees["phase"] == "finalization" and fees["author"] == addr(dev_keypair("alice//stash").public)
    assert int(fees["to_author"]) + int(fees["to_stakers"]) + int(fees["to_development"]) == fee
    assert await rpc.call("btt_events") == events
    alice_after = await rpc.call("btt_account", addr(rpc.alice.public))
    assert int(alice_after["free"]) == alice_before.free - amount - fee
    assert alice_after["nonce"] == 1
    assert await rpc.call("system_accountNextIndex", addr(rpc.alice.public)) == 1


@pytest.mark.asyncio
async def test_failed_call_is_included_with_its_error(rpc: RpcHarness) -> None:
    too_much = 10**9 * UNIT  # more than alice has: the pool refuses it, so it is never charged
    encoded = rpc.sign(rpc.alice, "balances.transfer_allow_death", BOB.public, too_much).encode()
    await rpc.assert_raises_rpc_error(INVALID_TRANSACTION, "cannot pay the fees, tips and amounts",
                                      "author_submitExtrinsic", hx(encoded))
    to_self = rpc.sign(rpc.alice, "balances.transfer_allow_death", rpc.alice.public, UNIT).encode()
    xt_hash = await rpc.call("author_submitExtrinsic", hx(to_self))
    imported = rpc.author_block()
    status = await rpc.call("btt_extrinsicStatus", xt_hash)
    assert status["status"] == "included" and status["success"] is False
    assert "SelfTransfer" in status["error"]
    assert int(status["fee"]) > 0
    events = await rpc.call("btt_events", hx(imported.hash))
    [failed] = [e for e in events if e["event"] == "ExtrinsicFailed"]
    assert failed["phase"] == 1 and failed["error"] == "balances.SelfTransfer"  # after the timestamp inherent
    assert failed["dispatch_error"]["variant"] == 3  # DispatchError::Module
    assert await rpc.call("btt_extrinsicStatus", hx(bytes(32))) is None


@pytest.mark.asyncio
async def test_future_nonce_is_pending_then_included(rpc: RpcHarness) -> None:
    first = rpc.sign(rpc.alice, "balances.transfer_allow_death", BOB.public, UNIT, nonce=0)
    second = rpc.sign(rpc.alice, "balances.transfer_allow_death", BOB.public, UNIT, nonce=1)
    h2 = await rpc.call("author_submitExtrinsic", hx(second.encode()))
    assert await rpc.call("system_accountNextIndex", addr(rpc.alice.public)) == 0
    h1 = await rpc.call("author_submitExtrinsic", hx(first.encode()))
    assert await rpc.call("system_accountNextIndex", addr(rpc.alice.public)) == 2
    rpc.author_block()
    assert (await rpc.call("btt_extrinsicStatus", h1))["index"] == 1  # extrinsic 0 is the timestamp inherent
    assert (await rpc.call("btt_extrinsicStatus", h2))["index"] == 2


# WebSocket ---------------------------------------------------------------------------------------------


async def ws_recv(ws: aiohttp.ClientWebSocketResponse, timeout: float = 5.0) -> Any:
    msg = await ws.receive(timeout=timeout)
    assert msg.type == aiohttp.WSMsgType.TEXT, msg
    return json.loads(msg.data)


@pytest.mark.asyncio
async def test_ws_subscribe_new_heads(rpc: RpcHarness) -> None:
    node = rpc.node
    async with rpc.session.ws_connect(rpc.url) as ws:
        await ws.send_json({"jsonrpc": "2.0", "id": 1, "method": "system_name"})
        assert await ws_recv(ws) == {"jsonrpc": "2.0", "id": 1, "result": "btt-chain"}

        log.info("subscribe: the response, then the current head")
        await ws.send_json({"jsonrpc": "2.0", "id": 2, "method": "chain_subscribeNewHeads", "params": []})
        reply = await ws_recv(ws)
        assert reply["id"] == 2
        sub = reply["result"]
        assert isinstance(sub, str) and sub
        first = await ws_recv(ws)
        assert first["method"] == "chain_newHead" and first["params"]["subscription"] == sub
        assert first["params"]["result"]["number"] == "0x0"

        log.info("author two blocks: two notifications, in order")
        b1, b2 = rpc.author_block(), rpc.author_block()
        for imported in (b1, b2):
            note = await ws_recv(ws)
            assert note["jsonrpc"] == "2.0" and note["method"] == "chain_newHead"
            assert note["params"]["subscription"] == sub
            result = note["params"]["result"]
            assert hx(header_hash(result)) == hx(imported.hash)
            assert result["number"] == hex(imported.block.header.number)
            assert result == await rpc.call("chain_getHeader", hx(imported.hash))

        log.info("unsubscribe: true once, then false; no more notifications")
        await ws.send_json({"jsonrpc": "2.0", "id": 3, "method": "chain_unsubscribeNewHeads", "params": [sub]})
        assert await ws_recv(ws) == {"jsonrpc": "2.0", "id": 3, "result": True}
        await ws.send_json({"jsonrpc": "2.0", "id": 4, "method": "chain_unsubscribeNewHeads", "params": [sub]})
        assert await ws_recv(ws) == {"jsonrpc": "2.0", "id": 4, "result": False}
        assert node._head_listeners == []
        rpc.author_block()
        with pytest.raises(TimeoutError):
            await ws.receive(timeout=0.3)


@pytest.mark.asyncio
async def test_ws_finalized_heads_batch_and_cleanup(rpc: RpcHarness) -> None:
    node = rpc.node
    async with rpc.session.ws_connect(rpc.url) as ws:
        await ws.send_json([
            {"jsonrpc": "2.0", "id": "a", "method": "chain_subscribeFinalizedHeads"},
            {"jsonrpc": "2.0", "id": "b", "method": "chain_subscribeAllHeads"},
            {"jsonrpc": "2.0", "id": "c", "method": "no_such_method"},
        ])
        replies = {r["id"]: r for r in await ws_recv(ws)}
        assert replies["c"]["error"]["code"] == METHOD_NOT_FOUND
        fin_sub, all_sub = replies["a"]["result"], replies["b"]["result"]
        initial = [await ws_recv(ws), await ws_recv(ws)]
        by_sub = {n["params"]["subscription"]: n for n in initial}
        assert by_sub[fin_sub]["method"] == "chain_finalizedHead"
        assert hx(header_hash(by_sub[fin_sub]["params"]["result"])) == hx(node.chain.genesis_hash)
        assert by_sub[all_sub]["method"] == "chain_newHead"
        assert len(node._head_listeners) == 1
        imported = rpc.author_block()
        note = await ws_recv(ws)
        # no finality gadget yet: the finalized head stays at genesis, so only the new head is announced
        assert note["params"]["subscription"] == all_sub and header_hash(note["params"]["result"]) == imported.hash
        await ws.send_json(
            {"jsonrpc": "2.0", "id": 9, "method": "chain_unsubscribeFinalizedHeads", "params": [all_sub]}
        )
        assert (await ws_recv(ws))["result"] is False  # wrong kind of subscription
    for _ in range(50):
        if not node._head_listeners:
            break
        await asyncio.sleep(0.02)
    assert node._head_listeners == [], "closing the socket must remove its head listener"
    rpc.author_block()  # and importing after the socket closed is fine


@pytest.mark.asyncio
async def test_ws_subscriber_over_its_outbox_bytes_is_closed_with_the_reason(rpc: RpcHarness) -> None:
    """A subscriber whose unsent notifications pass its outbox's byte bound is dropped, told why; the node and
    other clients go on."""
    rpc.server.outbox_bytes = 300  # a header notification is larger: the first one overflows
    async with rpc.session.ws_connect(rpc.url) as ws:
        await ws.send_json({"jsonrpc": "2.0", "id": 1, "method": "chain_subscribeNewHeads"})
        assert "result" in await ws_recv(ws)
        msg = await ws.receive(timeout=10)
        assert msg.type == aiohttp.WSMsgType.CLOSE
        assert msg.data == aiohttp.WSCloseCode.POLICY_VIOLATION
        assert "too slow" in msg.extra and "limit 300" in msg.extra
    rpc.server.outbox_bytes = 16 * 1024 * 1024
    rpc.author_block()
    async with rpc.session.ws_connect(rpc.url) as ws:
        await ws.send_json({"jsonrpc": "2.0", "id": 2, "method": "system_name"})
        assert (await ws_recv(ws))["result"] == "btt-chain"


@pytest.mark.asyncio
async def test_ws_bad_messages_keep_the_connection(rpc: RpcHarness) -> None:
    async with rpc.session.ws_connect(rpc.url) as ws:
        await ws.send_str("{not json")
        assert (await ws_recv(ws))["error"]["code"] == PARSE_ERROR
        await ws.send_json({"jsonrpc": "2.0", "method": "system_name"})  # a notification: no answer
        await ws.send_json({"jsonrpc": "2.0", "id": 1, "method": "system_chain"})
        assert (await ws_recv(ws))["id"] == 1


@pytest.mark.asyncio
async def test_http_get_without_upgrade(rpc: RpcHarness) -> None:
    async with rpc.session.get(rpc.url) as resp:  # the explorer's page (405 with --no-explorer: test_rpc_explorer)
        assert resp.status == 200 and resp.content_type == "text/html"


# failing paths -----------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_envelope_errors(rpc: RpcHarness) -> None:
    cases: list[tuple[bytes | str, int]] = [
        (b"{not json", PARSE_ERROR),
        (b"", PARSE_ERROR),
        (b"\xff\xfe\x00garbage", PARSE_ERROR),
        (b'{"jsonrpc":"2.0","id":1,"method":"system_name","params":[NaN]}', PARSE_ERROR),
        (b"[" * 100_000, PARSE_ERROR),
        (b"42", INVALID_REQUEST),
        (b'"system_name"', INVALID_REQUEST),
        (b"[]", INVALID_REQUEST),
        (b'{"id":1,"method":"system_name"}', INVALID_REQUEST),
        (b'{"jsonrpc":"1.0","id":1,"method":"system_name"}', INVALID_REQUEST),
        (b'{"jsonrpc":"2.0","id":1}', INVALID_REQUEST),
        (b'{"jsonrpc":"2.0","id":1,"method":7}', INVALID_REQUEST),
        (b'{"jsonrpc":"2.0","id":1,"method":"system_name","params":"x"}', INVALID_REQUEST),
        (b'{"jsonrpc":"2.0","id":{"a":1},"method":"system_name"}', INVALID_REQUEST),
        (b'{"jsonrpc":"2.0","id":true,"method":"system_name"}', INVALID_REQUEST),
        (b'{"jsonrpc":"2.0","id":1,"method":"no_such_method"}', METHOD_NOT_FOUND),
    ]
    for body, code in cases:
        with rpc.unchanged():
            status, reply = await rpc.post(data=body)
        assert status == 200, body[:40]
        assert reply["jsonrpc"] == "2.0" and reply["error"]["code"] == code, (body[:40], reply)
        assert "result" not in reply
    status, reply = await rpc.post(data=b'{"jsonrpc":"1.0","id":5,"method":"system_name"}')
    assert reply["id"] == 5
    status, reply = await rpc.post(data=b"{not json")
    assert reply == {"jsonrpc": "2.0", "id": None, "error": {"code": PARSE_ERROR, "message": "Parse error"}}


@pytest.mark.asyncio
async def test_notifications_get_no_response(rpc: RpcHarness) -> None:
    status, body = await rpc.post({"jsonrpc": "2.0", "method": "system_name"})
    assert (status, body) == (204, None)
    status, body = await rpc.post({"jsonrpc": "2.0", "method": "no_such_method"})
    assert (status, body) == (204, None)
    status, body = await rpc.post([{"jsonrpc": "2.0", "method": "system_name"}, {"jsonrpc": "2.0", "method": "x"}])
    assert (status, body) == (204, None)


@pytest.mark.asyncio
async def test_invalid_params(rpc: RpcHarness) -> None:
    genesis = hx(rpc.node.chain.genesis_hash)
    alice = addr(rpc.alice.public)
    bad_checksum = alice[:-1] + ("a" if alice[-1] != "a" else "b")
    cases: list[tuple[str, list[Any], str]] = [
        ("system_name", [1], "at most 0 parameters"),
        ("chain_getBlock", [genesis, 1], "at most 1 parameters"),
        ("chain_getBlock", [123], "expected a 0x-prefixed hex string"),
        ("chain_getHeader", ["0xzz"], "not valid hex"),
        ("chain_getHeader", ["0x123"], "not valid hex"),
        ("chain_getHeader", ["0x" + "ab" * 31], "expected 32 bytes"),
        ("chain_getHeader", [genesis[2:]], "0x-prefixed"),
        ("chain_getBlockHash", [-1], "out of range"),
        ("chain_getBlockHash", [True], "expected an integer"),
        ("chain_getBlockHash", ["12"], "not a 0x-hex number"),
        ("chain_getBlockHash", ["0x"], "not a 0x-hex number"),
        ("chain_getBlockHash", [2**64], "out of range"),
        ("btt_account", [], "missing parameter 'account'"),
        ("btt_account", [bad_checksum], "bad checksum"),
        ("btt_account", [encode_address(rpc.alice.public, 7)], "network prefix 7"),
        ("btt_account", ["not-an-address!"], "invalid base58"),
        ("btt_account", ["0x1234"], "expected 32 bytes"),
        ("btt_account", [{"a": 1}], "expected an SS58 address"),
        ("system_accountNextIndex", [bad_checksum], "bad checksum"),
        ("btt_events", ["0x" + "11" * 32], "unknown block"),
        ("btt_extrinsicStatus", ["0x00"], "expected 32 bytes"),
        ("state_getStorage", [], "missing parameter 'key'"),
        ("state_getStorage", ["0x00", "0x" + "11" * 32], "unknown block"),
        ("state_getStorage", ["0x" + "00" * 2000], "longer than 1024 bytes"),
        ("state_getMetadata", ["0x" + "11" * 32], "unknown block"),
        ("payment_queryInfo", ["0x00"], "malformed"),
        ("payment_queryInfo", ["nothex"], "0x-prefixed"),
        ("author_submitExtrinsic", [], "missing parameter"),
        ("author_submitExtrinsic", [42], "expected a 0x-prefixed hex string"),
        ("author_submitExtrinsic", ["0xabc"], "not valid hex"),
        ("chain_unsubscribeNewHeads", [], "WebSocket"),
    ]
    rpc.author_block()  # so that genesis is no longer the head
    cases.append(("btt_dryRun", ["0x00", genesis], "malformed"))  # any kept block: the extrinsic is checked there
    cases.append(("btt_dryRun", ["0x00", "0x" + "11" * 32], "unknown block"))
    for method, params, text in cases:
        code = METHOD_NOT_FOUND if text == "WebSocket" else INVALID_PARAMS
        await rpc.assert_raises_rpc_error(code, text, method, *params)
    log.info("named parameters work, and unknown names are refused")
    status, reply = await rpc.post(
        {"jsonrpc": "2.0", "id": 1, "method": "btt_account", "params": {"account": addr(BOB.public)}}
    )
    assert reply["result"]["address"] == addr(BOB.public)
    status, reply = await rpc.post({"jsonrpc": "2.0", "id": 1, "method": "btt_account", "params": {"who": "x"}})
    assert reply["error"]["code"] == INVALID_PARAMS and "no parameter 'who'" in reply["error"]["message"]


@pytest.mark.asyncio
async def test_unknown_block_is_null(rpc: RpcHarness) -> None:
    unknown = "0x" + "11" * 32
    assert await rpc.call("chain_getBlock", unknown) is None
    assert await rpc.call("chain_getHeader", unknown) is None
    assert await rpc.call("chain_getBlockHash", 10**6) is None


@pytest.mark.asyncio
async def test_subscriptions_over_http_are_refused(rpc: RpcHarness) -> None:
    for method in ("chain_subscribeNewHeads", "chain_subscribeAllHeads", "chain_subscribeFinalizedHeads"):
        await rpc.assert_raises_rpc_error(METHOD_NOT_FOUND, "needs a WebSocket connection", method)


@pytest.mark.asyncio
async def test_invalid_transactions(rpc: RpcHarness) -> None:
    good = rpc.sign(rpc.alice, "balances.transfer_allow_death", BOB.public, UNIT)
    encoded = good.encode()
    bad_sig = good.replace(signature=bytes([good.signature[0] ^ 1]) + good.signature[1:]).encode()
    other_chain = good.replace(nonce=0, tip=1).encode()  # the signature no longer covers the payload
    for data, reason in [
        (os.urandom(200), "malformed extrinsic"),
        (b"", "malformed extrinsic"),
        (encoded[:-1], "malformed extrinsic"),
        (encoded + b"\x00", "trailing bytes"),
        (bad_sig, "bad signature"),
        (other_chain, "bad signature"),
        (b"\x00" * (70 * 1024), "over the limit"),
    ]:
        err = await rpc.assert_raises_rpc_error(INVALID_TRANSACTION, reason, "author_submitExtrinsic", hx(data))
        assert err.message == "Invalid Transaction" and isinstance(err.data, str)
        if reason == "bad signature":  # well-formed: the fee query does not check signatures
            assert (await rpc.call("payment_queryInfo", hx(data)))["weight"]["refTime"] == 100
        else:
            await rpc.assert_raises_rpc_error(INVALID_PARAMS, "extrinsic", "payment_queryInfo", hx(data))

    log.info("a call the runtime does not know")
    unknown_call = good.replace(call=good.call.replace(module=200)).encode()
    await rpc.assert_raises_rpc_error(INVALID_PARAMS, "no call at index", "payment_queryInfo", hx(unknown_call))

    log.info("a duplicate, then a stale nonce once the first is included")
    await rpc.call("author_submitExtrinsic", hx(encoded))
    await rpc.assert_raises_rpc_error(INVALID_TRANSACTION, "already in the pool", "author_submitExtrinsic", hx(encoded))
    rpc.author_block()
    stale = rpc.sign(rpc.alice, "balances.transfer_allow_death", BOB.public, 2 * UNIT, nonce=0).encode()
    await rpc.assert_raises_rpc_error(INVALID_TRANSACTION, "stale nonce", "author_submitExtrinsic", hx(stale))
    poor = dev_keypair("nobody")
    broke = rpc.sign(poor, "balances.transfer_allow_death", BOB.public, UNIT).encode()
    await rpc.assert_raises_rpc_error(INVALID_TRANSACTION, "cannot pay fee", "author_submitExtrinsic", hx(broke))


@pytest.mark.asyncio
async def test_internal_error_is_reported_and_survived(rpc: RpcHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(rpc.node.chain, "validators", broken)
    err = await rpc.assert_raises_rpc_error(INTERNAL_ERROR, "Internal error", "btt_validators")
    assert "disk on fire" not in err.message
    assert await rpc.call("system_name") == "btt-chain"


@pytest.mark.asyncio
async def test_huge_body_is_refused(rpc: RpcHarness) -> None:
    big = {"jsonrpc": "2.0", "id": 1, "method": "author_submitExtrinsic", "params": ["0x" + "00" * (MAX_BODY // 2)]}
    with rpc.unchanged():
        status, reply = await rpc.post(data=json.dumps(big))
    assert status == 413
    assert reply["error"]["code"] == INVALID_REQUEST and "over the limit" in reply["error"]["message"]
    assert await rpc.call("system_name") == "btt-chain"


@pytest.mark.asyncio
async def test_batches(rpc: RpcHarness) -> None:
    good_xt = rpc.sign(rpc.alice, "balances.transfer_allow_death", BOB.public, UNIT).encode()
    batch = [
        {"jsonrpc": "2.0", "id": 1, "method": "system_name"},
        {"jsonrpc": "2.0", "id": 2, "method": "no_such_method"},
        {"jsonrpc": "2.0", "id": 3, "method": "btt_account", "params": ["bad"]},
        {"jsonrpc": "2.0", "method": "system_chain"},
        5,
        {"jsonrpc": "2.0", "id": 4, "method": "author_submitExtrinsic", "params": [hx(os.urandom(40))]},
        {"jsonrpc": "2.0", "id": 5, "method": "author_submitExtrinsic", "params": [hx(good_xt)]},
        {"jsonrpc": "2.0", "id": 6, "method": "system_chainType"},
    ]
    head = rpc.node.chain.head_hash
    status, replies = await rpc.post(batch)
    assert status == 200 and isinstance(replies, list) and len(replies) == 7
    by_id = {r["id"]: r for r in replies}
    assert by_id[1]["result"] == "btt-chain"
    assert by_id[2]["error"]["code"] == METHOD_NOT_FOUND
    assert by_id[3]["error"]["code"] == INVALID_PARAMS
    assert by_id[None]["error"]["code"] == INVALID_REQUEST
    assert by_id[4]["error"]["code"] == INVALID_TRANSACTION
    assert by_id[5]["result"] == hx(blake2b_256(good_xt))
    assert by_id[6]["result"] == "Development"
    assert len(rpc.node.pool) == 1 and rpc.node.chain.head_hash == head  # only the good one got in

    log.info("a batch over the limit is refused whole")
    with rpc.unchanged():
        status, reply = await rpc.post([{"jsonrpc": "2.0", "id": i, "method": "system_name"} for i in range(101)])
    assert reply["error"]["code"] == INVALID_REQUEST and "limit of 100" in reply["error"]["message"]
