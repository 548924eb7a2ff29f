"""Substrate's state methods: key pages, storage queries at a block, runtime API calls; each bounded, each refusing
bad input with a parameter error and answering what the chain holds at that block."""

from __future__ import annotations

import hashlib

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
