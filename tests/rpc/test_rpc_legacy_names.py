"""Substrate's legacy JSON-RPC names as unchanged clients call them: jsonrpsee's exact `Method not found`, every one of
the 67 names @polkadot/types 16.5.6 defines either served (with Substrate's aliases) or left out for a stated reason,
and the storage, child-state and node methods added for polkadot.js, polkadot-api and Subsquid, each bounded and
refusing bad input; an unknown block's error says "not found", as Substrate's does."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from btt_chain.primitives.keys import dev_keypair
from btt_chain.rpc import methods_state
from btt_chain.rpc.errors import INVALID_PARAMS, METHOD_NOT_FOUND
from btt_chain.rpc.registry import REGISTRY
from runtime.system import storage as system

from .conftest import dev_harness
from .harness import UNIT, RpcHarness

BOB = dev_keypair("bob")
CHILD = "0x" + b":child_storage:default:trie".hex()
UNKNOWN = "0x" + "11" * 32

SERVED = {
    "author_hasKey", "author_hasSessionKeys", "author_insertKey", "author_rotateKeys",  # unsafe: the keystore
    "author_pendingExtrinsics", "author_submitAndWatchExtrinsic", "author_submitExtrinsic",
    "chain_getBlock", "chain_getBlockHash", "chain_getFinalizedHead", "chain_getHeader", "chain_subscribeAllHeads",
    "chain_subscribeFinalizedHeads", "chain_subscribeNewHeads",
    "childstate_getKeys", "childstate_getKeysPaged", "childstate_getStorage", "childstate_getStorageEntries",
    "childstate_getStorageHash", "childstate_getStorageSize",
    "payment_queryFeeDetails", "payment_queryInfo", "rpc_methods",
    "state_call", "state_getKeys", "state_getKeysPaged", "state_getMetadata", "state_getPairs", "state_getReadProof",
    "state_getRuntimeVersion", "state_getStorage", "state_getStorageHash", "state_getStorageSize",
    "state_queryStorageAt", "state_subscribeRuntimeVersion", "state_subscribeStorage",
    "system_accountNextIndex", "system_chain", "system_chainType", "system_dryRun", "system_health",
    "system_localListenAddresses", "system_localPeerId", "system_name", "system_nodeRoles", "system_peers",
    "system_properties", "system_reservedPeers", "system_syncState", "system_version",
}
"""The names of @polkadot/types 16.5.6's rpc definitions (author, chain, childstate, offchain, payment, rpc, state,
system) this node serves."""

LEFT_OUT = {
    "author_removeExtrinsic": "unsafe; the pool has no removal by hash (btt_chain/node/txpool.py)",
    "offchain_localStorageClear": "no offchain workers or offchain storage",
    "offchain_localStorageGet": "no offchain workers or offchain storage",
    "offchain_localStorageSet": "no offchain workers or offchain storage",
    "state_getChildKeys": "removed from Substrate (the 2020 child API); childstate_getKeys is served",
    "state_getChildStorage": "removed from Substrate; childstate_getStorage is served",
    "state_getChildStorageHash": "removed from Substrate; childstate_getStorageHash is served",
    "state_getChildStorageSize": "removed from Substrate; childstate_getStorageSize is served",
    "state_getChildReadProof": "a proof is of trie nodes; btt's state is a sparse Merkle tree (state_getReadProof "
                               "is btt's own shape), and it has no child tries to prove",
    "state_queryStorage": "unsafe in Substrate: keys x blocks of historical reads; state_queryStorageAt per block",
    "state_traceBlock": "re-executes a block under wasm tracing: no wasm runtime",
    "state_trieMigrationStatus": "unsafe; no trie migration (no Substrate trie)",
    "system_addLogFilter": "unsafe; log levels are set with --log at start",
    "system_resetLogFilter": "unsafe; log levels are set with --log at start",
    "system_addReservedPeer": "unsafe; btt has no reserved peers",
    "system_removeReservedPeer": "unsafe; btt has no reserved peers",
    "system_networkState": "unsafe and unstable in Substrate (registered as system_unstable_networkState)",
}

ALIASES = {
    "state_getStorageAt": "state_getStorage", "state_getStorageHashAt": "state_getStorageHash",
    "state_getStorageSizeAt": "state_getStorageSize", "state_getKeysPagedAt": "state_getKeysPaged",
    "state_callAt": "state_call", "childstate_getKeysPagedAt": "childstate_getKeysPaged",
    "system_dryRunAt": "system_dryRun", "account_nextIndex": "system_accountNextIndex",
    "chain_getRuntimeVersion": "state_getRuntimeVersion", "chain_getFinalisedHead": "chain_getFinalizedHead",
    "chain_getHead": "chain_getBlockHash",
}
"""Substrate's aliases (polkadot-sdk `substrate/client/rpc-api`, `substrate/utils/frame/rpc/system`)."""


