"""Multi-node scenarios on 127.0.0.1 with real node processes (bitcoin-style functional tests).

Each test starts its own devnet (1 s slots, short epochs) and logs its steps.
"""

from __future__ import annotations

import time

from btt_chain.primitives.extrinsic import sign_extrinsic
from btt_chain.primitives.keys import dev_keypair
from runtime.modules import RUNTIME
from tests.functional.framework import Harness, NodeProcess, wait_until

UNIT = 10**18


def heads(nodes: list[NodeProcess]) -> set[str]:
    return {n.call("chain_getBlockHash") for n in nodes}


def converged(nodes: list[NodeProcess], min_height: int = 0) -> bool:
    """The nodes are on one chain, at `min_height` or above: the block at the lowest of their heads is the same block
    on each. A node a block behind, still importing the others' newest, counts (on a busy machine the heads, read one
    after the other, are seldom the very same one); a node on another fork does not."""
    low = min(n.height() for n in nodes)
    return low >= min_height and len({n.call("chain_getBlockHash", low) for n in nodes}) == 1


def transfer(node: NodeProcess, sender: str, dest: str, amount: int) -> str:
    genesis = bytes.fromhex(node.call("chain_getBlockHash", 0)[2:])
    pair = dev_keypair(sender)
    nonce = node.call("system_accountNextIndex", "0x" + pair.public.hex())
    call = RUNTIME.call("balances.transfer_allow_death", dev_keypair(dest).public, amount)
    xt = sign_extrinsic(pair, call, nonce, genesis, RUNTIME.spec_version)
    return node.call("author_submitExtrinsic", "0x" + xt.encode().hex())


def free_balance(node: NodeProcess, name: str) -> int:
    return int(node.call("btt_account", "0x" + dev_keypair(name).public.hex())["free"])


def test_four_validators_converge_finalize_share_transactions_need_two_thirds_and_a_killed_one_rejoins(
    harness: Harness,
) -> None:
    """One 4-validator devnet for what needs a fresh one: convergence, finality and a shared transaction; finality
    with 3 of 4 validators and its stall with 2 of 4; the killed validators restarted, finality resuming and both
    catching up to the others' head."""
    nodes = harness.add_devnet(4, epoch_slots=4)
    harness.log("start 4 validators; node0 is the bootnode")
    harness.start_all(nodes)
    wait_until(lambda: all(n.peers() >= 1 for n in nodes), 60, what="every node has a peer")
    wait_until(lambda: converged(nodes, 6), 60, what="one head at height 6+")
    harness.log("finality advances on every node")
    wait_until(lambda: min(n.finalized_number() for n in nodes) >= 4, 60, what="finalized #4 everywhere")

    harness.log("a transfer sent to node0 shows on node3")
    bob_before = free_balance(nodes[3], "bob")
    xt = transfer(nodes[0], "charlie", "bob", 10 * UNIT)
    wait_until(lambda: (nodes[3].call("btt_extrinsicStatus", xt) or {}).get("status") == "included", 30,
               what="transfer included on node3")
    assert free_balance(nodes[3], "bob") == bob_before + 10 * UNIT

    harness.log("identical state roots at one height on every node")
    height = min(int(n.call("chain_getHeader")["number"], 16) for n in nodes)
    hashes = {n.call("chain_getBlockHash", height) for n in nodes}
    assert len(hashes) == 1
    block_hash = hashes.pop()
    roots = {n.call("chain_getHeader", block_hash)["stateRoot"] for n in nodes}
    assert len(roots) == 1

    harness.log("3 of 4 validators online (SIGKILL node3): finality advances")
    nodes[3].kill()
    live = nodes[:3]
    f0 = max(n.finalized_number() for n in live)
    wait_until(lambda: min(n.finalized_number() for n in live) > f0 + 4, 60, what="finality advancing with 3/4")

    harness.log("2 of 4 online (SIGKILL node2): finality stalls while blocks continue")
    nodes[2].kill()
    killed_at = nodes[0].height()
    live = nodes[:2]
    # counted in blocks, not seconds: on a busy machine a second may hold no block at all
    h0 = live[0].height()
    wait_until(lambda: live[0].height() >= h0 + 3, 60, what="3 blocks with 2/4 (votes in flight land meanwhile)")
    stalled = max(n.finalized_number() for n in live)
    h1 = live[0].height()
    # 4 blocks with 2 of 4 leaders online span about 2 epochs of 4 slots: a vote still in flight moves finality by
    # at most one checkpoint meanwhile; after that it may not move at all
    wait_until(lambda: live[0].height() >= h1 + 4, 120, what="blocks keep coming with 2/4")
    assert max(n.finalized_number() for n in live) <= stalled + 4, "finality must stall without 2/3 of the stake"
    stalled = max(n.finalized_number() for n in live)
    h2 = live[0].height()
    wait_until(lambda: live[0].height() >= h2 + 6, 120, what="6 more blocks with 2/4")
    assert max(n.finalized_number() for n in live) == stalled, "finality moved with 2/4 of the stake"
    assert live[0].height() >= killed_at + 8, "the chain grew without node2"

    harness.log("node2 returns: finality resumes; it syncs and follows the same chain")
    nodes[2].start()
    live = nodes[:3]
    wait_until(lambda: min(n.finalized_number() for n in live) > stalled, 90, what="finality resumes with 3/4")
    wait_until(lambda: converged(live, killed_at + 8), 90, what="node2 back on the common head")
    harness.log("node3 returns too: all four on one head")
    nodes[3].start()
    wait_until(lambda: converged(nodes, killed_at + 8), 90, what="node3 back on the common head")


