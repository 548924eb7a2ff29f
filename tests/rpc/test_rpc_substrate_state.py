"""Substrate's state methods: key pages, storage queries at a block, runtime API calls; each bounded, each refusing
bad input with a parameter error and answering what the chain holds at that block."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import aiohttp
import pytest

from btt_chain.primitives import scale
from btt_chain.primitives.keys import dev_keypair
from btt_chain.rpc.errors import INVALID_PARAMS
from runtime.modules import RUNTIME
from runtime.system import storage as system

from .harness import UNIT, RpcHarness

BOB = dev_keypair("bob")


def hx(data: bytes) -> str:
    return "0x" + data.hex()


@pytest.mark.asyncio
async def test_key_pages_cover_a_prefix_once_in_key_order(rpc: RpcHarness) -> None:
    prefix = system.account.prefix  # the account map's prefix
    everything = sorted(k for k, _ in rpc.node.chain.db.state.iterate(prefix))
    assert len(everything) > 3
    pages, start = [], None
    while True:
        page = await rpc.call("state_getKeysPaged", hx(prefix), 2, *([start] if start else []))
        if not page:
            break
        assert len(page) <= 2
        pages += page
        start = page[-1]
    assert pages == [hx(k) for k in everything]
    assert await rpc.call("state_getKeysPaged", hx(prefix), 0) == []
    assert await rpc.call("state_getKeysPaged", hx(prefix), 1000, hx(b"\xff" * 40)) == []  # past the prefix
    assert await rpc.call("state_getKeysPaged", hx(prefix), 1, hx(b"\x00")) == [hx(everything[0])]  # before it


@pytest.mark.asyncio
@pytest.mark.parametrize("count", [-1, 1001, "5", 1.5, None])
async def test_key_pages_are_bounded(rpc: RpcHarness, count: object) -> None:
    await rpc.assert_raises_rpc_error(INVALID_PARAMS, "count", "state_getKeysPaged", "0x", count)


@pytest.mark.asyncio
async def test_query_storage_at_answers_at_each_block(rpc: RpcHarness) -> None:
    key = system.account.key(BOB.public)
    genesis_hash = hx(rpc.node.chain.genesis_hash)
    before = rpc.node.chain.db.state.get(key)
    await rpc.call("author_submitExtrinsic", hx(rpc.sign(rpc.alice, "balances.transfer_allow_death", BOB.public,
                                                              UNIT).encode()))
    block = rpc.author_block()
    after = rpc.node.chain.db.state.get(key)
    assert before != after
    missing = b"\x01" * 48
    now = await rpc.call("state_queryStorageAt", [hx(key), hx(missing)])
    assert now == [{"block": hx(block.hash), "changes": [[hx(key), hx(after)], [hx(missing), None]]}]
    then = await rpc.call("state_queryStorageAt", [hx(key)], genesis_hash)
    assert then == [{"block": genesis_hash, "changes": [[hx(key), hx(before) if before else None]]}]
    await rpc.assert_raises_rpc_error(INVALID_PARAMS, "at most 1000", "state_queryStorageAt", ["0x00"] * 1001)
    await rpc.assert_raises_rpc_error(INVALID_PARAMS, "unknown block", "state_queryStorageAt", [hx(key)],
                                      hx(b"\x11" * 32))


@pytest.mark.asyncio
async def test_runtime_api_calls(rpc: RpcHarness) -> None:
    nonce = await rpc.call("state_call", "AccountNonceApi_account_nonce", hx(rpc.alice.public))
    assert scale.decode_all(bytes.fromhex(nonce[2:]), lambda d, i: scale.decode_uint(d, i, 4)) == 0

    xt = rpc.sign(rpc.alice, "balances.transfer_keep_alive", BOB.public, UNIT)
    encoded = xt.encode()
    args = hx(encoded + len(encoded).to_bytes(4, "little"))
    info = await rpc.call("state_call", "TransactionPaymentApi_query_info", args)
    raw = bytes.fromhex(info[2:])
    ref_time, pos = scale.decode_compact(raw, 0)
    proof_size, pos = scale.decode_compact(raw, pos)
    assert (ref_time, proof_size, raw[pos]) == (RUNTIME.lookup("balances.transfer_keep_alive")[1].weight, 0, 0)
    fee = int.from_bytes(raw[pos + 1:], "little")
    assert str(fee) == (await rpc.call("payment_queryInfo", hx(encoded)))["partialFee"]

    version = bytes.fromhex((await rpc.call("state_call", "Core_version", "0x"))[2:])
    spec_name, pos = scale.decode_str(version, 0, 64)
    assert spec_name == "btt"
    core_id = hashlib.blake2b(b"Core", digest_size=8).digest()
    assert core_id in version


@pytest.mark.asyncio
@pytest.mark.parametrize("name, data, reason", [
    ("Nope_nothing", "0x", "no runtime API function"),
    ("AccountNonceApi_account_nonce", "0x00", "bad arguments"),
    ("AccountNonceApi_account_nonce", "0x" + "00" * 33, "trailing"),
    ("TransactionPaymentApi_query_info", "0x0102", "bad arguments"),
    ("Core_version", "0x00", "trailing"),
])
async def test_bad_runtime_calls_are_parameter_errors(rpc: RpcHarness, name: str, data: str, reason: str) -> None:
    await rpc.assert_raises_rpc_error(INVALID_PARAMS, reason, "state_call", name, data)


async def _recv(ws: aiohttp.ClientWebSocketResponse) -> Any:
    msg = await ws.receive(timeout=30)
    assert msg.type == aiohttp.WSMsgType.TEXT, msg
    return json.loads(msg.data)


@pytest.mark.asyncio
async def test_storage_subscription_sends_all_values_then_only_changes(rpc: RpcHarness) -> None:
    bob_key, alice_key = system.account.key(BOB.public), system.account.key(rpc.alice.public)
    quiet = system.account.key(dev_keypair("ferdie").public)
    async with rpc.session.ws_connect(rpc.url) as ws:
        await ws.send_json({"jsonrpc": "2.0", "id": 1, "method": "state_subscribeStorage",
                            "params": [[hx(bob_key), hx(quiet), hx(bob_key)]]})
        sub = (await _recv(ws))["result"]
        first = await _recv(ws)
        assert first["method"] == "state_storage" and first["params"]["subscription"] == sub
        state = rpc.node.chain.db.state
        expected = [[hx(k), None if state.get(k) is None else hx(state.get(k))] for k in (bob_key, quiet)]
        assert first["params"]["result"] == {"block": hx(rpc.node.chain.head_hash), "changes": expected}

        rpc.author_block()  # nothing of bob's changes: no notification for it
        xt = rpc.sign(rpc.alice, "balances.transfer_allow_death", BOB.public, UNIT)
        await rpc.call("author_submitExtrinsic", hx(xt.encode()))
        block = rpc.author_block()
        note = await _recv(ws)
        assert note["params"]["result"] == {
            "block": hx(block.hash), "changes": [[hx(bob_key), hx(rpc.node.chain.db.state.get(bob_key))]],
        }

        await ws.send_json({"jsonrpc": "2.0", "id": 2, "method": "state_unsubscribeStorage", "params": [sub]})
        assert (await _recv(ws))["result"] is True
        assert alice_key != bob_key


def test_a_change_set_computed_after_the_head_moved_on_names_the_head_it_read(rpc: RpcHarness) -> None:
    """A storage notification asked for by block N's import but computed once N + 1 is the head (a busy node's RPC
    lane runs it late) reads N + 1's state: it names N + 1, never N + 1's values under N's hash (seen once on a busy
    machine: the test above got the transfer block's value under the block before it)."""
    from btt_chain.rpc.subscriptions import STORAGE, _Subscription, storage_changes

    bob_key = system.account.key(BOB.public)
    older = rpc.author_block()
    xt = rpc.sign(rpc.alice, "balances.transfer_allow_death", BOB.public, UNIT)
    rpc.node.submit_extrinsic(xt.encode())
    newer = rpc.author_block()
    sub = _Subscription(STORAGE, keys=(bob_key,))
    told = json.loads(storage_changes(rpc.node, sub, older.hash, True) or "{}")
    assert told == {"block": hx(newer.hash), "changes": [[hx(bob_key), hx(rpc.node.chain.db.state.get(bob_key))]]}
    assert storage_changes(rpc.node, sub, newer.hash, False) is None  # the head's own turn: nothing changed since


