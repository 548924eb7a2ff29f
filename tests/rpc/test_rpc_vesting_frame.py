"""`Vesting.Vesting` as a node serves it (issue 53: Sidecar's vesting-info read it and found no such item), decoded with
scalecodec (the codec under substrate-interface) from the node's own metadata: FRAME's `VestingInfo` records whose
FRAME arithmetic at the block gives exactly btt's unlocked amount (`btt_vesting`), the rest exactly the `vesting `
lock of `Balances.Locks` and `frozen`, at the head, past the cliff and at an older block; a key that is no account's
key, or an account without schedules, has no value."""

from __future__ import annotations

from typing import Any

import pytest

from btt_chain.primitives.keys import dev_keypair
from btt_chain.rpc import runtime_info, virtual_storage
from runtime.balances.storage import locks_key
from runtime.overlay import Overlay
from runtime.specs import package_module
from runtime.system import storage as system
from runtime.vesting.frame_view import VESTING_PREFIX, vesting_key

from .harness import RpcHarness
from .test_rpc_frame_storage import Oracle, oracle

DAVE = dev_keypair("dave")


def hx(data: bytes) -> str:
    return "0x" + data.hex()


def records(meta: Oracle, raw: str | None) -> list[dict[str, Any]]:
    assert raw is not None
    value_type = meta.storage("Vesting", "Vesting")["type"]["Map"]["value"]
    return meta.decode(value_type, bytes.fromhex(raw[2:]))  # type: ignore[no-any-return]


def frame_vested(rows: list[dict[str, Any]], n: int) -> int:
    return sum(min(r["locked"], r["per_block"] * (n - r["starting_block"])) for r in rows if n > r["starting_block"])


async def assert_btts_figures(rpc: RpcHarness, meta: Oracle, at: str | None = None) -> list[dict[str, Any]]:
    """Dave's records at `at` (default the head) against btt's own figures at that block."""
    extra = [at] if at is not None else []
    block = at or hx(rpc.node.chain.head_hash)
    number = int((await rpc.call("chain_getHeader", block))["number"], 16)
    rows = records(meta, await rpc.call("state_getStorage", hx(vesting_key(DAVE.public)), *extra))
    btt = await rpc.call("btt_vesting", hx(DAVE.public), *extra)
    vested = frame_vested(rows, number)
    assert vested == int(btt["unlocked"]), (rows, btt)
    assert sum(r["locked"] for r in rows) - vested == int(btt["locked"])
    assert sum(r["locked"] for r in rows) == sum(int(s["total"]) for s in btt["schedules"])
    raw_locks = await rpc.call("state_getStorage", hx(locks_key(DAVE.public)), *extra)
    locks = [] if raw_locks is None else meta.decode(meta.storage("Balances", "Locks")["type"]["Map"]["value"],
                                                     bytes.fromhex(raw_locks[2:]))
    vesting_lock = [lock["amount"] for lock in locks if lock["id"] == hx(b"vesting ")]
    assert vesting_lock == ([int(btt["locked"])] if int(btt["locked"]) else []), (locks, btt)
    return rows


@pytest.mark.asyncio
async def test_the_metadata_declares_frames_item(rpc: RpcHarness) -> None:
    meta = await oracle(rpc)
    entry = meta.storage("Vesting", "Vesting")
    assert entry["modifier"] == "Optional"
    assert entry["type"]["Map"]["hashers"] == ["Blake2_128Concat"]
    assert meta.path(entry["type"]["Map"]["key"]) == "sp_core::crypto::AccountId32"
    vec = meta.types[entry["type"]["Map"]["value"]]
    assert "::".join(vec["path"]) == "bounded_collections::bounded_vec::BoundedVec"
    [item] = [p["type"] for p in vec["params"] if p["name"] == "T"]
    assert meta.path(item) == "pallet_vesting::vesting_info::VestingInfo"
    assert VESTING_PREFIX == bytes.fromhex(
        "5f27b51b5ec208ee9cb25b55d8728243" "5f27b51b5ec208ee9cb25b55d8728243")  # twox128("Vesting") twice


@pytest.mark.asyncio
async def test_records_give_btts_vested_and_locked_amounts_before_and_after_the_cliff(rpc: RpcHarness) -> None:
    meta = await oracle(rpc)
    genesis = hx(rpc.node.chain.head_hash)
    rpc.author_block()
    [before_cliff] = await assert_btts_figures(rpc, meta)  # dev: dave's cliff is minutes after genesis
    assert before_cliff["starting_block"] > rpc.node.chain.head.number
    schedule = (await rpc.call("btt_vesting", hx(DAVE.public)))["schedules"][0]
    rpc.author_at_time((schedule["cliff"] + schedule["end"]) // 2)
    done, rest = await assert_btts_figures(rpc, meta)
    head = rpc.node.chain.head.number
    assert done["starting_block"] == head - 1 and rest["starting_block"] == head
    rpc.author_at_time(schedule["end"] + 1)
    [all_vested] = await assert_btts_figures(rpc, meta)
    assert all_vested["locked"] == int(schedule["total"])
    await assert_btts_figures(rpc, meta, genesis)  # an older block: its own time's figures


@pytest.mark.asyncio
async def test_a_key_that_is_no_accounts_key_has_no_value(rpc: RpcHarness) -> None:
    key = vesting_key(DAVE.public)
    for bad in (key[:-1], key + b"\x00", key[:32] + b"\x00" * 16 + DAVE.public, VESTING_PREFIX,
                vesting_key(rpc.alice.public)):  # truncated, too long, a wrong hash, the bare prefix, no schedules
        assert await rpc.call("state_getStorage", hx(bad)) is None, bad.hex()
        assert await rpc.call("state_getStorageHash", hx(bad)) is None
    assert await rpc.call("state_getStorageSize", hx(key)) == len(bytes.fromhex(
        (await rpc.call("state_getStorage", hx(key)))[2:]))


@pytest.mark.asyncio
async def test_a_spec_14_block_has_no_such_item(rpc: RpcHarness) -> None:
    """The item came with spec 15: a block whose runtime is spec 14 neither lists it in its metadata nor serves a
    value under its key (an upgraded chain's older blocks stay as they were)."""
    chain = rpc.node.chain
    key = vesting_key(DAVE.public)
    state = Overlay(chain.db.state)
    assert system.spec_version.get(state) >= 15
    assert virtual_storage.read(chain, state, key, chain.head_hash) is not None
    system.spec_version.put(state, 14)
    assert virtual_storage.read(chain, state, key, chain.head_hash) is None
    assert [e.name for e in package_module(14, "runtime.storage_schema").entries_of("vesting")] == [
        "Schedules", "MonthSeconds", "YearSeconds"]
    meta = Oracle("0x" + runtime_info.metadata(state, rpc.node.spec.ss58_prefix).hex())
    assert "Vesting" not in [e["name"] for e in meta.pallets["Vesting"]["storage"]["entries"]]

