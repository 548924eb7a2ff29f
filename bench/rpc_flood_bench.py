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
import statistics
import time
from typing import Any

import aiohttp

from bench.dev_node import call, dev_node


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
    async with dev_node("btt-rpc-flood-", min_head=3) as (url, session):
        start_head = await call(session, url, "chain_getHeader")
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
            await call(session, url, "system_health")
            latencies.append((time.perf_counter() - t) * 1000)
            await asyncio.sleep(0.1)
        await asyncio.gather(*attackers, return_exceptions=True)
        end_head = await call(session, url, "chain_getHeader")
        elapsed_slots = int((time.time() * 1000 - start_slot_ms) // 1000)
        authored = int(end_head["number"], 16) - int(start_head["number"], 16)
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
