"""RPC: state at past blocks (issue 15). `state_*` and the account-style `btt_*` queries take a block hash and
answer with that block's values while it is within the `--state-pruning` window; a pruned, non-canonical or
unknown block gets a clear error, and an archive node serves every canonical block. A real chain's journals are
checked against a replay of its blocks into a memory store."""

from __future__ import annotations

import dataclasses
import logging
import random

import msgpack
import pytest

from btt_chain.primitives.keys import Keypair, dev_keypair
from runtime.overlay import DictState
from runtime.system import storage as system
from storage import schema
from storage.history import HistoricalState
from storage.smt import SmtProof, verify_proof

from .harness import UNIT, RpcHarness

log = logging.getLogger(__name__)
BOB = dev_keypair("bob")
INVALID_PARAMS = -32602


def hx(b: bytes) -> str:
    return "0x" + b.hex()


def set_pruning(rpc: RpcHarness, keep: int | None) -> None:
    rpc.node.config = dataclasses.replace(rpc.node.config, state_pruning=keep)


@pytest.mark.asyncio
async def test_balances_before_and_after_a_transfer(rpc: RpcHarness) -> None:
    log.info("a transfer of 7 BTT from alice to bob in block #1")
    before_hash = rpc.node.chain.head_hash
    bob_before = await rpc.call("btt_account", hx(BOB.public))
    await rpc.submit_in_block(rpc.alice, "balances.transfer_allow_death", BOB.public, 7 * UNIT)
    after_hash = rpc.node.chain.head_hash
    for _ in range(3):
        rpc.author_block()
    bob_now = await rpc.call("btt_account", hx(BOB.public))
    assert int(bob_now["free"]) == int(bob_before["free"]) + 7 * UNIT

    log.info("btt_account and state_getStorage at each block give that block's values")
    assert await rpc.call("btt_account", hx(BOB.public), hx(before_hash)) == bob_before
    assert await rpc.call("btt_account", hx(BOB.public), hx(after_hash)) == bob_now
    key = hx(system.account.key(BOB.public))
    old = await rpc.call("state_getStorage", key, hx(before_hash))
    new = await rpc.call("state_getStorage", key, hx(after_hash))
    assert old != new and new == await rpc.call("state_getStorage", key)
    alice_nonce_key = system.account.key(rpc.alice.public)
    assert await rpc.call("state_getStorage", hx(alice_nonce_key), hx(before_hash)) != await rpc.call(
        "state_getStorage", hx(alice_nonce_key))

    log.info("a key created after the block is absent at it")
    fresh = Keypair.generate().public
    mid_hash = rpc.node.chain.head_hash
    await rpc.submit_in_block(rpc.alice, "balances.transfer_allow_death", fresh, 2 * UNIT)
    assert await rpc.call("state_getStorage", hx(system.account.key(fresh)), hx(mid_hash)) is None
    assert await rpc.call("state_getStorage", hx(system.account.key(fresh))) is not None
    assert (await rpc.call("btt_account", hx(fresh), hx(mid_hash)))["free"] == "0"

    log.info("the runtime version at the head's parent (what substrate-interface asks first)")
    parent = hx(rpc.node.chain.head.parent_hash)
    assert await rpc.call("state_getRuntimeVersion", parent) == await rpc.call("state_getRuntimeVersion")
    assert await rpc.call("state_getMetadata", parent) == await rpc.call("state_getMetadata")


@pytest.mark.asyncio
async def test_read_proof_at_a_past_block_checks_against_its_root(rpc: RpcHarness) -> None:
    past = rpc.node.chain.head_hash
    past_root = rpc.node.chain.head.state_root
    key = system.account.key(BOB.public)
    await rpc.submit_in_block(rpc.alice, "balances.transfer_allow_death", BOB.public, UNIT)
    result = await rpc.call("state_getReadProof", [hx(key)], hx(past))
    assert result["at"] == hx(past) and result["stateRoot"] == hx(past_root)
    (entry,) = result["proof"]
    assert entry["value"] == await rpc.call("state_getStorage", hx(key), hx(past))
    proof = SmtProof.from_wire(msgpack.unpackb(bytes.fromhex(entry["proof"][2:])))
    assert verify_proof(past_root, key, bytes.fromhex(entry["value"][2:]), proof)
    assert rpc.node.chain.tree.root == rpc.node.chain.head.state_root, "the tree was set back only for the call"
    head = await rpc.call("state_getReadProof", [hx(key)])
    assert head["stateRoot"] == hx(rpc.node.chain.head.state_root)


