"""feature_restart: a node killed with SIGKILL, or stopped cleanly, resumes at its committed head and state root."""

from __future__ import annotations

from btt_chain.client.headers import header_hash
from btt_chain.primitives.keys import dev_keypair
from tests.functional.framework import Harness, wait_until

UNIT = 10**18


def _transfer(node, amount: int) -> str:
    from btt_chain.primitives.extrinsic import sign_extrinsic
    from runtime.modules import RUNTIME

    genesis = bytes.fromhex(node.call("chain_getBlockHash", 0)[2:])
    alice = dev_keypair("alice")
    nonce = node.call("system_accountNextIndex", "0x" + alice.public.hex())
    call = RUNTIME.call("balances.transfer_allow_death", dev_keypair("bob").public, amount)
    xt = sign_extrinsic(alice, call, nonce, genesis, RUNTIME.spec_version)
    return node.call("author_submitExtrinsic", "0x" + xt.encode().hex())


def _included(node, xt_hash: str) -> bool:
    status = node.call("btt_extrinsicStatus", xt_hash)
    return status is not None and status["status"] == "included"


def test_sigkill_then_restart_resumes_at_committed_head(harness: Harness) -> None:
    node = harness.add_node()
    harness.log("start a validator and let it author a few blocks")
    node.start()
    wait_until(lambda: node.height() >= 3, 60, what="height 3")
    xt = _transfer(node, 10 * UNIT)
    wait_until(lambda: _included(node, xt), 60, what="transfer included")
    bob_before = int(node.call("btt_account", "0x" + dev_keypair("bob").public.hex())["free"])
    seen = {n: node.call("chain_getBlockHash", n) for n in range(node.height() + 1)}

    harness.log("SIGKILL the node while it is authoring")
    node.kill()

    harness.log("restart as a non-validator so the head stays still")
    node.start(validator_key=None)
    head = node.call("chain_getHeader")
    # nothing the RPC showed is lost: an authored block is on disk before it is announced (2026-11-29's clean-clone
    # run lost #4, shown a moment before the kill, when authored blocks were written behind)
    assert int(head["number"], 16) >= max(seen)
    for number, block_hash in seen.items():
        assert node.call("chain_getBlockHash", number) == block_hash, f"block {number} changed across the crash"
    bob_after = int(node.call("btt_account", "0x" + dev_keypair("bob").public.hex())["free"])
    assert bob_after >= bob_before
    assert _included(node, xt)

    harness.log("a clean stop and start keeps exactly the same head and state root")
    node.stop()
    node.start(validator_key=None)
    again = node.call("chain_getHeader")
    assert header_hash(again) == header_hash(head) and again["stateRoot"] == head["stateRoot"]

    harness.log("restart as validator: it carries on authoring on top of the old head")
    node.stop()
    node.start(validator_key="alice")
    start_height = int(again["number"], 16)
    wait_until(lambda: node.height() >= start_height + 2, 60, what="new blocks after restart")
    assert node.call("chain_getBlockHash", start_height) == "0x" + header_hash(again).hex()
