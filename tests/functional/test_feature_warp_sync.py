"""feature_warp_sync: a validator joins a running devnet by warp sync (issue 44) and finality then needs its votes.

Three devnet validators; alice and bob run (2/3 of the stake: they finalize alone) until several epochs are final.
Charlie starts with an empty database and `--sync warp`: it verifies a warp proof from alice and bob, fetches the
state of the latest finalized block in chunks, opens its database there and follows the chain. Its state at a block
equals alice's key for key, it holds no block below its warp target (RPC says so), and when bob stops, alice and
charlie go on finalizing, which they can only do with charlie's votes (2/3 of the set is alice and charlie).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path

import pytest

from btt_chain.primitives.address import encode_address
from btt_chain.primitives.keys import dev_keypair
from btt_chain.process_supervision import die_with_parent
from p2p.ports import bind_error
from tests.functional.framework import REPO, Harness, NodeProcess, RpcError, wait_until
from tests.support.wait_limits import scaled

EPOCH_SLOTS = 4


def finalized_epoch(node: NodeProcess) -> int:
    header = node.call("btt_header", node.call("chain_getFinalizedHead"))
    return int(header["slot"], 16) // EPOCH_SLOTS


def all_storage(node: NodeProcess, block_hash: str) -> dict[str, str]:
    keys: list[str] = []
    start = None
    while True:
        page = node.call("state_getKeysPaged", "0x", 1000, start, block_hash)
        keys += page
        if len(page) < 1000:
            break
        start = page[-1]
    return {k: node.call("state_getStorage", k, block_hash) for k in keys}


def test_a_validator_joins_by_warp_sync_and_finality_then_needs_its_votes(harness: Harness) -> None:
    alice, bob, charlie = harness.add_devnet(3, epoch_slots=EPOCH_SLOTS)
    charlie_stash = encode_address(dev_keypair("charlie").public)
    charlie.extra_args = ["--sync", "warp"]
    charlie.bootnodes = [alice.multiaddr, bob.multiaddr]
    harness.log("alice and bob run until epoch 4 is final")
    harness.start_all([alice, bob])
    wait_until(lambda: finalized_epoch(alice) >= 4, 150, what="epoch 4 final on alice and bob")

    harness.log("charlie starts with --sync warp")
    charlie.start()
    log = charlie.log_path.read_text()
    proved = re.search(r"warp proof verified: (\d+) fragments to block #(\d+)", log)
    assert proved, charlie.log_tail()
    base = int(proved.group(2))
    assert int(proved.group(1)) >= 1  # one fragment spans the devnet's unchanged set (many: test_warp_proof)
    base_slot = int(alice.call("btt_header", alice.call("chain_getBlockHash", base))["slot"], 16)
    assert base_slot // EPOCH_SLOTS >= 3  # the checkpoint of epoch 4 or later: what was final when it started
    assert "warp sync done" in log, charlie.log_tail()
    assert charlie.metric("btt_warp_sync_base_block") == base and alice.metric("btt_warp_sync_base_block") == 0

    harness.log("it follows the chain; its state equals alice's key for key")
    wait_until(lambda: charlie.height() >= base + 3, 60, what="charlie imports blocks after its warp target")
    at = charlie.call("chain_getBlockHash", base + 2)
    assert at == alice.call("chain_getBlockHash", base + 2)
    ours, theirs = all_storage(charlie, at), all_storage(alice, at)
    assert ours == theirs and len(ours) > 20
    assert charlie.call("chain_getHeader", at)["stateRoot"] == alice.call("chain_getHeader", at)["stateRoot"]

    harness.log("below its warp target it holds no block, and says so")
    old = alice.call("chain_getBlockHash", 1)
    assert charlie.call("chain_getBlock", old) is None  # as Substrate: a block it does not hold
    try:
        charlie.call("chain_getBlockHash", 1)
        raise AssertionError("a warp-synced node answered a block number below its target")
    except RpcError as exc:
        assert "warp-synced at block" in str(exc), exc
    try:
        charlie.call("state_getStorage", next(iter(theirs)), old)
        raise AssertionError("a warp-synced node answered state below its target")
    except RpcError as exc:
        assert "warp-synced at block" in str(exc), exc

    harness.log("bob stops: alice and charlie hold 2/3 and finalize on")
    bob.stop()
    stopped = finalized_epoch(alice)
    wait_until(lambda: min(finalized_epoch(n) for n in (alice, charlie)) >= stopped + 3, 150,
               what="finality with charlie's votes")
    low = min(n.finalized_number() for n in (alice, charlie))
    assert alice.call("chain_getBlockHash", low) == charlie.call("chain_getBlockHash", low)
    voted = re.findall(r"btt\.finality: voted", charlie.log_path.read_text())
    assert voted, charlie.log_tail()
    session_key = next(v["sessionKey"] for v in alice.call("btt_validators") if v["account"] == charlie_stash)
    charlie_author = encode_address(bytes.fromhex(session_key[2:]))

    def charlie_authored() -> bool:
        return charlie_author in {alice.call("btt_header", alice.call("chain_getBlockHash", n))["author"]
                                  for n in range(base + 1, alice.height() + 1)}

    # it authors its slots, as after a full sync: waited for, since its third of the slots can leave it none in the
    # dozen or so that finality took (2026-11-29's clean run: alice and bob authored the 8 blocks of the 14 slots it
    # ran, the other 6 went unauthored with bob stopped; the same test passed four times in a row after)
    wait_until(charlie_authored, 90, what="a block charlie authored after its warp target")
    for n in (alice, bob, charlie):
        assert "Traceback" not in n.log_path.read_text(), n.log_tail(80)


def children_of(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(p) for p in text]
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ")[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL])
def test_a_node_stopped_during_its_warp_takes_the_warp_with_it(harness: Harness, how: signal.Signals) -> None:
    """The warp runs in a child process: however the node ends, the warp ends with it, so its port and database are
    free for the next start (found by the testnet: a stopped node's warp went on for an hour)."""
    spec = harness.write_devnet_spec(3)
    ghost = harness.add_node(chain=str(spec), validator_key=None)  # never started: a bootnode nobody answers at
    ghost.datadir.mkdir(parents=True, exist_ok=True)
    node = harness.add_node(chain=str(spec), validator_key=None, extra_args=["--sync", "warp"],
                            bootnodes=[ghost.multiaddr])
    node.datadir.mkdir(parents=True, exist_ok=True)
    log = open(node.log_path, "ab")
    process = subprocess.Popen(node.args(), cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"}, preexec_fn=die_with_parent())
    log.close()
    warp: list[int] = []
    try:
        wait_until(lambda: "warp sync: waiting for peers" in node.log_path.read_text(), 120,
                   what="the warp waiting for peers")
        warp += children_of(process.pid)
        assert warp, "no warp process"
        process.send_signal(how)
        process.wait(scaled(30))
        wait_until(lambda: not any(alive(p) for p in warp), 30, what="the warp process ended with the node")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for pid in warp:  # a failed check leaves nothing running
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
    assert bind_error("127.0.0.1", node.p2p_port) is None