@pytest.mark.asyncio
async def test_a_proof_further_back_than_the_rewind_bound_is_refused(
    rpc: RpcHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Setting the tree back costs what the keys changed since cost: past the bound the call is refused with the
    count, and costs nothing more; within it, it is served."""
    import btt_chain.rpc.methods as methods

    past = rpc.node.chain.head_hash
    await rpc.submit_in_block(rpc.alice, "balances.transfer_allow_death", BOB.public, UNIT)
    changed = len(rpc.node.chain.db.undo(rpc.node.chain.head_hash))
    monkeypatch.setattr(methods, "PROOF_REWIND_KEYS", changed - 1)
    key = hx(system.account.key(BOB.public))
    await rpc.assert_raises_rpc_error(INVALID_PARAMS, f"would set back {changed:,} keys", "state_getReadProof",
                                      [key], hx(past))
    monkeypatch.setattr(methods, "PROOF_REWIND_KEYS", changed)
    assert (await rpc.call("state_getReadProof", [key], hx(past)))["at"] == hx(past)


@pytest.mark.asyncio
async def test_module_queries_at_a_past_block(rpc: RpcHarness) -> None:
    fresh = Keypair.generate().public
    before = rpc.node.chain.head_hash
    now = system.timestamp_ms.get(rpc.node.chain.state())
    await rpc.submit_in_block(rpc.alice, "vesting.vested_transfer", fresh, 500 * UNIT, now + 10**9, now + 2 * 10**9)
    rpc.author_block()
    assert (await rpc.call("btt_vesting", hx(fresh), hx(before)))["schedules"] == []
    assert len((await rpc.call("btt_vesting", hx(fresh)))["schedules"]) == 1
    for name in ("btt_stakes", "btt_bonds"):
        assert await rpc.call(name, hx(rpc.alice.public), hx(before)) == await rpc.call(name, hx(rpc.alice.public))
    assert await rpc.call("btt_multisig", hx(fresh), hx(before)) == []
    assert await rpc.call("btt_params", hx(before)) == await rpc.call("btt_params")
    burned_then = int((await rpc.call("btt_issuance", hx(before)))["totalBurned"])
    assert burned_then <= int((await rpc.call("btt_issuance"))["totalBurned"])
    fee_then = await rpc.call("payment_queryInfo", hx(rpc.sign(rpc.alice, "balances.transfer_allow_death",
                                                               BOB.public, 1).encode()),
                              hx(before))
    assert int(fee_then["partialFee"]) > 0


# Every read query of the marketplace, governance, assets, payments and incentives, with example arguments.
READ_QUERIES: tuple[tuple[str, list[object]], ...] = (
    ("btt_jobs", [None, None, None, None]), ("btt_job", [0]), ("btt_providers", [None]), ("btt_models", []),
    ("btt_powerTable", []), ("btt_miningSchedule", []), ("btt_referenda", [None]), ("btt_referendum", [0]),
    ("btt_voter", [hx(BOB.public)]), ("btt_assets", [None]), ("btt_asset", [0]),
    ("btt_assetHoldings", [hx(BOB.public)]), ("btt_invoices", [hx(BOB.public), None, None]), ("btt_invoice", [0]),
    ("btt_payments", [hx(BOB.public), None]), ("btt_payment", [0]), ("btt_points", [hx(BOB.public)]),
    ("btt_oracles", []),
)


@pytest.mark.asyncio
async def test_every_read_query_takes_a_block_hash(rpc: RpcHarness) -> None:
    """Each query answers at a past block with that block's values (a payment made after it is absent there, the
    power table's next leaders start after that block's slot) and refuses a pruned block with the clear error."""
    set_pruning(rpc, 3)
    genesis = rpc.node.chain.head_hash
    first = rpc.author_block()
    before = first.hash
    await rpc.submit_in_block(rpc.alice, "payments.pay", BOB.public, 3 * UNIT, b"\x00" * 32)
    pays_now = await rpc.call("btt_payments", hx(BOB.public))
    assert len(pays_now) == 1
    assert await rpc.call("btt_payments", hx(BOB.public), None, hx(before)) == []
    pay_id = pays_now[0]["id"]
    assert await rpc.call("btt_payment", pay_id, hx(before)) is None
    assert (await rpc.call("btt_payment", pay_id))["id"] == pay_id
    then = await rpc.call("btt_powerTable", hx(before))
    slot_then = first.block.header.slot
    assert then["nextLeaders"][0]["slot"] == slot_then + 1
    for _ in range(2):
        rpc.author_block()
    rpc.node.chain.finalize(rpc.node.chain.head_hash)  # the window counts back from the finalized head
    for method, params in READ_QUERIES:
        at_head = await rpc.call(method, *params)
        assert await rpc.call(method, *params, hx(rpc.node.chain.head_hash)) == at_head, method
        await rpc.call(method, *params, hx(before))
        await rpc.assert_raises_rpc_error(INVALID_PARAMS, "is pruned", method, *params, hx(genesis))
        await rpc.assert_raises_rpc_error(INVALID_PARAMS, "unknown block", method, *params, hx(b"\x22" * 32))


@pytest.mark.asyncio
async def test_pruned_non_canonical_and_unknown_blocks_are_refused(rpc: RpcHarness) -> None:
    set_pruning(rpc, 2)
    chain = rpc.node.chain
    genesis = chain.head_hash
    hashes = [genesis]
    for _ in range(4):
        hashes.append(rpc.author_block().hash)
    chain.finalize(chain.head_hash)  # the window counts back from the finalized head
    key = hx(system.account.key(BOB.public))
    log.info("blocks #2..#4 are within the last 2 blocks of head #4; #0 and #1 are pruned")
    for h in hashes[2:]:
        await rpc.call("state_getStorage", key, hx(h))
        await rpc.call("btt_account", hx(BOB.public), hx(h))
    for n in (0, 1):
        text = (f"state of block #{n} {hx(hashes[n])} is pruned (this node keeps the last 2 blocks; "
                "run with --state-pruning archive)")
        for method, params in (("state_getStorage", [key]), ("btt_account", [hx(BOB.public)]),
                               ("state_getRuntimeVersion", []), ("btt_stakes", [hx(BOB.public)]),
                               ("state_getReadProof", [[key]])):
            await rpc.assert_raises_rpc_error(INVALID_PARAMS, text, method, *params, hx(hashes[n]))

    log.info("a stored side block on top of the head is not canonical")
    side = chain.build_block(chain.head.slot + 5, rpc.alice, [])
    head_before = chain.head_hash
    chain.db.store_side_block(side)
    assert chain.head_hash == head_before
    await rpc.assert_raises_rpc_error(INVALID_PARAMS, "not on the canonical chain", "btt_account", hx(BOB.public),
                                      hx(side.hash()))
    await rpc.assert_raises_rpc_error(INVALID_PARAMS, "unknown block", "state_getStorage", key, hx(b"\x11" * 32))

    log.info("an archive node serves every canonical block")
    set_pruning(rpc, None)
    assert await rpc.call("state_getStorage", key, hx(genesis)) == await rpc.call("state_getStorage", key)
    assert (await rpc.call("btt_account", hx(BOB.public), hx(genesis)))["free"] == (
        await rpc.call("btt_account", hx(BOB.public)))["free"]


@pytest.mark.asyncio
async def test_past_state_of_a_real_chain_matches_a_replay_of_its_blocks(rpc: RpcHarness) -> None:
    """Transfers to fresh and known accounts over 12 blocks; the blocks executed again from genesis in a memory
    store are the ground truth for every key at a few random heights."""
    set_pruning(rpc, None)
    db = rpc.node.chain.db
    n = len(schema.STATE)
    genesis_state = {k[n:]: v for k, v in db.kv.iterate(schema.STATE)}
    rng = random.Random(15)
    fresh = [Keypair.generate().public for _ in range(4)]
    for _ in range(12):
        for _ in range(rng.randrange(0, 3)):
            dest = rng.choice([BOB.public, *fresh])
            await rpc.call("author_submitExtrinsic", hx(rpc.sign(rpc.alice, "balances.transfer_allow_death", dest,
                                                                 rng.randrange(1, 5) * UNIT).encode()))
        rpc.author_block()
    head = rpc.node.chain.head.number
    replay = DictState(genesis_state)
    truth = [dict(replay.data)]
    for height in range(1, head + 1):
        block_hash = db.canonical_hash(height)
        assert block_hash is not None
        block = db.get_block(block_hash)
        assert block is not None
        replay.apply(rpc.node.chain.executive.execute_block(replay, block, signatures_checked=True).changes)
        truth.append(dict(replay.data))
    assert truth[head] == {k[n:]: v for k, v in db.kv.iterate(schema.STATE)}
    for height in [0, *rng.sample(range(1, head), 4)]:
        view = HistoricalState(db, head, height)
        every_key = set(truth[height]) | set(truth[head])
        assert {k: view.get(k) for k in every_key} == {k: truth[height].get(k) for k in every_key}
        assert dict(view.iterate(b"")) == truth[height]


@pytest.mark.asyncio
async def test_a_read_further_back_than_the_view_bound_is_refused_and_a_nearer_one_served(
    rpc: RpcHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inside the pruning window, a block whose view would gather more changed keys than VIEW_KEYS is refused with
    -32602 and what to do, for every method that takes `at`; the blocks nearer the head are still served, right."""
    import btt_chain.node.pruning as pruning

    old = rpc.node.chain.head_hash
    bob_key = hx(system.account.key(BOB.public))
    bob_then = await rpc.call("state_getStorage", bob_key, hx(old))
    for _ in range(3):
        await rpc.submit_in_block(rpc.alice, "balances.transfer_allow_death", BOB.public, UNIT)
    db, head = rpc.node.chain.db, rpc.node.chain.head
    changed = len(HistoricalState(db, head.number, head.number - 3).changes_from_head)
    monkeypatch.setattr(pruning, "VIEW_KEYS", changed - 1)
    for method, params in (("state_getStorage", [bob_key, hx(old)]), ("state_getReadProof", [[bob_key], hx(old)]),
                           ("state_getKeysPaged", [bob_key[:10], 10, None, hx(old)])):
        await rpc.assert_raises_rpc_error(INVALID_PARAMS, "ask a block nearer the head", method, *params)
    monkeypatch.setattr(pruning, "VIEW_KEYS", changed)
    assert await rpc.call("state_getStorage", bob_key, hx(old)) == bob_then
