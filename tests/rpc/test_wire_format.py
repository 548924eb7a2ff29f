"""docs/wire-format.md is what the code does: its test vectors are regenerated from the code, and a transfer
signed with nothing but pynacl and hashlib, following the document alone, is included by a node."""

from __future__ import annotations

import hashlib
from pathlib import Path

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


def compact(n: int) -> bytes:
    if n < 1 << 6:
        return bytes([n << 2])
    if n < 1 << 14:
        return (n << 2 | 1).to_bytes(2, "little")
    if n < 1 << 30:
        return (n << 2 | 2).to_bytes(4, "little")
    size = (n.bit_length() + 7) // 8
    return bytes([(size - 4) << 2 | 3]) + n.to_bytes(size, "little")


def era_bytes(period: int, current: int) -> bytes:
    if period == 0:
        return b"\x00"
    phase = current % period
    tz = (period & -period).bit_length() - 1
    return (min(15, max(1, tz - 1)) | phase << 4).to_bytes(2, "little")


def sign_transfer(seed: bytes, dest: bytes, amount: int, nonce: int, tip: int, genesis: bytes, spec_version: int,
                  tx_version: int = 1, birth: int = 0, period: int = 0, birth_hash: bytes | None = None) -> bytes:
    key = nacl.signing.SigningKey(seed)
    call = bytes([1, 0]) + b"\x00" + dest + compact(amount)
    extra = era_bytes(period, birth) + compact(nonce) + compact(tip)
    payload = (call + extra + spec_version.to_bytes(4, "little") + tx_version.to_bytes(4, "little") + genesis
               + (birth_hash or genesis))
    signature = key.sign(payload if len(payload) <= 256 else h(payload)).signature
    body = b"\x84\x00" + bytes(key.verify_key) + b"\x00" + signature + extra + call
    return compact(len(body)) + body


def test_the_document_only_signer_reproduces_the_vectors() -> None:
    lines = {line[:23].strip(): line[23:].strip() for line in vectors()}
    encoded = sign_transfer(bytes(range(1, 33)), bytes([0xAB]) * 32, 12_500_000_000_000_000_000, 7, 1000,
                            bytes([0x11]) * 32, 5, 1, birth=100, period=64, birth_hash=bytes([0x22]) * 32)
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
    version = await rpc.call("state_getRuntimeVersion")
    spec_version, tx_version = version["specVersion"], version.get("transactionVersion", 1)
    nonce = await rpc.call("system_accountNextIndex", alice)
    before = int((await rpc.call("btt_account", "0x" + bob.hex()))["free"])
    encoded = sign_transfer(alice_seed, bob, 3 * 10**18, nonce, 0, genesis, spec_version, tx_version)
    xt_hash = await rpc.call("author_submitExtrinsic", "0x" + encoded.hex())
    assert xt_hash == "0x" + h(encoded).hex()
    rpc.author_block()
    status = await rpc.call("btt_extrinsicStatus", xt_hash)
    assert status["status"] == "included" and status["success"] is True
    assert int((await rpc.call("btt_account", "0x" + bob.hex()))["free"]) == before + 3 * 10**18
