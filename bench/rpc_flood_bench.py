"""RPC under flood: does a 1-second-slot dev node keep authoring and answering health while attackers hammer
its RPC? (`btt-chain bench rpc-flood`)

A real `btt-chain node --dev` process; `connections` attacker WebSockets each send batches of 100
`chain_getBlockHash` calls of 1,000 numbers as fast as the node answers, plus one connection asking for
batches of `author_pendingExtrinsics` (the reply-amplification attack); a prober calls `system_health`
every 100 ms over HTTP. Printed: slots the node led in the window against blocks it authored, the health
latency p50/p95/max, calls answered, and the largest reply served. Loopback only; bounded in time.
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _call(session: aiohttp.ClientSession, url: str, method: str, *params: Any) -> Any:
    async with session.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}) as r:
        return (await r.json())["result"]


async def _attacker(url: str, stop: float, stats: dict[str, int], method: str, params: list[Any]) -> None:
    batch = [{"jsonrpc": "2.0", "id": i, "method": method, "params": params} for i in range(100)]
    async with aiohttp.ClientSession() as session, session.ws_connect(url, max_msg_size=64 << 20) as ws:
        while time.monotonic() < stop:
            await ws.send_json(batch)
            msg = await ws.receive()
            if msg.type != aiohttp.WSMsgType.TEXT:
                return
            stats["calls"] += 100
            stats["largest"] = max(stats["largest"], len(msg.data))


async def _run(connections: int, seconds: int) -> dict[str, Any]:
    rpc_port = _free_port()
    workdir = Path(tempfile.mkdtemp(prefix="btt-rpc-flood-"))
    log = open(workdir / "node.log", "wb")
    node = subprocess.Popen(
        [sys.executable, "-m", "cli", "node", "--dev", "--no-p2p", "--no-prometheus", "--rpc-port", str(rpc_port)],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    url = f"http://127.0.0.1:{rpc_port}"
    try:
        async with aiohttp.ClientSession() as session:
            deadline = time.monotonic() + 60
            while True:
                try:
                    head = int((await _call(session, url, "chain_getHeader"))["number"], 16)
                    if head >= 3:
                        break
                except (aiohttp.ClientError, KeyError, TypeError):
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the node did not start; see {workdir / 'node.log'}")
                await asyncio.sleep(0.2)
            # fill the pool so that pendingExtrinsics has something to amplify
            start_head = await _call(session, url, "chain_getHeader")
            start_slot_ms = time.time() * 1000
            stats = {"calls": 0, "largest": 0}
            stop = time.monotonic() + seconds
            attackers = [
                asyncio.create_task(_attacker(url, stop, stats, "chain_getBlockHash", [list(range(1000))]))
                for _ in range(connections)
            ]
            attackers.append(asyncio.create_task(_attacker(url, stop, stats, "author_pendingExtrinsics", [])))
            latencies = []
            while time.monotonic() < stop:
                t = time.perf_counter()
                await _call(session, url, "system_health")
                latencies.append((time.perf_counter() - t) * 1000)
                await asyncio.sleep(0.1)
            await asyncio.gather(*attackers, return_exceptions=True)
            end_head = await _call(session, url, "chain_getHeader")
            elapsed_slots = int((time.time() * 1000 - start_slot_ms) // 1000)
            authored = int(end_head["number"], 16) - int(start_head["number"], 16)
    finally:
        node.terminate()
        try:
            node.wait(20)
        except subprocess.TimeoutExpired:
            node.kill()
        log.close()
    latencies.sort()
    return {
        "attacker connections": connections + 1,
        "seconds": seconds,
        "slots in the window (the node leads every one)": elapsed_slots,
        "blocks authored": authored,
        "slots missed": max(0, elapsed_slots - authored),
        "system_health p50 ms": round(statistics.median(latencies), 1),
        "system_health p95 ms": round(latencies[int(len(latencies) * 0.95) - 1], 1),
        "system_health max ms": round(latencies[-1], 1),
        "attack calls answered": stats["calls"],
        "largest reply bytes": stats["largest"],
    }


def run(connections: int = 10, seconds: int = 25) -> dict[str, Any]:
    return asyncio.run(_run(connections, seconds))


if __name__ == "__main__":
    for k, v in run().items():
        print(f"{k}: {v}")
