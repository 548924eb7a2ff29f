"""`GET /health` on the RPC port: 200 on a dev chain, 503 for a node that should have peers and has none."""

from __future__ import annotations

import aiohttp

from btt_chain.node.service import Node, NodeConfig
from btt_chain.rpc.server import RpcServer
from runtime import specs

from .harness import RpcHarness, free_port


async def test_health_is_200_on_a_dev_node(rpc: RpcHarness) -> None:
    rpc.author_block()
    async with rpc.session.get(rpc.url + "/health") as resp:
        assert resp.status == 200
        body = await resp.json()
    assert body == {"peers": 0, "isSyncing": False, "shouldHavePeers": False, "best": 1, "finalized": body["finalized"],
                    "finalityConflict": None, "clock": "unknown", "clockOffsetMs": None, "clockSources": 0,
                    "clockAllowanceMs": 500, "heldBlocks": 0, "signing": {"state": "signing", "message": None},
                    "specVersion": specs.NEWEST, "specs": sorted(specs.PACKAGES), "upgrade": None, "halted": None}
    assert 0 <= body["finalized"] <= 1


async def test_health_is_503_on_a_dev_node_whose_finality_saw_a_conflict(rpc: RpcHarness) -> None:
    """The finality alarm makes any node unhealthy, a lone dev node included, and says what it saw."""
    from btt_chain.consensus.finality import FinalityConflict
    from btt_chain.primitives.vote import Checkpoint

    g = Checkpoint(0, rpc.node.chain.genesis_hash)
    rpc.node.finality.tracker.conflict = FinalityConflict(g, Checkpoint(1, b"\x01" * 32), ())
    async with rpc.session.get(rpc.url + "/health") as resp:
        assert resp.status == 503
        body = await resp.json()
    conflict = body["finalityConflict"]
    assert conflict["conflicting"].startswith("1:0x0101") and conflict["offenders"] == 0


async def test_health_is_503_for_a_live_node_without_peers() -> None:
    # btt-21m has four validators: a networked node (its p2p is not started here) should have peers
    node = Node(NodeConfig(chain="btt-21m", base_path=None, tmp=True, validator_key=None, p2p_port=free_port()))
    server = RpcServer(node, "127.0.0.1", free_port())
    try:
        await server.start()
        async with aiohttp.ClientSession() as session, session.get(server.url + "/health") as resp:
            assert resp.status == 503
            body = await resp.json()
        assert body == {"peers": 0, "isSyncing": False, "shouldHavePeers": True, "best": 0, "finalized": 0,
                        "finalityConflict": None, "clock": "unknown", "clockOffsetMs": None, "clockSources": 0,
                        "clockAllowanceMs": 1000, "heldBlocks": 0, "signing": None, "specVersion": specs.NEWEST,
                        "specs": sorted(specs.PACKAGES), "upgrade": None, "halted": None}
    finally:
        await server.stop()
        node.close()
