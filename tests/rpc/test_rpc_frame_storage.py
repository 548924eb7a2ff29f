"""FRAME's constants, `:code`, `Balances.Locks` and account-typed keys as a node serves them, read with scalecodec (the
codec under substrate-interface) as an oracle: every figure is the one the chain enforces at that block, and every
place a figure appears says the same (System.Version is Core_version's bytes, `:code` follows the metadata, the
locks' largest is the `frozen` the runtime checks spendable balance against)."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from scalecodec.base import RuntimeConfigurationObject, ScaleBytes
from scalecodec.type_registry import load_type_registry_preset

from btt_chain.primitives.keys import dev_keypair
from btt_chain.rpc import runtime_info
from runtime.balances.locks import UNSOURCED_LOCK_ID, context_at, get_current_account, lock_breakdown
from runtime.balances.storage import locks_key
from runtime.governance import storage as governance
from runtime.governance.types import VoteLock
from runtime.metadata.frame_constants import OPERATIONAL_FEE_MULTIPLIER
from runtime.modules import RUNTIME
from runtime.overlay import Overlay
from runtime.params.storage import get_param
from runtime.params.storage import value as param_value
from runtime.system import storage as system
from runtime.system.logic import BLOCK_HASH_COUNT
from runtime.treasury.logic import module_id
from runtime.treasury.types import STRATEGIC_RESERVE

from .harness import RpcHarness

DAVE = dev_keypair("dave")
CODE = "0x3a636f6465"


def hx(data: bytes) -> str:
    return "0x" + data.hex()


class Oracle:
    """The node's metadata decoded by scalecodec."""

    def __init__(self, metadata_hex: str) -> None:
        self.rc = RuntimeConfigurationObject()
        self.rc.update_type_registry(load_type_registry_preset("core"))
        self.obj = self.rc.create_scale_object("MetadataVersioned", data=ScaleBytes(metadata_hex))
        self.obj.decode()
        self.rc.add_portable_registry(self.obj)
        v14 = self.obj.value[1]["V14"]
        self.types = {t["id"]: t["type"] for t in v14["types"]["types"]}
        self.pallets = {p["name"]: p for p in v14["pallets"]}

    def constant(self, pallet: str, name: str) -> tuple[Any, bytes]:
        [c] = [c for c in self.obj.get_metadata_pallet(pallet).constants if c.name == name]
        raw = bytes(c.constant_value)
        return self.rc.create_scale_object(c.type, data=ScaleBytes(raw), metadata=self.obj).decode(), raw

    def storage(self, pallet: str, name: str) -> dict[str, Any]:
        [entry] = [e for e in self.pallets[pallet]["storage"]["entries"] if e["name"] == name]
        return entry  # type: ignore[no-any-return]

    def path(self, type_id: int) -> str:
        return "::".join(self.types[type_id]["path"])

    def decode(self, type_id: int, raw: bytes) -> Any:
        type_string = self.rc.get_decoder_class(f"scale_info::{type_id}")
        return type_string(ScaleBytes(raw), metadata=self.obj, runtime_config=self.rc).decode()


async def oracle(rpc: RpcHarness, at: list[str] | None = None) -> Oracle:
    return Oracle(await rpc.call("state_getMetadata", *(at or [])))


@pytest.mark.asyncio
async def test_system_version_is_the_runtime_version(rpc: RpcHarness) -> None:
    meta = await oracle(rpc)
    version, raw = meta.constant("System", "Version")
    assert hx(raw) == await rpc.call("state_call", "Core_version", "0x")
    rpc_version = await rpc.call("state_getRuntimeVersion")
    assert version["spec_version"] == rpc_version["specVersion"] == RUNTIME.spec_version
    assert version["transaction_version"] == rpc_version["transactionVersion"]
    assert version["spec_name"] == rpc_version["specName"]
    assert [[api[0], api[1]] for api in version["apis"]] == rpc_version["apis"]
    [constant] = [c for c in meta.pallets["System"]["constants"] if c["name"] == "Version"]
    assert meta.path(constant["type"]) == "sp_version::RuntimeVersion"


