"""Across two OS processes: connect via bootnode, gossip both ways, request/response with 1 MB, then kill and
restart the peer process (same key and port) and see our redial loop reconnect it."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from p2p import generate_node_key, peer_id_from_key_file
from tests.p2p.harness import GENESIS, TOPIC, Inbox, Net, free_port, limit, peer_ids, wait_until

log = logging.getLogger("test.p2p")
REPO = Path(__file__).resolve().parents[2]
HELPER = Path(__file__).with_name("p2p_peer_process.py")


class PeerProcess:
    """tests/p2p/p2p_peer_process.py running in a child process; stderr goes to `<name>.log`."""

    _ids = itertools.count()

    def __init__(self, process: asyncio.subprocess.Process, log_path: Path) -> None:
        self.process = process
        self.log_path = log_path
        self.events: list[dict[str, Any]] = []
        self._reader = asyncio.ensure_future(self._read())

    @classmethod
    async def start(
        cls, directory: Path, name: str, port: int, key: Path, bootnodes: tuple[str, ...] = (), *extra: str,
        prefix: tuple[str, ...] = (),
    ) -> PeerProcess:
        """`prefix` goes before the interpreter (`ip netns exec NS` runs it in a network namespace)."""
        log_path = directory / f"{name}.log"
        args = [str(HELPER), "--port", str(port), "--key", str(key), "--genesis", GENESIS.hex(), *extra]
        for addr in bootnodes:
            args += ["--bootnode", addr]
        with open(log_path, "ab") as stderr:
            process = await asyncio.create_subprocess_exec(
                *prefix, sys.executable, *args, cwd=REPO, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=stderr, env={**os.environ, "PYTHONPATH": str(REPO)},
            )
        peer = cls(process, log_path)
        await wait_until(lambda: peer.find("ready") or peer.exited(), timeout=60, what=f"{name} ready")
        assert peer.find("ready"), f"{name} exited early; see {log_path}:\n{log_path.read_text()[-3000:]}"
        return peer

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for line in self.process.stdout:
            self.events.append(json.loads(line))

    def exited(self) -> bool:
        return self.process.returncode is not None

    def find(self, event: str, **match: Any) -> dict[str, Any] | None:
        for item in self.events:
            if item["event"] == event and all(item.get(k) == v for k, v in match.items()):
                return item
        return None

    @property
    def peer_id(self) -> str:
        ready = self.find("ready")
        assert ready is not None
        return str(ready["peer_id"])

    async def send(self, command: str, **fields: Any) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write((json.dumps({"cmd": command, **fields}) + "\n").encode())
        await self.process.stdin.drain()

    async def call(self, command: str, reply: str, timeout: float = 30.0, **fields: Any) -> dict[str, Any]:
        call_id = next(self._ids)
        await self.send(command, id=call_id, **fields)
        return await wait_until(lambda: self.find(reply, id=call_id), timeout=timeout, what=f"{command} reply")

    async def kill(self) -> None:
        self.process.kill()
        await self.process.wait()
        await self._reader

    async def stop(self) -> int:
        await self.send("stop")
        returncode = await asyncio.wait_for(self.process.wait(), limit(30))
        await self._reader
        return returncode


@pytest.fixture
async def processes() -> AsyncIterator[list[PeerProcess]]:
    started: list[PeerProcess] = []
    yield started
    for peer in started:
        if not peer.exited():
            await peer.kill()


async def test_two_processes_gossip_request_and_restart(net: Net, tmp_path: Path,
                                                        processes: list[PeerProcess]) -> None:
    port = free_port()
    key = tmp_path / "peer.key"
    peer_id = generate_node_key(key).peer_id
    assert peer_id_from_key_file(key) == peer_id

    a = net.service("a", (f"/ip4/127.0.0.1/tcp/{port}/p2p/{peer_id}",), redial_max_interval=1.0)
    inbox = Inbox()
    a.subscribe(TOPIC, inbox)

    async def echo(peer: str, data: bytes) -> bytes:
        return b"a:" + data

    a.set_request_handler("sync/echo", echo)
    await a.start()  # before its bootnode exists: the redial loop must keep trying

    log.info("step: start the peer process; A connects to it")
    peer = await PeerProcess.start(tmp_path, "peer", port, key)
    processes.append(peer)
    assert peer.peer_id == peer_id
    await wait_until(lambda: peer_id in peer_ids(a), what="A connected to the process")
    await wait_until(lambda: peer.find("connected", peer=a.local_peer_id), what="process connected to A")
    await wait_until(lambda: _meshed(a, peer), what="gossip mesh both ways")

    log.info("step: gossip both ways")
    sent = time.perf_counter()
    await a.publish(TOPIC, b"from a")
    await wait_until(lambda: peer.find("gossip", data=b"from a".hex()), what="process receives A's gossip")
    log.info("gossip A -> process (incl. stdout relay): %.1f ms", (time.perf_counter() - sent) * 1000)
    await peer.send("publish", topic=TOPIC, data=b"from peer".hex())
    await wait_until(lambda: b"from peer" in inbox.data, what="A receives the process's gossip")

    log.info("step: request/response both ways, 1 MB response")
    sent = time.perf_counter()
    assert await a.request(peer_id, "sync/echo", b"hi") == b"hi"
    log.info("request round trip across processes: %.1f ms", (time.perf_counter() - sent) * 1000)
    sent = time.perf_counter()
    big = await a.request(peer_id, "sync/sized", b"1000000")
    log.info("1 MB response across processes: %.1f ms", (time.perf_counter() - sent) * 1000)
    assert big == bytes(range(256)) * (1_000_000 // 256) + bytes(1_000_000 % 256)
    reply = await peer.call("request", "response", peer=a.local_peer_id, protocol="sync/echo", data=b"yo".hex())
    assert bytes.fromhex(reply["data"]) == b"a:yo"

    log.info("step: kill the process; A notices")
    await peer.kill()
    await wait_until(lambda: peer_id not in peer_ids(a), what="A sees the process gone")

    log.info("step: restart it with the same key and port; A's redial loop reconnects")
    # this time it subscribes after start, as the node does
    restarted = await PeerProcess.start(tmp_path, "peer-restarted", port, key, (), "--subscribe-after-start")
    processes.append(restarted)
    assert restarted.peer_id == peer_id, "the node key file keeps the peer id"
    await wait_until(lambda: peer_id in peer_ids(a), what="A reconnected to the restarted process")
    await wait_until(lambda: _meshed(a, restarted), what="gossip mesh after restart")
    await restarted.send("publish", topic=TOPIC, data=b"after restart".hex())
    await wait_until(lambda: b"after restart" in inbox.data, what="gossip from the restarted process")
    await a.publish(TOPIC, b"to the restarted process")
    await wait_until(lambda: restarted.find("gossip", data=b"to the restarted process".hex()),
                     what="gossip to the restarted process")
    assert await a.request(peer_id, "sync/echo", b"again") == b"again"

    assert await restarted.stop() == 0
    assert restarted.find("stopped")


async def _meshed(a: Any, peer: PeerProcess) -> bool:
    if peer.peer_id not in await a.gossip_peers(TOPIC):
        return False
    reply = await peer.call("mesh", "mesh", topic=TOPIC)
    return a.local_peer_id in reply["peers"]