@pytest.mark.asyncio
@pytest.mark.parametrize("keys, reason", [("0x00", "expected a list"), ({"0x00": 1}, "expected a list"),
                                          (["0x00"] * 1001, "at most 1000"), (["zz"], "hex")])
async def test_storage_subscriptions_are_bounded(rpc: RpcHarness, keys: object, reason: str) -> None:
    async with rpc.session.ws_connect(rpc.url) as ws:
        await ws.send_json({"jsonrpc": "2.0", "id": 1, "method": "state_subscribeStorage", "params": [keys]})
        reply = await _recv(ws)
        assert reply["error"]["code"] == INVALID_PARAMS and reason in reply["error"]["message"]
        for i in range(2):  # 1,000 keys in all per connection
            await ws.send_json({"jsonrpc": "2.0", "id": 2 + i, "method": "state_subscribeStorage",
                                "params": [["0x" + f"{n:04x}" + f"{i:02x}" for n in range(600)]]})
        replies = [await _recv(ws) for _ in range(3)]
        errors = [r for r in replies if "error" in r]
        assert len(errors) == 1 and "too many storage keys" in errors[0]["error"]["message"]


@pytest.mark.asyncio
async def test_metadata_through_the_runtime_api_is_state_get_metadata(rpc: RpcHarness) -> None:
    metadata = bytes.fromhex((await rpc.call("state_getMetadata"))[2:])
    assert metadata[:5] == b"meta\x0e"
    assert await rpc.call("state_call", "Metadata_metadata_versions", "0x") == "0x080e0000000f000000"  # [14, 15]
    at_14 = bytes.fromhex((await rpc.call("state_call", "Metadata_metadata_at_version", "0x0e000000"))[2:])
    assert at_14 == b"\x01" + scale.encode_bytes(metadata)
    at_15 = bytes.fromhex((await rpc.call("state_call", "Metadata_metadata_at_version", "0x0f000000"))[2:])
    assert at_15[0] == 1 and b"meta\x0f" in at_15[:10]  # V15: tests/rpc/test_rpc_metadata_v15.py
    assert await rpc.call("state_call", "Metadata_metadata_at_version", "0x10000000") == "0x00"
    opaque = bytes.fromhex((await rpc.call("state_call", "Metadata_metadata", "0x"))[2:])
    assert opaque == scale.encode_bytes(metadata)
    genesis = hx(rpc.node.chain.genesis_hash)
    assert await rpc.call("state_getMetadata", genesis) == hx(metadata)  # at any served block
    version = await rpc.call("state_getRuntimeVersion")
    assert [hx(hashlib.blake2b(b"Metadata", digest_size=8).digest()), 2] in version["apis"]


