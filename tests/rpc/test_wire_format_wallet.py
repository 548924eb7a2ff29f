"""What docs/wire-format.md tells a wallet author beyond signing, checked against a dev node with nothing but the
document: reading a balance from System.Account, choosing an era (where an extrinsic's life starts and ends), and
the parameters and answers of payment_queryInfo and system_dryRun."""

from __future__ import annotations

import hashlib

import nacl.signing
import pytest
import xxhash

from .harness import RpcHarness
from .test_wire_format import compact, h, sign_transfer

pytestmark = pytest.mark.asyncio

ROOT = hashlib.pbkdf2_hmac("sha512", bytes.fromhex("1a486a5fbe53639984cb64b070755f7b"), b"mnemonic", 2048)[:32]


def dev_seed(name: str) -> bytes:
    code = (bytes([len(name) << 2]) + name.encode()).ljust(32, b"\0")
    return h(bytes([len(b"Ed25519HDKD") << 2]) + b"Ed25519HDKD" + ROOT + code)


def public(seed: bytes) -> bytes:
    return bytes(nacl.signing.SigningKey(seed).verify_key)


def twox128(data: bytes) -> bytes:
    return xxhash.xxh64(data, seed=0).intdigest().to_bytes(8, "little") + \
        xxhash.xxh64(data, seed=1).intdigest().to_bytes(8, "little")


def account_key(account: bytes) -> str:
    key = twox128(b"System") + twox128(b"Account") + hashlib.blake2b(account, digest_size=16).digest() + account
    return "0x" + key.hex()


def read_account(raw: str | None) -> dict[str, int]:
    if raw is None:
        return {"nonce": 0, "free": 0, "reserved": 0, "frozen": 0}
    data = bytes.fromhex(raw[2:])
    assert len(data) == 80
    return {"nonce": int.from_bytes(data[0:4], "little"), "free": int.from_bytes(data[16:32], "little"),
            "reserved": int.from_bytes(data[32:48], "little"), "frozen": int.from_bytes(data[48:64], "little")}


async def chain_facts(rpc: RpcHarness) -> tuple[bytes, int, int]:
    genesis = bytes.fromhex((await rpc.call("chain_getBlockHash", 0))[2:])
    version = await rpc.call("state_getRuntimeVersion")
    return genesis, version["specVersion"], version.get("transactionVersion", 1)


async def test_a_balance_read_from_the_document_is_btt_account(rpc: RpcHarness) -> None:
    alice, nobody = public(dev_seed("Alice")), bytes(range(32))
    rpc.author_block()
    read = read_account(await rpc.call("state_getStorage", account_key(alice)))
    told = await rpc.call("btt_account", "0x" + alice.hex())
    assert read["free"] > 0 and read["free"] == int(told["free"]) and read["reserved"] == int(told["reserved"])
    assert read["nonce"] == told["nonce"] and int(told["spendable"]) == read["free"] - int(told["frozen"])
    assert await rpc.call("state_getStorage", account_key(nobody)) is None


async def test_query_info_needs_no_signature_and_dry_run_answers_as_documented(rpc: RpcHarness) -> None:
    rpc.author_block()  # so that the genesis is not the head
    genesis, spec, tx = await chain_facts(rpc)
    alice, bob = dev_seed("Alice"), public(dev_seed("Bob"))
    nonce = await rpc.call("system_accountNextIndex", "0x" + public(alice).hex())
    signed = sign_transfer(alice, bob, 10**18, nonce, 0, genesis, spec, tx)
    info = await rpc.call("payment_queryInfo", "0x" + signed.hex())
    assert set(info) == {"weight", "class", "partialFee"} and info["class"] == "normal"
    assert set(info["weight"]) == {"refTime", "proofSize"} and int(info["partialFee"]) > 0
    # 64 zero bytes where the signature goes: the same length, the same fee
    prefix = next(n for n in (1, 2, 4) if compact(len(signed) - n) == signed[:n])
    body = signed[prefix:]  # 0x84 || 0x00 || signer (32) || 0x00 || signature (64) || ...
    unsigned = signed[:prefix] + body[:35] + bytes(64) + body[99:]
    assert await rpc.call("payment_queryInfo", "0x" + unsigned.hex()) == info
    head = await rpc.call("chain_getBlockHash")
    assert await rpc.call("payment_queryInfo", "0x" + signed.hex(), head) == info

    assert await rpc.call("system_dryRun", "0x" + signed.hex()) == "0x0000"
    assert await rpc.call("system_dryRun", "0x" + signed.hex(), head) == "0x0000"
    assert await rpc.call("system_dryRun", "0x" + unsigned.hex()) == "0x010004"  # bad signature: no fee
    dust = sign_transfer(alice, bytes([0x77]) * 32, 1, nonce, 0, genesis, spec, tx)  # below the deposit: fails
    failed = await rpc.call("system_dryRun", "0x" + dust.hex())
    assert failed.startswith("0x000103") and failed.endswith("000000") and len(failed) == 2 + 2 * 8
    # at an older block (here genesis, where alice's nonce is the same): its state, as Sidecar's dry run asks it
    assert await rpc.call("system_dryRun", "0x" + signed.hex(), "0x" + genesis.hex()) == "0x0000"
    await rpc.assert_raises_rpc_error(-32602, "unknown block", "system_dryRun", "0x" + signed.hex(), "0x" + "11" * 32)


async def test_an_era_lives_from_the_block_after_its_birth_to_birth_plus_period_minus_one(rpc: RpcHarness) -> None:
    genesis, spec, tx = await chain_facts(rpc)
    alice, bob = dev_seed("Alice"), public(dev_seed("Bob"))
    for _ in range(3):
        rpc.author_block()
    header = await rpc.call("chain_getHeader")
    birth, birth_hash = int(header["number"], 16), bytes.fromhex((await rpc.call("chain_getBlockHash"))[2:])
    nonce = await rpc.call("system_accountNextIndex", "0x" + public(alice).hex())
    first = sign_transfer(alice, bob, 10**18, nonce, 0, genesis, spec, tx, birth=birth, period=4,
                          birth_hash=birth_hash)
    second = sign_transfer(alice, bob, 10**18, nonce + 1, 0, genesis, spec, tx, birth=birth, period=4,
                           birth_hash=birth_hash)
    rpc.author_block()
    rpc.author_block()  # the head is birth + 2: the next block, birth + 3, is the era's last
    assert await rpc.call("system_dryRun", "0x" + first.hex()) == "0x0000"
    await rpc.call("author_submitExtrinsic", "0x" + first.hex())
    included = rpc.author_block()
    assert included.block.header.number == birth + 3
    assert h(first) in [x.hash() for x in included.block.extrinsics]
    # at birth + 4 the era's birth has moved on (to that very block): refused, and nothing is charged
    before = await rpc.call("btt_account", "0x" + public(alice).hex())
    assert await rpc.call("system_dryRun", "0x" + second.hex()) in ("0x010004", "0x010005")
    await rpc.assert_raises_rpc_error(1010, "", "author_submitExtrinsic", "0x" + second.hex())
    assert await rpc.call("btt_account", "0x" + public(alice).hex()) == before
