"""Fixtures of the RPC tests: `rpc`, a dev node (alice validates) with only its RpcServer started."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest_asyncio

from btt_chain.node.service import Node, NodeConfig
from btt_chain.primitives.keys import dev_keypair
from btt_chain.rpc.server import RpcServer

from .harness import RpcHarness, free_port


@pytest_asyncio.fixture
async def rpc() -> AsyncIterator[RpcHarness]:
    async for harness in dev_harness():
        yield harness


async def dev_harness(unsafe: bool = False) -> AsyncIterator[RpcHarness]:
    """A dev node with alice validating, served over RPC (with `unsafe`: unsafe methods to loopback callers)."""
    alice = dev_keypair("alice")
    node = Node(NodeConfig(chain="dev", base_path=None, tmp=True, validator_key=alice, rpc_port=free_port()))
    server = RpcServer(node, "127.0.0.1", node.config.rpc_port, unsafe=unsafe)
    try:
        await server.start()
        async with aiohttp.ClientSession() as session:
            yield RpcHarness(node, server, session, alice)
    finally:
        await server.stop()
        node.close()
