"""Metadata V15 as the node serves it: `Metadata_metadata_versions` is [14, 15], `Metadata_metadata_at_version(15)`
is V15 while `Metadata_metadata`, `Metadata_metadata_at_version(14)` and `state_getMetadata` stay V14 (Subsquid
decodes V14 at most); a spec from before V15 offers [14] and None for 15. Every runtime API's answer decodes, strictly
and to the last byte, by the output type V15 gives it, and the arguments the node takes decode by its input types: what
dedot and polkadot-api do with V15's `apis`."""

from __future__ import annotations

from typing import Any

import pytest

import runtime.metadata
from btt_chain.primitives.keys import dev_keypair
from btt_chain.rpc import runtime_info
from tests.support.metadata_decoder import Reader, decode_metadata, decode_value, decode_values, encode_compact

from .harness import UNIT, RpcHarness

BOB = dev_keypair("bob")


def hx(data: bytes) -> str:
    return "0x" + data.hex()


def unhex(text: str) -> bytes:
    return bytes.fromhex(text[2:])


async def served(rpc: RpcHarness, version: int) -> bytes | None:
    """`Option<OpaqueMetadata>` of `Metadata_metadata_at_version(version)`, read strictly."""
    r = Reader(unhex(await rpc.call("state_call", "Metadata_metadata_at_version", hx(version.to_bytes(4, "little")))))
    found = r.option(lambda: r.take(r.compact()))
    r.finish()
    return found


@pytest.mark.asyncio
async def test_versions_and_what_each_call_serves(rpc: RpcHarness) -> None:
    assert unhex(await rpc.call("state_call", "Metadata_metadata_versions", "0x")) == bytes.fromhex(
        "080e0000000f000000")
    v14 = unhex(await rpc.call("state_getMetadata"))
    assert v14[:5] == b"meta\x0e"
    assert await served(rpc, 14) == v14
    opaque = unhex(await rpc.call("state_call", "Metadata_metadata", "0x"))
    assert opaque == encode_compact(len(v14)) + v14
    v15 = await served(rpc, 15)
    assert v15 is not None and v15[:5] == b"meta\x0f"
    assert v15 == runtime_info.metadata(rpc.node.chain.state(), rpc.node.spec.ss58_prefix, 15)
    for version in (0, 13, 16, 2**32 - 1):
        assert await served(rpc, version) is None
    # V15 and V14 of the same block list the same pallets
    assert [p["name"] for p in decode_metadata(v15)["pallets"]] == [p["name"] for p in decode_metadata(v14)["pallets"]]


@pytest.mark.asyncio
async def test_a_spec_from_before_v15_offers_v14_only(rpc: RpcHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    code = await rpc.call("state_getStorage", "0x3a636f6465")
    monkeypatch.delattr(runtime.metadata, "METADATA_VERSIONS")  # what a frozen spec-14 runtime.metadata looks like
    assert unhex(await rpc.call("state_call", "Metadata_metadata_versions", "0x")) == bytes.fromhex("040e000000")
    assert await served(rpc, 15) is None
    assert await served(rpc, 14) == unhex(await rpc.call("state_getMetadata"))
    assert await rpc.call("state_getStorage", "0x3a636f6465") == code  # `:code` hashes V14, whichever are offered


def _functions(meta: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{api['name']}_{m['name']}": m for api in meta["apis"] for m in api["methods"]}


@pytest.mark.asyncio
async def test_every_answer_decodes_by_its_v15_type(rpc: RpcHarness) -> None:
    rpc.author_block()
    chain = rpc.node.chain
    v15 = await served(rpc, 15)
    assert v15 is not None
    meta = decode_metadata(v15)
    types, functions = meta["types"], _functions(meta)
    xt = rpc.sign(rpc.alice, "balances.transfer_keep_alive", BOB.public, UNIT).encode()
    bad = bytearray(xt)
    bad[-70] ^= 1  # inside the signature
    query = xt + len(xt).to_bytes(4, "little")
    calls: dict[str, bytes] = {
        "Core_version": b"",
        "Metadata_metadata": b"",
        "Metadata_metadata_versions": b"",
        "Metadata_metadata_at_version": (15).to_bytes(4, "little"),
        "AccountNonceApi_account_nonce": rpc.alice.public,
        "TransactionPaymentApi_query_info": query,
        "TransactionPaymentApi_query_fee_details": query,
        "TransactionPaymentApi_query_weight_to_fee": encode_compact(1000) + encode_compact(0),
        "TransactionPaymentApi_query_length_to_fee": (150).to_bytes(4, "little"),
        "TaggedTransactionQueue_validate_transaction": b"\x02" + xt + chain.head_hash,
    }
    assert set(calls) == set(functions)
    answers: dict[str, Any] = {}
    for name, data in calls.items():
        method = functions[name]
        decode_values(types, [i["type"] for i in method["inputs"]], data)  # the node's arguments are V15's
        raw = unhex(await rpc.call("state_call", name, hx(data)))
        answers[name] = decode_value(types, method["output"], raw)

    assert answers["Core_version"]["spec_name"] == "btt"
    assert answers["Core_version"]["spec_version"] == rpc.node.chain.runtime.spec_version
    assert answers["Metadata_metadata"][:5] == b"meta\x0e"
    assert answers["Metadata_metadata_at_version"] == {"Some": v15}
    assert answers["Metadata_metadata_versions"] == [14, 15]
    assert answers["AccountNonceApi_account_nonce"] == 0
    info = answers["TransactionPaymentApi_query_info"]
    rpc_info = await rpc.call("payment_queryInfo", hx(xt))
    assert info["partial_fee"] == int(rpc_info["partialFee"]) > 0
    assert info["class"] == "Normal" and info["weight"]["ref_time"] > 0
    details = answers["TransactionPaymentApi_query_fee_details"]
    parts = details["inclusion_fee"]["Some"]
    assert parts["base_fee"] + parts["len_fee"] + parts["adjusted_weight_fee"] == info["partial_fee"]
    assert details["tip"] == 0
    assert answers["TransactionPaymentApi_query_weight_to_fee"] > 0
    assert answers["TransactionPaymentApi_query_length_to_fee"] > 0
    valid = answers["TaggedTransactionQueue_validate_transaction"]["Ok"]
    assert valid["provides"] == [rpc.alice.public + bytes(4)] and valid["propagate"] is True

    refused = unhex(await rpc.call("state_call", "TaggedTransactionQueue_validate_transaction",
                                   hx(b"\x02" + bytes(bad) + chain.head_hash)))
    output = functions["TaggedTransactionQueue_validate_transaction"]["output"]
    assert decode_value(types, output, refused) == {"Err": {"Invalid": "BadProof"}}
