"""feature_session_keys: a running validator moves its signing to a new machine without a missed finalization.

Four devnet validators (alice, bob, charlie, eve) and a fifth node, bob's new machine: `--validator` with an empty
keystore and unsafe RPC on loopback. `btt-chain set-keys --from bob --node-rpc <new machine>` makes a key there
(author_rotateKeys), gets its proof (btt_sessionKeysProof) and submits session.set_keys from bob's stash. From the
epoch the chain names, the new machine leads bob's slots and votes with the new key, and the old machine never signs
again. Then bob's old node and charlie's node stop: alice, eve and bob's new machine hold 3/4 of the set, so
finality goes on only because the new key's votes count (without them 2/4). Every epoch from before the rotation
until the two stop is justified: none was missed.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

from btt_chain.primitives.address import encode_address
from btt_chain.primitives.keys import dev_keypair
from tests.functional.framework import Harness, NodeProcess, scaled, wait_until

EPOCH_SLOTS = 4


def head_epoch(node: NodeProcess) -> int:
    return int(node.call("btt_header")["slot"], 16) // EPOCH_SLOTS


def finalized_epoch(node: NodeProcess) -> int:
    header = node.call("btt_header", node.call("chain_getFinalizedHead"))
    return int(header["slot"], 16) // EPOCH_SLOTS


def session_key_of(node: NodeProcess, account: str) -> str:
    return next(v["sessionKey"] for v in node.call("btt_validators") if v["account"] == account)


def authors(node: NodeProcess, first: int, last: int) -> dict[int, str]:
    """Block number -> author (an address of the session key that sealed it)."""
    return {n: node.call("btt_header", node.call("chain_getBlockHash", n))["author"] for n in range(first, last + 1)}


def slot_epoch(node: NodeProcess, number: int) -> int:
    return int(node.call("btt_header", node.call("chain_getBlockHash", number))["slot"], 16) // EPOCH_SLOTS


def test_a_validator_rotates_its_keys_to_a_new_machine_without_a_missed_finalization(harness: Harness) -> None:
    nodes = harness.add_devnet(4, epoch_slots=EPOCH_SLOTS)  # alice, bob, charlie, eve
    alice, bob, charlie, eve = nodes
    new = harness.add_node(chain=str(harness.spec_path), validator_key=None,
                           extra_args=["--validator", "--rpc-methods", "unsafe"],
                           bootnodes=[n.multiaddr for n in nodes])
    everyone = [*nodes, new]
    harness.log("start the four validators and bob's new machine (an empty keystore)")
    harness.start_all(everyone)
    wait_until(lambda: min(n.finalized_number() for n in everyone) >= 1, 90, what="first finality everywhere")
    assert new.call("system_nodeRoles") == ["Authority"]
    bob_stash = encode_address(dev_keypair("bob").public)
    old_key = session_key_of(alice, bob_stash)

    harness.log("btt-chain set-keys: a key made on the new machine, proved there, set from bob's stash")
    out = subprocess.run(
        [sys.executable, "-m", "cli", "set-keys", "--from", "bob", "--node-rpc", f"http://127.0.0.1:{new.rpc_port}",
         "--rpc", f"http://127.0.0.1:{alice.rpc_port}", "--json"],
        capture_output=True, text=True, timeout=scaled(120),
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    new_key = result["sessionKey"]
    assert result["success"] is True and new_key != old_key
    set_at = head_epoch(alice)
    assert new.call("author_hasKey", new_key, "sess") is True
    assert bob.call("system_nodeRoles") == ["Authority"]

    harness.log("the set carries the new key two epochs on; the new machine authors bob's slots")
    wait_until(lambda: session_key_of(alice, bob_stash) == new_key, 90, what="bob's new key active")
    switched = head_epoch(alice)
    assert switched >= set_at + 1
    new_address = encode_address(bytes.fromhex(new_key[2:]))
    start = alice.height()
    wait_until(lambda: new_address in authors(alice, start, alice.height()).values(), 90,
               what="a block sealed with the new key")

    harness.log("bob's old node and charlie's stop: alice, eve and the new key hold 3/4")
    stopped = head_epoch(alice)
    bob.kill()
    charlie.kill()
    live = [alice, eve, new]
    wait_until(lambda: min(finalized_epoch(n) for n in live) >= switched + 3, 150,
               what="finality past the switch with the new key's votes")
    old_address = encode_address(bytes.fromhex(old_key[2:]))
    sealed = authors(alice, 1, alice.height())
    after = [n for n, a in sealed.items() if a == old_address and slot_epoch(alice, n) >= switched]
    assert not after, f"the old key sealed blocks {after} after the switch"
    low = min(n.finalized_number() for n in live)
    assert len({n.call("chain_getBlockHash", low) for n in live}) == 1, "live nodes finalized different blocks"

    harness.log("no finalization was missed: every epoch from before the rotation until the stop was justified")
    # (an epoch whose checkpoint block forks as two of the four stop may go without justification, as Casper allows,
    # and the next one finalizes: seen once on a busy machine, a reorg at the first slot of the stop's epoch split
    # its votes; what the rotation must not cost is a justification while all four run, and finality after the stop,
    # checked above with the new key's votes)
    justified = {int(m) for m in re.findall(r"btt\.finality: justified (\d+):", alice.log_path.read_text())}
    window = range(max(1, set_at - 1), stopped)
    assert set(window) <= justified, f"epochs not justified: {sorted(set(window) - justified)}"
