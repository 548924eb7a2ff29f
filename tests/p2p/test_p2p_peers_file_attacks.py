"""A hostile `peers.json` (p2p/peer_store.py) never stops a node from starting: deep nesting, wrong types, a huge
file, binary junk and bad multiaddrs are each skipped with one warning (issue 25, item 4.1)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from pathlib import Path

import pytest

from btt_chain.node.service import Node, NodeConfig
from p2p.peer_store import MAX_PEERS_FILE_BYTES, load_peers
from tests.p2p.harness import Net, free_port, limit, wait_until
from tests.p2p.test_p2p_discovery import peer

DEEP = b"[" * 6_000
"""6 KB of `[`: deeper than the JSON parser recurses (RecursionError, not a ValueError)."""

HOSTILE = {
    "deep brackets": DEEP,
    "deep inside the peers list": b'{"version": 1, "peers": ' + b"[" * 6_000,
    "deep objects": b'{"a":' * 3_000,
    "deep but parseable entries": json.dumps({"version": 1, "peers": [json.loads("[" * 900 + "]" * 900)]}).encode(),
    "version as a string": b'{"version": "1", "peers": []}',
    "version as true": json.dumps({"version": True, "peers": [[peer(1), "/ip4/10.0.0.2/tcp/30333"]]}).encode(),
    "peers as an object": b'{"version": 1, "peers": {"a": 1}}',
    "a number": b"1",
    "null": b"null",
    "huge": b'{"version": 1, "peers": [' + b" " * MAX_PEERS_FILE_BYTES + b"]}",
    "binary junk": bytes(range(256)) * 8,
    "random bytes": os.urandom(4096),
    "utf-16 junk": "\ufeff{\u0000".encode("utf-16"),
    "bad multiaddrs": json.dumps({"version": 1, "peers": [
        [peer(1), "/ip4/10.0.0.2/tcp/0"], [peer(2), "/ip6/::1/tcp/1"], [peer(3), "/ip4/999.0.0.1/tcp/1"],
        [peer(4), "/ip4/10.0.0.2/tcp/1/p2p/x"], [peer(5), "/ip4/224.0.0.1/tcp/1"], [peer(6), "/" * 100_000],
        [peer(7), "/ip4/10.0.0.2/udp/1"], [peer(8), ["/ip4/10.0.0.2/tcp/1"]],
    ]}).encode(),
}


@pytest.mark.parametrize("content", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_peers_file_is_skipped_with_one_warning(
    tmp_path: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "peers.json"
    path.write_bytes(content)
    with caplog.at_level(logging.WARNING, "btt.p2p"):
        assert load_peers(path) == []
    warnings = [r for r in caplog.records if r.name == "btt.p2p" and r.levelno == logging.WARNING]
    assert len(warnings) == 1, caplog.text
    assert str(path) in warnings[0].getMessage()


def test_deep_nesting_is_named_in_the_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "peers.json"
    path.write_bytes(DEEP)
    with caplog.at_level(logging.WARNING, "btt.p2p"):
        assert load_peers(path) == []
    assert "(nested too deeply); starting without them" in caplog.text


async def test_a_service_with_a_deeply_nested_peers_file_starts(
    net: Net, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    peers_file = tmp_path / "peers.json"
    peers_file.write_bytes(DEEP)
    service = net.service("a", (), peers_file=peers_file)
    with caplog.at_level(logging.WARNING, "btt.p2p"):
        await service.start()
    assert service.is_running
    assert "nested too deeply" in caplog.text


async def test_a_node_with_a_deeply_nested_peers_file_starts(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    node = Node(NodeConfig(chain="dev", base_path=tmp_path, tmp=False, validator_key=None, p2p_port=free_port(),
                           rpc_port=free_port()))
    peers_file = node.data_dir / "network" / "peers.json"
    peers_file.parent.mkdir(parents=True, exist_ok=True)
    peers_file.write_bytes(DEEP)
    with caplog.at_level(logging.WARNING, "btt.p2p"):
        running = asyncio.create_task(node.run())
        try:
            await wait_until(lambda: node.rpc_url is not None or running.done(), timeout=120, what="node started")
            assert not running.done(), running.exception()
            assert node.p2p is not None and node.p2p.is_running
        finally:
            node.stop()
            await asyncio.wait_for(running, limit(60))
    assert "nested too deeply" in caplog.text