def _runtime_config(metadata_hex: str) -> Any:
    from scalecodec.base import RuntimeConfigurationObject, ScaleBytes
    from scalecodec.type_registry import load_type_registry_preset

    config = RuntimeConfigurationObject()
    config.update_type_registry(load_type_registry_preset("core"))
    metadata = config.create_scale_object("MetadataVersioned", data=ScaleBytes(metadata_hex))
    metadata.decode()
    config.add_portable_registry(metadata)
    return config, metadata


@pytest.mark.asyncio
async def test_system_events_and_digest_are_served_at_their_frame_keys(rpc: RpcHarness) -> None:
    """`System.Events` of a block, from its stored records, decodes with the metadata (scalecodec, as
    substrate-interface reads it) into the block's events in order, each with its phase."""
    from scalecodec.base import ScaleBytes

    from btt_chain.rpc.virtual_storage import DIGEST_KEY, EVENTS_KEY

    xt = rpc.sign(rpc.alice, "balances.transfer_keep_alive", BOB.public, UNIT)
    await rpc.call("author_submitExtrinsic", hx(xt.encode()))
    block = rpc.author_block()
    config, metadata = _runtime_config(await rpc.call("state_getMetadata"))
    raw = await rpc.call("state_getStorage", hx(EVENTS_KEY), hx(block.hash))
    records = config.create_scale_object("Vec<frame_system::eventrecord>", metadata=metadata).decode(ScaleBytes(raw))
    ours = await rpc.call("btt_events", hx(block.hash))
    assert len(records) == len(ours)
    names = [(r["module_id"], r["event_id"]) for r in records]
    assert ("Balances", "Transfer") in names and ("System", "ExtrinsicSuccess") in names
    assert ("TransactionPayment", "TransactionFeePaid") in names
    inherent, success = [r for r in records if r["event_id"] == "ExtrinsicSuccess"]
    assert inherent["phase"] == "ApplyExtrinsic" and inherent["extrinsic_idx"] == 0  # scalecodec's rendering
    assert inherent["attributes"]["dispatch_info"]["class"] == "Mandatory"  # the timestamp inherent
    assert inherent["attributes"]["dispatch_info"]["pays_fee"] == "No"
    assert success["phase"] == "ApplyExtrinsic" and success["extrinsic_idx"] == 1
    assert success["attributes"]["dispatch_info"]["weight"]["ref_time"] == 100
    assert await rpc.call("state_queryStorageAt", [hx(EVENTS_KEY)], hx(block.hash)) == [
        {"block": hx(block.hash), "changes": [[hx(EVENTS_KEY), raw]]}]
    assert await rpc.call("state_getStorage", hx(EVENTS_KEY), hx(rpc.node.chain.genesis_hash)) == "0x00"

    digest = await rpc.call("state_getStorage", hx(DIGEST_KEY), hx(block.hash))
    items = config.create_scale_object("Vec<sp_runtime::generic::digest::DigestItem>", metadata=metadata)
    decoded = items.decode(ScaleBytes(digest))
    assert [list(item)[0] for item in decoded] == ["PreRuntime", "PreRuntime"]


