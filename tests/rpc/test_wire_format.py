"""docs/wire-format.md is what the code does: its test vectors are regenerated from the code, and a transfer
signed with nothing but msgpack, pynacl and hashlib, following the document alone, is included by a node."""

from __future__ import annotations

import hashlib
from pathlib import Path

import msgpack
import nacl.signing
import pytest

from scripts.wire_vectors import vectors

from .harness import RpcHarness

DOC = Path(__file__).parents[2] / "docs" / "wire-format.md"


def test_the_documents_vectors_are_the_codes() -> None:
    text = DOC.read_text()
    block = text.split("<!-- vectors:begin -->\n```\n", 1)[1].split("\n```\n<!-- vectors:end -->", 1)[0]
    assert block.splitlines() == vectors(), "regenerate with: .venv/bin/python scripts/wire_vectors.py"


# --- a signer that knows only the document ------------------------------------------------------------------


def h(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=32).digest()


def u128(value: int) -> bytes:
    return value.to_bytes(16, "big")


def sign_transfer(seed: bytes, dest: bytes, amount: int, nonce: int, tip: int, genesis: bytes, spec_version: int,
                  birth: int = 0, period: int = 0, birth_hash: bytes | None = None) -> bytes:
    key = nacl.signing.SigningKey(seed)
    call = [1, 0, [dest, u128(amount)]]
    era = [birth, period]
    payload = msgpack.packb(["btt-extrinsic", call, nonce, u128(tip), era, genesis, birth_hash or genesis,
                             spec_version], use_bin_type=True)
    signature = key.sign(h(payload)).signature
    return msgpack.packb([bytes(key.verify_key), nonce, u128(tip), era, call, signature], use_bin_type=True)


def test_the_document_only_signer_reproduces_the_vectors() -> None:
    lines = {line[:23].strip(): line[23:].strip() for line in vectors()}
    encoded = sign_transfer(bytes(range(1, 33)), bytes([0xAB]) * 32, 12_500_000_000_000_000_000, 7, 1000,
                            bytes([0x11]) * 32, 5, birth=100, period=64, birth_hash=bytes([0x22]) * 32)
    assert encoded.hex() == lines["encoded extrinsic"]
    assert h(encoded).hex() == lines["extrinsic hash"]


@pytest.mark.asyncio
async def test_a_transfer_signed_from_the_document_alone_is_included(rpc: RpcHarness) -> None:
    root = hashlib.pbkdf2_hmac("sha512", bytes.fromhex("1a486a5fbe53639984cb64b070755f7b"), b"mnemonic", 2048)[:32]

    def junction(seed: bytes, name: str) -> bytes:
        code = (bytes([len(name) << 2]) + name.encode()).ljust(32, b"\0")
        return h(bytes([len(b"Ed25519HDKD") << 2]) + b"Ed25519HDKD" + seed + code)

    alice_seed = junction(root, "Alice")
    bob = bytes(nacl.signing.SigningKey(junction(root, "Bob")).verify_key)
    assert bytes(nacl.signing.SigningKey(alice_seed).verify_key).hex().startswith("88dc3417")
    alice = "0x" + bytes(nacl.signing.SigningKey(alice_seed).verify_key).hex()
    genesis = bytes.fromhex((await rpc.call("chain_getBlockHash", 0))[2:])
    spec_version = (await rpc.call("state_getRuntimeVersion"))["specVersion"]
    nonce = await rpc.call("system_accountNextIndex", alice)
    before = int((await rpc.call("btt_account", "0x" + bob.hex()))["free"])
    encoded = sign_transfer(alice_seed, bob, 3 * 10**18, nonce, 0, genesis, spec_version)
    xt_hash = await rpc.call("author_submitExtrinsic", "0x" + encoded.hex())
    assert xt_hash == "0x" + h(encoded).hex()
    rpc.author_block()
    status = await rpc.call("btt_extrinsicStatus", xt_hash)
    assert status["status"] == "included" and status["success"] is True
    assert int((await rpc.call("btt_account", "0x" + bob.hex()))["free"]) == before + 3 * 10**18