def hx(data: bytes) -> str:
    return "0x" + data.hex()


@pytest_asyncio.fixture
async def unsafe_rpc() -> AsyncIterator[RpcHarness]:
    async for harness in dev_harness(unsafe=True):
        yield harness


def test_every_legacy_name_is_served_or_left_out_with_a_reason() -> None:
    import btt_chain.rpc.server  # noqa: F401  (registers every method)

    assert len(SERVED) + len(LEFT_OUT) == 67 and not SERVED & LEFT_OUT.keys()
    for name in SERVED:
        assert REGISTRY.get(name) is not None, name
    for name in LEFT_OUT:
        assert REGISTRY.get(name) is None, name
    for alias, name in ALIASES.items():
        found = REGISTRY.get(alias)
        assert found is not None and found.name == name, alias
    assert REGISTRY.get("state_getPairs").unsafe  # type: ignore[union-attr]  # as in Substrate


@pytest.mark.asyncio
async def test_an_unknown_method_is_jsonrpsee_method_not_found(rpc: RpcHarness) -> None:
    for request in ({"jsonrpc": "2.0", "id": 1, "method": "state_nothingHere", "params": []},
                    [{"jsonrpc": "2.0", "id": 1, "method": "chainHead_v1_follow", "params": [True]}]):
        status, body = await rpc.post(request)
        reply = body[0] if isinstance(body, list) else body
        assert status == 200 and reply["error"]["code"] == METHOD_NOT_FOUND
        assert reply["error"]["message"] == "Method not found"  # exactly: polkadot-api falls back on this text
        assert reply["error"]["data"] == (request[0] if isinstance(request, list) else request)["method"]


@pytest.mark.asyncio
async def test_rpc_methods_lists_the_new_names_and_aliases(rpc: RpcHarness, unsafe_rpc: RpcHarness) -> None:
    unsafe = {n for n in SERVED if REGISTRY.get(n).unsafe}  # type: ignore[union-attr]
    assert unsafe == {"state_getPairs", "author_hasKey", "author_hasSessionKeys", "author_insertKey",
                      "author_rotateKeys"}  # as in Substrate
    listed = set((await rpc.call("rpc_methods"))["methods"])
    assert SERVED - unsafe <= listed and not unsafe & listed
    assert set(ALIASES) <= listed
    assert unsafe <= set((await unsafe_rpc.call("rpc_methods"))["methods"])


@pytest.mark.asyncio
async def test_storage_hash_and_size_agree_with_the_value(rpc: RpcHarness) -> None:
    key = system.account.key(rpc.alice.public)
    value = bytes.fromhex((await rpc.call("state_getStorage", hx(key)))[2:])
    genesis = hx(rpc.node.chain.genesis_hash)
    for suffix, at in (("", []), ("At", [genesis])):  # Substrate's `*At` aliases, as polkadot.js and Subsquid call
        assert await rpc.call(f"state_getStorage{suffix}", hx(key), *at) == hx(value)
        assert await rpc.call(f"state_getStorageHash{suffix}", hx(key), *at) == hx(hashlib.blake2b(
            value, digest_size=32).digest())
        assert await rpc.call(f"state_getStorageSize{suffix}", hx(key), *at) == len(value)
    missing = hx(b"\x01" * 48)
    assert await rpc.call("state_getStorageHash", missing) is None
    assert await rpc.call("state_getStorageSize", missing) is None
    # a key that holds no value is a prefix: the size of everything under it (Substrate's rule)
    prefix = system.account.prefix
    under = [v for _, v in rpc.node.chain.db.state.iterate(prefix)]
    assert await rpc.call("state_getStorageSize", hx(prefix)) == sum(len(v) for v in under)
    code = await rpc.call("state_getStorage", "0x3a636f6465")
    assert await rpc.call("state_getStorageHash", "0x3a636f6465") == hx(hashlib.blake2b(
        bytes.fromhex(code[2:]), digest_size=32).digest())