def test_event_records_go_from_their_stored_wire_straight_to_the_events_scale() -> None:
    """The fast path (no event objects built) writes exactly what the events encode to, nested structs, compacts
    and module errors included."""
    from btt_chain.rpc.virtual_storage import encode_event_record
    from runtime.balances.events import Transfer
    from runtime.metadata.indices import event_index
    from runtime.system.dispatch_types import MODULE, DispatchErrorValue, DispatchInfo
    from runtime.system.events import ExtrinsicFailed, ExtrinsicSuccess
    from runtime.transaction_payment.events import TransactionFeePaid

    events = (Transfer(b"a" * 32, b"b" * 32, 10**18), TransactionFeePaid(b"a" * 32, 10**15, 7),
              ExtrinsicSuccess(DispatchInfo(2**40)), ExtrinsicFailed(DispatchErrorValue(MODULE, 1, 2), DispatchInfo(5)))
    for phase, expected_phase in ((3, b"\x00\x03\x00\x00\x00"), (2**32 - 2, b"\x01"), (2**32 - 1, b"\x02")):
        for event in events:
            record = [phase, event.MODULE, event.name, event.to_wire()]
            assert encode_event_record(record) == expected_phase + bytes(event_index(event)) + event.encode() + b"\x00"
    assert encode_event_record([0, "nobody", "Nothing", []]) is None