@pytest.mark.asyncio
async def test_block_limits_are_the_chains_parameters(rpc: RpcHarness) -> None:
    meta = await oracle(rpc)
    state = rpc.node.chain.state()
    weights, _ = meta.constant("System", "BlockWeights")
    max_weight = get_param(state, "block.max_weight")
    assert weights["max_block"] == {"ref_time": max_weight, "proof_size": 2**64 - 1}
    assert weights["base_block"] == {"ref_time": 0, "proof_size": 0}
    for cls in ("normal", "operational"):
        assert weights["per_class"][cls]["max_total"] == weights["max_block"]
        assert weights["per_class"][cls]["max_extrinsic"] is None
    assert weights["per_class"]["mandatory"]["max_total"] is None  # the timestamp inherent: never refused
    length, _ = meta.constant("System", "BlockLength")
    assert set(length["max"].values()) == {get_param(state, "block.max_bytes")}
    assert meta.constant("System", "DbWeight")[0] == {"read": 0, "write": 0}
    assert meta.constant("System", "BlockHashCount")[0] == BLOCK_HASH_COUNT
    assert meta.constant("TransactionPayment", "OperationalFeeMultiplier")[0] == OPERATIONAL_FEE_MULTIPLIER
    assert meta.constant("Balances", "ExistentialDeposit")[0] == get_param(state, "balances.existential_deposit")


@pytest.mark.asyncio
async def test_code_describes_the_runtime_and_changes_with_its_metadata(rpc: RpcHarness) -> None:
    code = bytes.fromhex((await rpc.call("state_getStorage", CODE))[2:])
    metadata = bytes.fromhex((await rpc.call("state_getMetadata"))[2:])
    version = bytes.fromhex((await rpc.call("state_call", "Core_version", "0x"))[2:])
    assert code == version + hashlib.blake2b(metadata, digest_size=32).digest()
    assert await rpc.call("state_getStorageHash", CODE) == hx(hashlib.blake2b(code, digest_size=32).digest())
    assert await rpc.call("state_getStorageSize", CODE) == len(code)
    assert await rpc.call("state_queryStorageAt", [CODE]) == [
        {"block": hx(rpc.node.chain.head_hash), "changes": [[CODE, hx(code)]]}]
    rpc.author_block()
    genesis = hx(rpc.node.chain.genesis_hash)
    assert await rpc.call("state_getStorage", CODE, genesis) == await rpc.call("state_getStorage", CODE) == hx(code)
    # a published figure changed by governance is a new runtime to a client: new metadata, new `:code`
    state = Overlay(rpc.node.chain.db.state)
    prefix = rpc.node.spec.ss58_prefix
    assert runtime_info.code(state, prefix) == code
    param_value.put(state, "block.max_weight", get_param(state, "block.max_weight") + 1)
    changed = runtime_info.code(state, prefix)
    assert changed != code and changed[:len(version)] == version
    assert runtime_info.metadata(state, prefix) != metadata


def _locks(meta: Oracle, raw: str | None) -> list[dict[str, Any]]:
    if raw is None:
        return []
    entry = meta.storage("Balances", "Locks")
    value_type = entry["type"]["Map"]["value"]
    assert meta.path(value_type) == "bounded_collections::weak_bounded_vec::WeakBoundedVec"
    return meta.decode(value_type, bytes.fromhex(raw[2:]))  # type: ignore[no-any-return]


@pytest.mark.asyncio
async def test_balances_locks_are_the_lock_sources(rpc: RpcHarness) -> None:
    meta = await oracle(rpc)
    vesting = await rpc.call("btt_vesting", hx(DAVE.public))
    dave = _locks(meta, await rpc.call("state_getStorage", hx(locks_key(DAVE.public))))
    assert dave == [{"id": "0x" + b"vesting ".hex(), "amount": int(vesting["locked"]), "reasons": "All"}]
    assert (await rpc.call("btt_account", hx(DAVE.public)))["frozen"] == vesting["locked"]
    reserve = module_id(STRATEGIC_RESERVE)  # frozen at genesis, no lock source knows it: one lock
    frozen = system.account.get(rpc.node.chain.state(), reserve).frozen
    assert frozen > 0
    assert _locks(meta, await rpc.call("state_getStorage", hx(locks_key(reserve)))) == [
        {"id": "0x" + UNSOURCED_LOCK_ID.hex(), "amount": frozen, "reasons": "All"}]
    assert await rpc.call("state_getStorage", hx(locks_key(rpc.alice.public))) is None  # no lock: no value
    broken = locks_key(DAVE.public)[:-1] + b"\x00"  # not the account's key (its hash does not match)
    assert await rpc.call("state_getStorage", hx(broken)) is None
    genesis = hx(rpc.node.chain.genesis_hash)
    assert await rpc.call("state_getStorage", hx(locks_key(DAVE.public)), genesis) is not None
    freezes = meta.storage("Balances", "Freezes")
    assert freezes["modifier"] == "Default" and freezes["default"] == "\x00"  # empty, never stored (scalecodec
    # renders the default's bytes as text)


