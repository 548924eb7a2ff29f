"""feature_validator_set: finality keeps going across a validator set change, counted by the target epoch's set.

Four devnet validators (alice, bob, charlie, eve) and a fifth node with ferdie's key. ferdie bonds and
registers while eve deregisters, in one epoch; two epochs later the active set is {alice, bob, charlie,
ferdie}. Then eve's and charlie's nodes stop: alice, bob and ferdie hold 3/4 of the new set's stake, so
finality must advance, and only if ferdie's votes count and eve's absence does not (weighed by a set that
still had eve, or that lacked ferdie, the live validators would hold at most 3/5 or 2/4: finality would stall).
Last, a fresh node syncs everything and finalizes the same blocks from the justifications it is served.
"""

from __future__ import annotations

from btt_chain.primitives.address import encode_address
from btt_chain.primitives.extrinsic import sign_extrinsic
from btt_chain.primitives.keys import dev_keypair
from genesis.loader import dev_hash_chain_commitment, load_chain_spec
from runtime.modules import RUNTIME
from tests.functional.framework import Harness, NodeProcess, wait_until
from tests.support.session_proof import registration

UNIT = 10**18
EPOCH_SLOTS = 4


def submit(node: NodeProcess, name: str, call: str, *args: object, nonce: int) -> str:
    genesis = bytes.fromhex(node.call("chain_getBlockHash", 0)[2:])
    xt = sign_extrinsic(dev_keypair(name), RUNTIME.call(call, *args), nonce, genesis, RUNTIME.spec_version)
    return node.call("author_submitExtrinsic", "0x" + xt.encode().hex())


def included(node: NodeProcess, xt_hash: str) -> bool:
    status = node.call("btt_extrinsicStatus", xt_hash)
    return status is not None and status["status"] == "included" and status["success"] is True


def active_set(node: NodeProcess) -> set[str]:
    return {v["account"] for v in node.call("btt_validators")}


def head_epoch(node: NodeProcess) -> int:
    return int(node.call("btt_header")["slot"], 16) // EPOCH_SLOTS


def finalized_epoch(node: NodeProcess) -> int:
    header = node.call("btt_header", node.call("chain_getFinalizedHead"))
    return int(header["slot"], 16) // EPOCH_SLOTS


def authors_since(node: NodeProcess, number: int) -> set[str]:
    out = set()
    for n in range(number, node.height() + 1):
        out.add(node.call("btt_header", node.call("chain_getBlockHash", n))["author"])
    return out


def test_finality_continues_across_a_validator_set_change(harness: Harness) -> None:
    nodes = harness.add_devnet(4, epoch_slots=EPOCH_SLOTS)  # alice, bob, charlie, eve
    ferdie_node = harness.add_node(chain=str(harness.spec_path), validator_key="ferdie",
                                   bootnodes=[n.multiaddr for n in nodes])
    alice, bob, charlie, eve = nodes
    everyone = [*nodes, ferdie_node]
    harness.log("start the 4 devnet validators and ferdie's node (not a validator yet)")
    harness.start_all(everyone)
    wait_until(lambda: min(n.finalized_number() for n in everyone) >= 1, 90, what="first finality everywhere")

    names = {name: encode_address(dev_keypair(name).public) for name in ("alice", "bob", "charlie", "eve", "ferdie")}
    assert active_set(alice) == {names[n] for n in ("alice", "bob", "charlie", "eve")}

    harness.log("ferdie bonds 10,000 BTT and registers; eve deregisters")
    length = load_chain_spec(str(harness.spec_path)).consensus.hash_chain_length
    ferdie = dev_keypair("ferdie")
    nonce = alice.call("system_accountNextIndex", "0x" + ferdie.public.hex())
    xts = [
        submit(alice, "ferdie", "bonds.bond", 10_000 * UNIT, nonce=nonce),
        submit(alice, "ferdie", "bonds.register_validator",
               *registration(ferdie, ferdie.public, dev_hash_chain_commitment("ferdie", length)), nonce=nonce + 1),
        submit(alice, "eve", "bonds.deregister_validator",
               nonce=alice.call("system_accountNextIndex", "0x" + dev_keypair("eve").public.hex())),
    ]
    wait_until(lambda: all(included(alice, x) for x in xts), 60, what="bond, registration and deregistration")
    registered_at = head_epoch(alice)

    harness.log("two epochs later the new set is active on every node: ferdie in, eve out")
    new_set = {names[n] for n in ("alice", "bob", "charlie", "ferdie")}
    wait_until(lambda: all(active_set(n) == new_set for n in everyone), 90, what="the new set active everywhere")
    changed_at = head_epoch(alice)
    assert changed_at >= registered_at + 1
    start = alice.height()
    wait_until(lambda: names["ferdie"] in authors_since(alice, start), 90, what="a block by ferdie")

    harness.log("eve's and charlie's nodes stop: alice, bob and ferdie hold 3/4 of the new set")
    eve.kill()
    charlie.kill()
    live = [alice, bob, ferdie_node]
    wait_until(lambda: min(finalized_epoch(n) for n in live) >= changed_at + 2, 150,
               what="finality advances with the new set's 3/4")
    height = alice.height()
    harness.log(f"finalized epoch {finalized_epoch(alice)} (set changed in epoch {changed_at}) at height {height}")
    assert names["eve"] not in authors_since(alice, start), "eve led a slot after she left the set"
    low = min(n.finalized_number() for n in live)
    assert len({n.call("chain_getBlockHash", low) for n in live}) == 1, "live nodes finalized different blocks"

    harness.log("a fresh node syncs the chain and its justifications from genesis, across the set change")
    # each justification is checked against its target epoch's set as recorded on this chain: those of epochs
    # after the change carry ferdie's vote and not eve's, which the set at the target block itself would refuse
    late = harness.add_node(chain=str(harness.spec_path), validator_key=None,
                            bootnodes=[alice.multiaddr, bob.multiaddr])
    late.start()
    wait_until(lambda: late.finalized_number() >= low, 120, what="the late node finalizes past the change")
    assert late.call("chain_getBlockHash", low) == alice.call("chain_getBlockHash", low)
    assert finalized_epoch(late) >= changed_at + 2