def test_late_node_syncs_hundreds_of_blocks(harness: Harness) -> None:
    from btt_chain.node.chain import Chain
    from genesis.build import build_genesis
    from genesis.loader import load_chain_spec
    from storage.leveldb import LevelDBStore
    from tests.support.node_builder import author_as_leader

    harness.log("pre-build 520 blocks for a one-validator devnet whose genesis lies in the past")
    from genesis.devnet import devnet_spec_doc
    from genesis.loader import canonical_json, parse_chain_spec

    start_ms = (int(time.time()) - 900) * 1000
    spec_path = harness.root / "past-spec.json"
    spec_path.write_bytes(canonical_json(devnet_spec_doc(1, start_ms, 20)))
    spec = load_chain_spec(str(spec_path))
    node0 = harness.add_node(chain=str(spec_path), validator_key="alice")
    with LevelDBStore(node0.datadir / "chains" / spec.id / "db") as kv:
        chain = Chain(kv, build_genesis(parse_chain_spec(spec.raw)))
        for _ in range(520):
            author_as_leader(chain, ("alice",))
    node0.start()
    assert node0.height() >= 520
    harness.log("a late non-validator node joins and syncs")
    late = harness.add_node(chain=str(spec_path), validator_key=None, bootnodes=[node0.multiaddr])
    began = time.monotonic()
    late.start()
    wait_until(lambda: late.height() >= 520, 300, what="late node synced 520 blocks")
    harness.log(f"synced 520+ blocks in {time.monotonic() - began:.1f} s (process start included)")
    wait_until(lambda: converged([node0, late]), 60, what="late node follows the head")


def validator_accounts(node: NodeProcess) -> dict[str, int]:
    return {v["account"]: int(v["bond"]) for v in node.call("btt_validators")}