@pytest.mark.asyncio
async def test_lock_breakdown_is_what_frozen_is_made_of(rpc: RpcHarness) -> None:
    """Each source's lock; the largest is the `frozen` every transaction is checked against."""
    state = Overlay(rpc.node.chain.db.state)
    now = system.timestamp_ms.get(state)
    schedules_locked = lock_breakdown(context_at(state, now, RUNTIME), DAVE.public)[0][1]
    governance.locks.put(state, DAVE.public, VoteLock(schedules_locked * 2, now + 10**6))
    ctx = context_at(state, now, RUNTIME)
    locks = lock_breakdown(ctx, DAVE.public)
    assert locks == ((b"vesting ", schedules_locked), (b"pyconvot", schedules_locked * 2))
    assert max(amount for _, amount in locks) == get_current_account(ctx, DAVE.public).frozen
    later = context_at(state, now + 10**6, RUNTIME)  # the vote lock has ended: it no longer shows
    assert [identifier for identifier, _ in lock_breakdown(later, DAVE.public)] == [b"vesting "]


@pytest.mark.asyncio
async def test_account_keyed_maps_are_typed_account_id32(rpc: RpcHarness) -> None:
    meta = await oracle(rpc)
    assert meta.path(meta.storage("Vesting", "Schedules")["type"]["Map"]["key"]) == "sp_core::crypto::AccountId32"
    assert meta.path(meta.storage("Balances", "Locks")["type"]["Map"]["key"]) == "sp_core::crypto::AccountId32"
    pending = meta.storage("Multisig", "Pending")["type"]["Map"]
    parts = meta.types[pending["key"]]["def"]["tuple"]
    assert [meta.path(t) for t in parts] == ["sp_core::crypto::AccountId32", "primitive_types::H256"]
    assert pending["hashers"] == ["Identity", "Identity"]
    for pallet in meta.pallets.values():  # no map keyed by an account is left typed as a hash
        for entry in (pallet["storage"] or {"entries": []})["entries"]:
            if "Map" in entry["type"] and meta.path(entry["type"]["Map"]["key"]) == "primitive_types::H256":
                assert (pallet["name"], entry["name"]) in {("Consensus", "Reveals"), ("Compute", "Models"),
                                                           ("Incentives", "Evidence"), ("Session", "KeyOwner")}, \
                    entry["name"]  # keyed by session keys, model hashes and evidence hashes: no accounts
    # the key a client builds from an SS58 address is the one the state holds
    obj = meta.rc.create_scale_object("scale_info::" + str(meta.storage("Vesting", "Schedules")["type"]["Map"]["key"]))
    address = (await rpc.call("btt_vesting", hx(DAVE.public)))["address"]
    key_part = bytes(obj.encode(address).data)
    from runtime.vesting import storage as vesting

    assert vesting.schedules.prefix + key_part == vesting.schedules.key(DAVE.public)
    raw = await rpc.call("state_getStorage", hx(vesting.schedules.prefix + key_part))
    assert raw is not None and raw == hx(rpc.node.chain.db.state.get(vesting.schedules.key(DAVE.public)))


@pytest.mark.asyncio
async def test_locks_follow_a_storage_subscription(rpc: RpcHarness) -> None:
    import json

    key = hx(locks_key(DAVE.public))
    async with rpc.session.ws_connect(rpc.url) as ws:
        await ws.send_json({"jsonrpc": "2.0", "id": 1, "method": "state_subscribeStorage", "params": [[key, CODE]]})
        assert "result" in json.loads((await ws.receive(timeout=30)).data)
        note = json.loads((await ws.receive(timeout=30)).data)
        changes = dict(note["params"]["result"]["changes"])
        assert changes[key] == await rpc.call("state_getStorage", key)
        assert changes[CODE] == await rpc.call("state_getStorage", CODE)


@pytest.mark.asyncio
async def test_genesis_hash_is_at_system_block_hash_zero_from_genesis_on(rpc: RpcHarness) -> None:
    """polkadot-api reads the genesis hash at `System.BlockHash(0)`: the state holds it from block 1 on, and the node
    serves it at genesis too (a state cannot hold its own block's hash)."""
    key = hx(system.block_hash.key(0))
    genesis = hx(rpc.node.chain.genesis_hash)
    assert rpc.node.chain.db.state.get(system.block_hash.key(0)) is None  # the genesis state does not hold it
    assert await rpc.call("state_getStorage", key) == genesis
    rpc.author_block()
    assert await rpc.call("state_getStorage", key) == genesis  # now from the state
    assert await rpc.call("state_getStorage", key, genesis) == genesis
    assert await rpc.call("state_getStorage", hx(system.block_hash.key(5))) is None
