"""`state_call`'s runtime APIs as polkadot-api and polkadot.js call them: empty data for a function without
arguments, `TaggedTransactionQueue_validate_transaction` answering what the pool's own check decides (the same
verdict as `author_submitExtrinsic`, Substrate's `TransactionValidity` bytes), and fee estimates that never look at
the signature (wallets sign them with a dummy)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from btt_chain.primitives import scale
from btt_chain.primitives.extrinsic import Era, Extrinsic, Inherent, sign_extrinsic
from btt_chain.primitives.keys import Keypair, dev_keypair
from btt_chain.rpc.errors import INVALID_PARAMS, INVALID_TRANSACTION
from btt_chain.rpc.runtime_api import RUNTIME_CALLS
from runtime.fees.logic import compute_fee
from runtime.modules import RUNTIME
from runtime.version import RUNTIME_APIS

from .harness import UNIT, RpcCallError, RpcHarness

BOB = dev_keypair("bob")
VALIDATE = "TaggedTransactionQueue_validate_transaction"
EXTERNAL = b"\x02"
U64_MAX = 2**64 - 1


def hx(data: bytes) -> str:
    return "0x" + data.hex()


def unhex(text: str) -> bytes:
    return bytes.fromhex(text[2:])


def decode_validity(raw: bytes) -> dict[str, Any]:
    """`TransactionValidity` read field by field (independently of the node's encoder)."""
    if raw[0] == 1:
        assert len(raw) == 3
        return {"error": ("Invalid" if raw[1] == 0 else "Unknown", raw[2])}
    assert raw[0] == 0
    priority, pos = scale.decode_uint(raw, 1, 8)
    tags: list[list[bytes]] = []
    for _ in range(2):
        n, pos = scale.decode_compact(raw, pos)
        found = []
        for _ in range(n):
            tag, pos = scale.decode_bytes(raw, pos, 1024)
            found.append(tag)
        tags.append(found)
    longevity, pos = scale.decode_uint(raw, pos, 8)
    assert raw[pos:] == b"\x01"  # propagate
    return {"priority": priority, "requires": tags[0], "provides": tags[1], "longevity": longevity}


async def validate(rpc: RpcHarness, xt: bytes, block: bytes | None = None, at: list[str] | None = None) -> Any:
    block = block if block is not None else rpc.node.chain.head_hash
    data = EXTERNAL + xt + block
    return decode_validity(unhex(await rpc.call("state_call", VALIDATE, hx(data), *(at or []))))


def tag(who: bytes, nonce: int) -> bytes:
    return who + nonce.to_bytes(4, "little")


def test_every_declared_api_is_served() -> None:
    declared = {name for name, _ in RUNTIME_APIS}
    assert {name.split("_", 1)[0] for name in RUNTIME_CALLS} == declared


@pytest.mark.asyncio
@pytest.mark.parametrize("name", ["Core_version", "Metadata_metadata_versions", "Metadata_metadata"])
async def test_functions_without_arguments_take_empty_data(rpc: RpcHarness, name: str) -> None:
    answers = {await rpc.call("state_call", name, data) for data in ("", "0x", "0X")}
    assert len(answers) == 1
    # Substrate's `Bytes` takes hex without `0x` too
    assert await rpc.call("state_call", "Metadata_metadata_at_version", "0e000000") == await rpc.call(
        "state_call", "Metadata_metadata_at_version", "0x0e000000")
    await rpc.assert_raises_rpc_error(INVALID_PARAMS, "hex", "state_call", name, "0xz")
    await rpc.assert_raises_rpc_error(INVALID_PARAMS, "trailing", "state_call", name, "00")


@pytest.mark.asyncio
async def test_validate_transaction_is_the_pools_verdict(rpc: RpcHarness) -> None:
    chain = rpc.node.chain
    good = rpc.sign(rpc.alice, "balances.transfer_keep_alive", BOB.public, UNIT, tip=7)
    verdict = await validate(rpc, good.encode())
    assert verdict == {"priority": 7, "requires": [], "provides": [tag(rpc.alice.public, 0)], "longevity": U64_MAX}

    future = rpc.sign(rpc.alice, "balances.transfer_keep_alive", BOB.public, UNIT, nonce=1)
    assert (await validate(rpc, future.encode()))["requires"] == [tag(rpc.alice.public, 0)]

    head = chain.head.number
    mortal = sign_extrinsic(rpc.alice, RUNTIME.call("balances.transfer_keep_alive", BOB.public, UNIT), 0,
                            chain.genesis_hash, RUNTIME.spec_version, era=Era.mortal(64, head),
                            birth_hash=chain.db.canonical_hash(Era.mortal(64, head).birth(head)))
    era = mortal.era
    assert (await validate(rpc, mortal.encode()))["longevity"] == era.birth(head + 1) + era.period - (head + 1)

    bad_signature = dataclasses.replace(good, signature=bytes(64))
    poor = Keypair.generate()
    unpayable = sign_extrinsic(poor, RUNTIME.call("balances.transfer_keep_alive", BOB.public, UNIT), 0,
                               chain.genesis_hash, RUNTIME.spec_version)
    refused = {"bad signature": (bad_signature, 4), "cannot pay": (unpayable, 1)}
    for reason, (xt, variant) in refused.items():
        assert await validate(rpc, xt.encode()) == {"error": ("Invalid", variant)}
        with rpc.unchanged():  # the pool refuses it for the same reason
            with pytest.raises(RpcCallError) as exc:
                await rpc.call("author_submitExtrinsic", hx(xt.encode()))
        assert exc.value.code == INVALID_TRANSACTION and reason in str(exc.value.data)

    await rpc.call("author_submitExtrinsic", hx(good.encode()))  # ... and admits what it says is valid
    rpc.author_block()
    assert await validate(rpc, good.encode()) == {"error": ("Invalid", 3)}  # Stale, once included


@pytest.mark.asyncio
async def test_validate_transaction_at_an_earlier_block_uses_its_state(rpc: RpcHarness) -> None:
    genesis = rpc.node.chain.genesis_hash
    xt = rpc.sign(rpc.alice, "balances.transfer_keep_alive", BOB.public, UNIT)
    await rpc.call("author_submitExtrinsic", hx(xt.encode()))
    rpc.author_block()
    assert await validate(rpc, xt.encode()) == {"error": ("Invalid", 3)}
    then = await validate(rpc, xt.encode(), genesis, [hx(genesis)])
    assert then["provides"] == [tag(rpc.alice.public, 0)]  # at genesis the nonce was still 0


@pytest.mark.asyncio
async def test_validate_transaction_where_the_state_is_not_kept(rpc: RpcHarness,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A known block whose state this node does not keep (pruned, or on a side chain) answers `Unknown(CannotLookup)`:
    polkadot-api validates at every recent leaf and fails the submission on an error, not on an invalid verdict."""
    from btt_chain.rpc import runtime_api
    from btt_chain.rpc.errors import invalid_params

    genesis = rpc.node.chain.genesis_hash
    rpc.author_block()

    def not_kept(ctx: object, at: bytes | None) -> object:
        raise invalid_params("state of block #0 is pruned")

    monkeypatch.setattr(runtime_api, "reader_at", not_kept)
    xt = rpc.sign(rpc.alice, "balances.transfer_keep_alive", BOB.public, UNIT).encode()
    assert await validate(rpc, xt, genesis) == {"error": ("Unknown", 0)}
    assert (await validate(rpc, xt))["provides"] == [tag(rpc.alice.public, 0)]  # the head's is always kept


@pytest.mark.asyncio
async def test_validate_transaction_refuses_bad_arguments(rpc: RpcHarness) -> None:
    rpc.author_block()
    head = rpc.node.chain.head_hash
    xt = rpc.sign(rpc.alice, "balances.transfer_keep_alive", BOB.public, UNIT).encode()
    inherent = Inherent(RUNTIME.call("balances.burn", UNIT, True)).encode()  # any unsigned extrinsic
    assert await validate(rpc, inherent) == {"error": ("Unknown", 1)}  # NoUnsignedValidator
    for data, reason in (
        (b"\x03" + xt + head, "TransactionSource"),
        (EXTERNAL + xt + head[:31], "block hash"),
        (EXTERNAL + xt + head + b"\x00", "block hash"),
        (EXTERNAL + xt[:-1] + head, "bad arguments"),
        (b"", "TransactionSource"),
    ):
        await rpc.assert_raises_rpc_error(INVALID_PARAMS, reason, "state_call", VALIDATE, hx(data))
    genesis = hx(rpc.node.chain.genesis_hash)
    await rpc.assert_raises_rpc_error(INVALID_PARAMS, "must be the block", "state_call", VALIDATE,
                                      hx(EXTERNAL + xt + head), genesis)
    await rpc.assert_raises_rpc_error(INVALID_PARAMS, " not found", "state_call", VALIDATE,
                                      hx(EXTERNAL + xt + b"\x11" * 32))


def _query(encoded: bytes) -> str:
    return hx(encoded + len(encoded).to_bytes(4, "little"))


@pytest.mark.asyncio
async def test_fee_queries_never_look_at_the_signature(rpc: RpcHarness) -> None:
    """polkadot.js's `tx.paymentInfo` signs with a dummy (`0x01` bytes); FRAME's answer is the real one's."""
    xt = rpc.sign(rpc.alice, "balances.transfer_keep_alive", BOB.public, UNIT)
    dummy = dataclasses.replace(xt, signature=b"\x01" * 64)
    real_info = await rpc.call("state_call", "TransactionPaymentApi_query_info", _query(xt.encode()))
    assert await rpc.call("state_call", "TransactionPaymentApi_query_info", _query(dummy.encode())) == real_info
    assert await rpc.call("payment_queryInfo", hx(dummy.encode())) == await rpc.call("payment_queryInfo",
                                                                                    hx(xt.encode()))
    raw = unhex(await rpc.call("state_call", "TransactionPaymentApi_query_fee_details", _query(dummy.encode())))
    assert raw[0] == 1 and len(raw) == 1 + 48 + 16  # Some(InclusionFee), then the tip
    base, length, weight = (int.from_bytes(raw[1 + 16 * i:17 + 16 * i], "little") for i in range(3))
    assert int.from_bytes(raw[49:], "little") == 0
    partial_fee = int.from_bytes(unhex(real_info)[-16:], "little")
    assert base + length + weight == partial_fee
    state = rpc.node.chain.state()
    expected = compute_fee(state, len(xt.encode()), 100, xt.signer)
    assert (base, length) == (expected.base, expected.length_fee)
    assert Extrinsic.decode_checked(dummy.encode()).signature == b"\x01" * 64


@pytest.mark.asyncio
async def test_weight_and_length_to_fee(rpc: RpcHarness) -> None:
    state = rpc.node.chain.state()
    weight = scale.encode_compact(1000) + scale.encode_compact(5)
    got = await rpc.call("state_call", "TransactionPaymentApi_query_weight_to_fee", hx(weight))
    assert int.from_bytes(unhex(got), "little") == compute_fee(state, 0, 1000).weight_fee
    got = await rpc.call("state_call", "TransactionPaymentApi_query_length_to_fee", hx((250).to_bytes(4, "little")))
    assert int.from_bytes(unhex(got), "little") == compute_fee(state, 250, 0).length_fee
    await rpc.assert_raises_rpc_error(INVALID_PARAMS, "bad arguments", "state_call",
                                      "TransactionPaymentApi_query_weight_to_fee", hx(weight + b"\x00"))