def test_equivocating_validator_is_slashed_on_every_node(harness: Harness) -> None:
    from btt_chain.primitives.address import encode_address

    nodes = harness.add_devnet(4, epoch_slots=4)
    nodes[3].extra_args.append("--unsafe-equivocate")
    harness.log("node3 (eve) double-signs every block it authors")
    harness.start_all(nodes)
    eve = encode_address(dev_keypair("eve").public)
    assert all(eve in validator_accounts(n) for n in nodes[:3])
    harness.log("honest nodes report it; the slash lands on every node")
    wait_until(lambda: all(eve not in validator_accounts(n) for n in nodes), 90, what="eve slashed everywhere")
    wait_until(lambda: converged(nodes[:3]), 60, what="honest nodes on one head")
    eve_account = nodes[0].call("btt_account", "0x" + dev_keypair("eve").public.hex())
    assert int(eve_account["reserved"]) == 0, eve_account
    # a node whose own branch slashed eve still takes her blocks of the others' branches from before (as side blocks,
    # judged in full if that branch wins), so it bans no honest peer that relays them: once it did, and stood alone
    honest = {n.call("system_localPeerId") for n in nodes[:3]}
    for n in nodes[:3]:
        bans = [line for line in n.log_path.read_text(errors="replace").splitlines()
                if " banned " in line and any(p in line for p in honest)]
        assert bans == [], bans


def test_peer_gossiping_an_invalid_block_is_banned(harness: Harness) -> None:
    nodes = harness.add_devnet(2, epoch_slots=4)
    rogue = nodes[1]
    rogue.extra_args.append("--unsafe-gossip-invalid-blocks")
    harness.start_all(nodes)
    rogue_id = rogue.call("system_localPeerId")
    wait_until(lambda: any(p["peerId"] == rogue_id for p in nodes[0].call("system_peers")) or rogue.height() > 2,
               30, what="rogue connected or authoring")
    harness.log("the rogue's first bad block gets it banned by node0")
    wait_until(lambda: rogue.height() >= 3, 60, what="rogue authored blocks")
    wait_until(lambda: all(p["peerId"] != rogue_id for p in nodes[0].call("system_peers")), 60,
               what="node0 dropped the rogue")
    # the rogue keeps running (and redialing node0, its bootnode) for 3 more of its own blocks: still refused
    h = rogue.height()
    wait_until(lambda: rogue.height() >= h + 3, 60, what="3 more blocks by the rogue")
    assert all(p["peerId"] != rogue_id for p in nodes[0].call("system_peers")), "a banned peer reconnected"


def test_partition_two_plus_two_heals_onto_one_chain(harness: Harness) -> None:
    spec = harness.write_devnet_spec(4, epoch_slots=4)
    from genesis.devnet import DEVNET_VALIDATORS

    harness.log("two groups that cannot see each other: {node0, node1} and {node2, node3}")
    a0 = harness.add_node(chain=str(spec), validator_key=DEVNET_VALIDATORS[0])
    a1 = harness.add_node(chain=str(spec), validator_key=DEVNET_VALIDATORS[1], bootnodes=[a0.multiaddr])
    b0 = harness.add_node(chain=str(spec), validator_key=DEVNET_VALIDATORS[2])
    b1 = harness.add_node(chain=str(spec), validator_key=DEVNET_VALIDATORS[3], bootnodes=[b0.multiaddr])
    harness.start_all([a0, a1, b0, b1])
    wait_until(lambda: a0.height() >= 5 and b0.height() >= 5, 60, what="both sides author")
    wait_until(lambda: converged([a0, a1]) and converged([b0, b1]), 60, what="each side agrees internally")
    assert heads([a0, b0]).__len__() == 2, "the two sides must have diverged"
    finalized_during = max(n.finalized_number() for n in (a0, a1, b0, b1))

    harness.log("heal: node3 comes back knowing both sides")
    b1.stop()
    b1.bootnodes = [a0.multiaddr, b0.multiaddr]
    b1.start()
    nodes = [a0, a1, b0, b1]
    wait_until(lambda: converged(nodes), 90, what="all four on one chain")
    harness.log("finality resumes on the merged chain")
    wait_until(lambda: min(n.finalized_number() for n in nodes) > finalized_during, 90, what="finality resumes")
