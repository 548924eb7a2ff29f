"""`btt-chain propose --call system.schedule_spec`: the mistakes the node can see are refused before any fee, in one
line each: a spec this node cannot run (every node like it would stop at the block), and a block the referendum
could not be enacted before (the enacted schedule would be refused). A sound schedule is proposed."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from btt_chain.client.rpc import RpcClient
from btt_chain.node.service import Node
from btt_chain.rpc.server import RpcServer
from cli.governance_cmd import _check_schedule
from cli.submit import NotSent
from runtime import specs
from runtime.system import storage as system
from tests.rpc.harness import free_port
from tests.rpc.test_rpc_upgrade import ALICE, NEW, _cli, author, born_at_11


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    n = born_at_11(tmp_path)
    author(n)
    author(n)
    yield n
    specs.limit(None)


async def propose(node: Node, capsys: pytest.CaptureFixture[str], at: int, *extra: str) -> tuple[int, str, str]:
    server = RpcServer(node, "127.0.0.1", free_port())
    await server.start()
    try:
        return await _cli(capsys, *extra, "propose", "--call", "system.schedule_spec", "--args", f"[{NEW}, {at}]",
                          "--emergency", "--from", "alice", "--json", "--rpc", server.url)
    finally:
        await server.stop()


def nonce(node: Node) -> int:
    return system.account.get(node.chain.state(), ALICE.public).nonce


@pytest.mark.asyncio
async def test_a_block_before_the_referendum_could_be_enacted_is_refused_for_free(
        node: Node, capsys: pytest.CaptureFixture[str]) -> None:
    before = (nonce(node), len(node.pool))
    code, out, err = await propose(node, capsys, node.chain.head.number + 20)
    assert code != 0 and not out
    assert "may come before the referendum is enacted" in err and "nothing was charged" in err, err
    assert len(err.strip().splitlines()) == 1
    assert (nonce(node), len(node.pool)) == before


@pytest.mark.asyncio
async def test_a_spec_this_node_cannot_run_is_refused_for_free(node: Node, capsys: pytest.CaptureFixture[str]) -> None:
    specs.limit(11)
    before = (nonce(node), len(node.pool))
    code, _, err = await propose(node, capsys, node.chain.head.number + 500)
    assert code != 0
    assert f"this node cannot run spec {NEW} (it runs specs 11)" in err and "nothing was charged" in err, err
    assert (nonce(node), len(node.pool)) == before


@pytest.mark.asyncio
async def test_a_sound_schedule_passes_both_checks(node: Node) -> None:
    """(Proposing it for real is the `upgrade` testnet's first step, with this command.)"""
    server = RpcServer(node, "127.0.0.1", free_port())
    await server.start()
    try:
        client = RpcClient(server.url)
        head = node.chain.head.number
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, _check_schedule, client, NEW, head + 500)
        with pytest.raises(NotSent, match="may come before"):  # the edge: voting (30 s) and enactment (5 s), 1 s slots
            await loop.run_in_executor(None, _check_schedule, client, NEW, head + 36)
        await loop.run_in_executor(None, _check_schedule, client, NEW, head + 37)
    finally:
        await server.stop()
