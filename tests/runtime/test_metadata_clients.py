"""The metadata as the clients use it: unchanged substrate-interface 1.8.1 against a fake node that serves only
the metadata (its RPC answered from memory), and @polkadot/types 16.5.6 under Node.js when it is installed.

substrate-interface composes and signs extrinsics from the metadata alone (call indices and argument types,
the signed extensions, the era type), builds storage keys from its hashers and decodes values by its types:
what it makes must be byte for byte what btt encodes, decodes and verifies.

The polkadot.js check uses the `@polkadot/types@16.5.6` that scripts/bootstrap-test-tools installs (pinned, `npm ci`) in
tests/substrate/js, or the directory `$BTT_PJS_CACHE`; the test itself never runs npm.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from scalecodec.base import ScaleBytes
from substrateinterface import Keypair, KeypairType, SubstrateInterface

from btt_chain.primitives.codec import U32, Struct
from btt_chain.primitives.extrinsic import Era, Extrinsic
from btt_chain.primitives.hashing import blake2b_256
from runtime import storage_schema
from runtime.metadata import build_metadata
from runtime.modules import RUNTIME
from tests.support.metadata_fixtures import CONSTANTS, TEST_ENTRIES, FrameAccountInfo, event_records

ALICE_SEED = bytes.fromhex("abf8e5bdbe30c65656c0a3cbd181ff8a56294a69dfedd27982aace4a76909115")
"""Substrate's //Alice ed25519 seed (its public key is 88dc3417...b0ee, as SUBSTRATE-WIRE.md's storage key)."""
ALICE_ACCOUNT_KEY = bytes.fromhex(
    "26aa394eea5630e07c48ae0c9558cef7b99d880ec681799c0cf30e8886371da9280b197190fc1a763257f65171ea366e"
    "88dc3417d5058ec4b4503e0c12ea1a0a89be200fe98922423d4334014fa6b0ee")
BOB = bytes.fromhex("d17c2d7823ebf260fd138f2d7e27d114c0145d968b5ff5006125f2414fadae69")
HEAD = 100
TX_VERSION = RUNTIME.transaction_version


def block_hash(n: int) -> str:
    return "0x" + blake2b_256(b"block %d" % n).hex()


class FakeNode:
    """Answers the RPC calls substrate-interface makes, from a metadata, a storage dict and a chain of 101 hashes."""

    def __init__(self, metadata: bytes, storage: dict[bytes, bytes]) -> None:
        self.metadata = metadata
        self.storage = storage
        self.hashes = [block_hash(n) for n in range(HEAD + 1)]
        self.calls: list[str] = []

    def rpc_request(self, method: str, params: list[Any], result_handler: Any = None) -> dict[str, Any]:
        self.calls.append(method)
        return {"jsonrpc": "2.0", "id": len(self.calls), "result": self.answer(method, params)}

    def header(self, hash_: str) -> dict[str, Any]:
        n = self.hashes.index(hash_)
        parent = self.hashes[n - 1] if n else "0x" + "00" * 32
        return {"parentHash": parent, "number": hex(n), "stateRoot": "0x" + "11" * 32,
                "extrinsicsRoot": "0x" + "22" * 32, "digest": {"logs": []}}

    def answer(self, method: str, params: list[Any]) -> Any:
        if method in ("chain_getHead", "chain_getFinalizedHead", "chain_getFinalisedHead"):
            return self.hashes[HEAD]
        if method == "chain_getBlockHash":
            return self.hashes[HEAD if not params or params[0] is None else params[0]]
        if method == "chain_getHeader":
            return self.header(params[0] if params and params[0] else self.hashes[HEAD])
        if method in ("state_getRuntimeVersion", "chain_getRuntimeVersion"):
            return {"specName": "btt", "implName": "btt-chain", "authoringVersion": 0,
                    "specVersion": RUNTIME.spec_version, "implVersion": 0, "apis": [],
                    "transactionVersion": TX_VERSION, "stateVersion": 1}
        if method == "state_getMetadata":
            return "0x" + self.metadata.hex()
        if method == "state_getStorage":
            value = self.storage.get(bytes.fromhex(params[0][2:]))
            return None if value is None else "0x" + value.hex()
        if method == "rpc_methods":
            return {"methods": ["state_getMetadata", "state_getStorage", "state_getRuntimeVersion", "chain_getHeader",
                                "chain_getBlockHash", "chain_getFinalizedHead"]}
        if method == "system_properties":
            return {"ss58Format": 42, "tokenDecimals": 18, "tokenSymbol": "BTT"}
        if method == "system_chain":
            return "btt dev"
        raise AssertionError(f"unexpected RPC call {method} {params}")


@pytest.fixture(scope="module")
def metadata() -> bytes:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(storage_schema, "ENTRIES", list(TEST_ENTRIES))
        return build_metadata(RUNTIME, CONSTANTS)


@pytest.fixture(scope="module")
def alice_info() -> Struct:
    return FrameAccountInfo(nonce=7, providers=1, free=5 * 10**18, frozen=10**18)


@pytest.fixture(scope="module")
def node(metadata: bytes, alice_info: Struct) -> FakeNode:
    return FakeNode(metadata, {ALICE_ACCOUNT_KEY: alice_info.encode()})


class FakeNodeClient(SubstrateInterface):  # type: ignore[misc]
    """substrate-interface with every RPC answered by a FakeNode (its URL is never contacted)."""

    def __init__(self, node: FakeNode) -> None:
        self.node = node
        super().__init__(url="http://127.0.0.1:1")

    def rpc_request(self, method: str, params: list[Any], result_handler: Any = None) -> dict[str, Any]:
        return self.node.rpc_request(method, params, result_handler)


@pytest.fixture(scope="module")
def substrate(node: FakeNode) -> SubstrateInterface:
    client = FakeNodeClient(node)
    client.init_runtime()
    return client


@pytest.fixture(scope="module")
def alice() -> Keypair:
    return Keypair.create_from_seed("0x" + ALICE_SEED.hex(), crypto_type=KeypairType.ED25519)


def test_runtime_initialises_from_the_metadata(substrate: SubstrateInterface, node: FakeNode) -> None:
    assert "state_getMetadata" in node.calls
    assert substrate.ss58_format == 42
    assert substrate.config["is_weight_v2"] is True
    assert substrate.get_constant("Balances", "ExistentialDeposit").value == 10**15
    assert substrate.get_constant("System", "BlockHashCount").value == 2400


def test_composed_call_is_btts_call(substrate: SubstrateInterface) -> None:
    value = 12_500_000_000_000_000_000
    call = substrate.compose_call("Balances", "transfer_keep_alive", {"dest": "0x" + BOB.hex(), "value": value})
    ours = RUNTIME.call("balances.transfer_keep_alive", BOB, value).encode()
    assert bytes(call.data.data) == ours
    assert ours.hex() == "010100" + BOB.hex() + "13000062acc5eb78ad"  # as SUBSTRATE-WIRE.md observed it


def test_composed_calls_of_every_argument_kind(substrate: SubstrateInterface) -> None:
    call = substrate.compose_call("System", "remark", {"data": "0x0102"})
    assert bytes(call.data.data) == RUNTIME.call("system.remark", b"\x01\x02").encode()
    inner = RUNTIME.call("balances.burn", 5, True)
    burn = substrate.compose_call("Balances", "burn", {"value": 5, "keep_alive": True})
    assert bytes(burn.data.data) == inner.encode()


@pytest.mark.parametrize("era", [None, {"period": 64}])
def test_signed_extrinsic_decodes_and_verifies_in_btt(
    substrate: SubstrateInterface, node: FakeNode, alice: Keypair, era: dict[str, int] | None
) -> None:
    value = 10**18
    call = substrate.compose_call("Balances", "transfer_keep_alive", {"dest": "0x" + BOB.hex(), "value": value})
    xt = substrate.create_signed_extrinsic(call, alice, era=dict(era) if era else None, nonce=7, tip=3)
    ours = Extrinsic.decode(bytes(xt.data.data))
    assert ours.signer == alice.public_key
    assert (ours.nonce, ours.tip) == (7, 3)
    assert ours.call == RUNTIME.call("balances.transfer_keep_alive", BOB, value)
    genesis = bytes.fromhex(node.hashes[0][2:])
    if era is None:
        assert ours.era == Era(0, 0)
        birth = genesis
    else:
        assert ours.era.period == 64
        birth_number = (HEAD - ours.era.phase) // 64 * 64 + ours.era.phase
        birth = bytes.fromhex(node.hashes[birth_number][2:])
    assert ours.verify_signature(genesis, birth, RUNTIME.spec_version)


def test_storage_key_and_value(substrate: SubstrateInterface, alice: Keypair, alice_info: Struct) -> None:
    key = substrate.create_storage_key("System", "Account", [alice.ss58_address])
    assert bytes.fromhex(key.to_hex()[2:]) == ALICE_ACCOUNT_KEY
    info = substrate.query("System", "Account", [alice.ss58_address]).value
    assert info == {"nonce": 7, "consumers": 0, "providers": 1, "sufficients": 0,
                    "data": {"free": 5 * 10**18, "reserved": 0, "frozen": 10**18, "flags": 1 << 127}}
    assert substrate.query("System", "Number").value == 0  # not stored: the entry's default
    assert alice_info.encode()[:4] == U32.encode_scale(7)


def test_events_decode_as_substrate_interface_reads_them(substrate: SubstrateInterface) -> None:
    data, names = event_records()
    config = substrate.runtime_config
    records = config.create_scale_object("Vec<frame_system::eventrecord>", metadata=substrate.metadata)
    value = records.decode(ScaleBytes(data))
    assert [(r["module_id"], r["event_id"]) for r in value] == names


def test_digest_logs_decode_with_the_registry_type(substrate: SubstrateInterface) -> None:
    """`get_block` decodes each header log with the type `sp_runtime::generic::digest::DigestItem`."""
    item = substrate.runtime_config.create_scale_object("sp_runtime::generic::digest::DigestItem")
    engine, data = item.decode(ScaleBytes(b"\x06pow_\x80" + b"\xee" * 32))["PreRuntime"]
    assert (engine, data) == ("0x706f775f", "0x" + "ee" * 32)  # scalecodec shows bytes that are not UTF-8 as hex
    seal = substrate.runtime_config.create_scale_object("sp_runtime::generic::digest::DigestItem")
    assert list(seal.decode(ScaleBytes(b"\x05btt0\x04\xff"))) == ["Seal"]


# --- @polkadot/types ----------------------------------------------------------------------------------------------

PJS_CACHE = Path(os.environ.get("BTT_PJS_CACHE", Path(__file__).parents[1] / "substrate" / "js"))
"""Where @polkadot/types 16.5.6 is installed: tests/substrate/js, which scripts/bootstrap-test-tools fills (npm ci)."""
PJS_SCRIPT = Path(__file__).with_name("metadata_pjs_check.cjs")


def _pjs_available() -> bool:
    package = PJS_CACHE / "node_modules" / "@polkadot" / "types" / "package.json"
    if shutil.which("node") is None or not package.exists():
        return False
    return bool(json.loads(package.read_text())["version"] == "16.5.6")


@pytest.mark.skipif(not _pjs_available(), reason=f"node or @polkadot/types@16.5.6 not installed in {PJS_CACHE}")
def test_polkadot_types_reads_the_metadata(metadata: bytes, tmp_path: Path, alice: Keypair,
                                           substrate: SubstrateInterface) -> None:
    (tmp_path / "metadata.bin").write_bytes(metadata)
    call = RUNTIME.call("balances.transfer_keep_alive", BOB, 12_500_000_000_000_000_000).encode()
    composed = substrate.compose_call("Balances", "transfer_keep_alive", {"dest": "0x" + BOB.hex(), "value": 1})
    xt = substrate.create_signed_extrinsic(composed, alice, era={"period": 64}, nonce=1)
    events, _ = event_records()
    out = subprocess.run(
        ["node", str(PJS_SCRIPT), str(PJS_CACHE), str(tmp_path / "metadata.bin"), "0x" + call.hex(),
         "0x" + bytes(xt.data.data).hex(), "0x" + events.hex(), "0x" + alice.public_key.hex()],
        capture_output=True, text=True, timeout=120, check=True)
    report = json.loads(out.stdout)
    assert report["warnings"] == [], report["warnings"]
    assert report["version"] == 14
    assert [p["name"] for p in report["pallets"]][:2] == ["System", "Balances"]
    assert report["signedExtensions"] == [
        "CheckNonZeroSender", "CheckSpecVersion", "CheckTxVersion", "CheckGenesis", "CheckMortality", "CheckNonce",
        "CheckWeight", "ChargeTransactionPayment"]
    assert report["call"]["section"] == "balances" and report["call"]["method"] == "transferKeepAlive"
    assert report["call"]["hex"] == "0x" + call.hex()
    assert report["extrinsic"]["isSigned"] and report["extrinsic"]["method"]["section"] == "balances"
    assert report["extrinsic"]["era"] == {"MortalEra": {"period": "64", "phase": str(HEAD % 64)}}
    assert report["extrinsic"]["hex"] == "0x" + bytes(xt.data.data).hex()
    assert [(e["section"], e["method"]) for e in report["events"]] == [
        ("balances", "Transfer"), ("transactionPayment", "TransactionFeePaid"), ("system", "ExtrinsicSuccess"),
        ("system", "ExtrinsicFailed"), ("fees", "FeesDistributed")]
    assert report["moduleError"] == {"section": "balances", "name": "KeepAlive"}
    assert report["accountInfo"]["data"]["frozen"] == "0"
    assert report["consts"] == {"ss58Prefix": 42, "blockHashCount": 2400, "existentialDeposit": str(10**15)}
    assert report["accountKey"] == "0x" + ALICE_ACCOUNT_KEY.hex()
    assert report["tx"] == "0x" + RUNTIME.call("balances.transfer_keep_alive", alice.public_key, 5).encode().hex()