@pytest.mark.asyncio
async def test_whole_prefix_answers_are_bounded(rpc: RpcHarness, unsafe_rpc: RpcHarness,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    prefix = hx(system.account.prefix)
    keys = await rpc.call("state_getKeys", prefix)
    paged = await rpc.call("state_getKeysPaged", prefix, 1000)
    assert keys == paged and len(keys) > 3
    pairs = await unsafe_rpc.call("state_getPairs", prefix)
    assert [k for k, _ in pairs] == await unsafe_rpc.call("state_getKeys", prefix)
    monkeypatch.setattr(methods_state, "MAX_KEYS_PAGE", 3)
    await rpc.assert_raises_rpc_error(INVALID_PARAMS, "more than 3 keys", "state_getKeys", prefix)
    await rpc.assert_raises_rpc_error(INVALID_PARAMS, "state_getKeysPaged", "state_getStorageSize", prefix)
    await unsafe_rpc.assert_raises_rpc_error(INVALID_PARAMS, "more than 3 keys", "state_getPairs", prefix)
    await rpc.assert_raises_rpc_error(METHOD_NOT_FOUND, "unsafe", "state_getPairs", prefix)
    await rpc.assert_raises_rpc_error(INVALID_PARAMS, "storage key", "state_getKeys", "zz")


@pytest.mark.asyncio
async def test_child_state_is_empty(rpc: RpcHarness) -> None:
    genesis = hx(rpc.node.chain.genesis_hash)
    key = hx(b"\x01\x02")
    assert await rpc.call("childstate_getKeys", CHILD, "0x") == []
    assert await rpc.call("childstate_getKeysPaged", CHILD, "0x", 10) == []
    assert await rpc.call("childstate_getKeysPagedAt", CHILD, None, 10, None, genesis) == []
    assert await rpc.call("childstate_getStorage", CHILD, key) is None
    assert await rpc.call("childstate_getStorageEntries", CHILD, [key, key], genesis) == [None, None]
    assert await rpc.call("childstate_getStorageHash", CHILD, key) is None
    assert await rpc.call("childstate_getStorageSize", CHILD, key, genesis) is None


@pytest.mark.asyncio
@pytest.mark.parametrize("method, params, reason", [
    ("childstate_getStorage", [hx(b"not a child key"), "0x00"], "default child trie"),
    ("childstate_getKeysPaged", [CHILD, "0x", 1001], "count"),
    ("childstate_getStorageEntries", [CHILD, ["0x00"] * 1001], "at most 1000"),
    ("childstate_getStorageHash", [CHILD, "0x00", UNKNOWN], "not found"),
])
async def test_child_state_refuses_bad_params(rpc: RpcHarness, method: str, params: list[object],
                                              reason: str) -> None:
    await rpc.assert_raises_rpc_error(INVALID_PARAMS, reason, method, *params)


@pytest.mark.asyncio
@pytest.mark.parametrize("method, params", [
    ("state_getStorage", ["0x00", UNKNOWN]), ("state_getStorageAt", ["0x00", UNKNOWN]),
    ("state_getStorageHash", ["0x00", UNKNOWN]), ("state_getStorageSize", ["0x00", UNKNOWN]),
    ("state_getMetadata", [UNKNOWN]), ("state_getRuntimeVersion", [UNKNOWN]),
    ("state_call", ["Core_version", "0x", UNKNOWN]), ("state_queryStorageAt", [["0x00"], UNKNOWN]),
    ("state_getKeys", ["0x00", UNKNOWN]), ("btt_events", [UNKNOWN]),
])
async def test_an_unknown_block_is_not_found(rpc: RpcHarness, method: str, params: list[object]) -> None:
    """Substrate: `UnknownBlock: Header was not found in the database`; Subsquid reads " not found" as a missing
    block (fetched again later), any other error as a failure."""
    exc = await rpc.assert_raises_rpc_error(INVALID_PARAMS, " not found", method, *params)
    assert "unknown block" in exc.message  # as before, for btt's own clients


@pytest.mark.asyncio
async def test_node_methods(rpc: RpcHarness) -> None:
    assert await rpc.call("system_nodeRoles") == ["Authority"]  # the dev node validates
    assert await rpc.call("system_reservedPeers") == []
    start = (await rpc.call("system_syncState"))["startingBlock"]
    rpc.author_block()
    state = await rpc.call("system_syncState")
    assert state == {"startingBlock": start, "currentBlock": rpc.node.chain.head.number,
                     "highestBlock": rpc.node.chain.head.number}
    await rpc.assert_raises_rpc_error(INVALID_PARAMS, "at most 0", "system_syncState", 1)


@pytest.mark.asyncio
async def test_fee_details_add_up_to_the_partial_fee(rpc: RpcHarness) -> None:
    encoded = hx(rpc.sign(rpc.alice, "balances.transfer_keep_alive", BOB.public, UNIT).encode())
    info = await rpc.call("payment_queryInfo", encoded)
    details = await rpc.call("payment_queryFeeDetails", encoded)
    parts = details["inclusionFee"]
    assert set(parts) == {"baseFee", "lenFee", "adjustedWeightFee"}
    assert all(v.startswith("0x") and (v == "0x0" or not v.startswith("0x0")) for v in parts.values())
    assert sum(int(v, 16) for v in parts.values()) == int(info["partialFee"])
    assert json.dumps(details).count("tip") == 0  # Substrate's RPC leaves the tip out
    await rpc.assert_raises_rpc_error(INVALID_PARAMS, "malformed", "payment_queryFeeDetails", "0x00")
    await rpc.assert_raises_rpc_error(INVALID_PARAMS, " not found", "payment_queryFeeDetails", encoded, UNKNOWN)
