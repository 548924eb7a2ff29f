"""Hostile RPC clients in a process of their own (issue 25's attacks), for tests that run them against a real node.

    python -m tests.support.rpc_attacker ATTACK --url http://127.0.0.1:PORT --seconds S [options]

Attacks:
  explorer-loop   HTTP clients calling the explorer's heaviest methods in a loop
  ws-batches      WebSockets each sending 100-call batches of heavy calls, then leaving at once
  subscribe       WebSockets from several loopback addresses, each with many btt_subscribeEvents
  idle            WebSockets from several loopback addresses that never send a request (they answer pings)

Prints one JSON line on exit: what the attack managed (calls answered, errors, closes and their reasons).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from collections import Counter
from typing import Any

import aiohttp


def _addresses(n: int) -> list[str]:
    return [f"127.0.0.{2 + i}" for i in range(n)]


def _session(local: str | None = None) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=0, local_addr=(local, 0) if local else None)
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=None))


def _heavy_calls(block: Any, account: str | None) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = [
        {"jsonrpc": "2.0", "id": 1, "method": "btt_explorerBlock", "params": [block]},
        {"jsonrpc": "2.0", "id": 2, "method": "btt_explorerBlocks", "params": [None, 100]},
        {"jsonrpc": "2.0", "id": 3, "method": "btt_explorerEvents", "params": [["balances", "fees"], 2000, 500]},
        {"jsonrpc": "2.0", "id": 4, "method": "btt_explorerBurns", "params": [2000, 100]},
    ]
    if account is not None:
        calls.append({"jsonrpc": "2.0", "id": 5, "method": "btt_explorerAccountExtrinsics",
                      "params": [account, 2000, 100]})
    return calls


async def explorer_loop(args: argparse.Namespace, stats: Counter[str]) -> None:
    calls = _heavy_calls(args.block, args.account)
    deadline = time.monotonic() + args.seconds

    async def client(i: int) -> None:
        async with _session() as session:
            n = i
            while time.monotonic() < deadline:
                call = calls[n % len(calls)]
                n += 1
                try:
                    async with session.post(args.url, json=call) as resp:
                        body = await resp.json(content_type=None)
                        stats["answered" if "result" in body else "errors"] += 1
                except (aiohttp.ClientError, ValueError, json.JSONDecodeError):
                    stats["failed"] += 1

    await asyncio.gather(*(client(i) for i in range(args.clients)))


async def ws_batches(args: argparse.Namespace, stats: Counter[str]) -> None:
    calls = _heavy_calls(args.block, args.account)
    batch = [{**calls[i % len(calls)], "id": i} for i in range(100)]
    deadline = time.monotonic() + args.seconds

    async def client(i: int) -> None:
        async with _session() as session:
            try:
                async with session.ws_connect(args.url, max_msg_size=0) as ws:
                    while time.monotonic() < deadline:
                        await ws.send_json(batch)
                        with contextlib.suppress(TimeoutError):
                            msg = await ws.receive(timeout=max(0.1, deadline - time.monotonic()))
                            if msg.type == aiohttp.WSMsgType.TEXT:
                                stats["batches_answered"] += 1
                            elif msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                                stats[f"closed:{ws.close_code}"] += 1
                                return
                    stats["left_with_work_queued"] += 1  # leave without reading the last answer
            except aiohttp.ClientError as exc:
                stats[f"refused:{type(exc).__name__}"] += 1

    await asyncio.gather(*(client(i) for i in range(args.clients)))


async def subscribe(args: argparse.Namespace, stats: Counter[str]) -> None:
    deadline = time.monotonic() + args.seconds

    async def client(local: str) -> None:
        async with _session(local) as session:
            try:
                async with session.ws_connect(args.url, max_msg_size=0) as ws:
                    stats["connected"] += 1
                    for i in range(args.subs):
                        await ws.send_json({"jsonrpc": "2.0", "id": i, "method": "btt_subscribeEvents"})
                    while time.monotonic() < deadline:
                        try:
                            msg = await ws.receive(timeout=max(0.1, deadline - time.monotonic()))
                        except TimeoutError:
                            break
                        if msg.type == aiohttp.WSMsgType.TEXT:
                            body = json.loads(msg.data)
                            if "error" in body:
                                stats["subscribe_refused"] += 1
                            elif "method" in body:
                                stats["notifications"] += 1
                            else:
                                stats["subscribed"] += 1
                        else:
                            stats[f"closed:{ws.close_code}"] += 1
                            return
            except aiohttp.ClientError as exc:
                stats[f"refused:{type(exc).__name__}"] += 1

    locals_ = [a for a in _addresses(args.addresses) for _ in range(args.clients // args.addresses)]
    await asyncio.gather(*(client(a) for a in locals_))


async def idle(args: argparse.Namespace, stats: Counter[str]) -> None:
    deadline = time.monotonic() + args.seconds

    async def client(local: str) -> None:
        async with _session(local) as session:
            try:
                async with session.ws_connect(args.url, autoping=True, heartbeat=None) as ws:
                    stats["connected"] += 1
                    while time.monotonic() < deadline:
                        try:
                            msg = await ws.receive(timeout=max(0.1, deadline - time.monotonic()))
                        except TimeoutError:
                            break
                        if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED,
                                        aiohttp.WSMsgType.CLOSING):
                            stats[f"closed:{ws.close_code}:{(msg.extra or '')[:40]}"] += 1
                            return
            except aiohttp.WSServerHandshakeError as exc:
                stats[f"refused:{exc.status}"] += 1
            except aiohttp.ClientError as exc:
                stats[f"refused:{type(exc).__name__}"] += 1

    locals_ = [a for a in _addresses(args.addresses) for _ in range(args.clients // args.addresses)]
    await asyncio.gather(*(client(a) for a in locals_))


ATTACKS = {"explorer-loop": explorer_loop, "ws-batches": ws_batches, "subscribe": subscribe, "idle": idle}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("attack", choices=sorted(ATTACKS))
    parser.add_argument("--url", required=True)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--addresses", type=int, default=4)
    parser.add_argument("--subs", type=int, default=64)
    parser.add_argument("--block", default=None, help="Block number or hash the explorer calls ask for.")
    parser.add_argument("--account", default=None, help="Account the explorer's account scan asks for.")
    args = parser.parse_args(argv)
    if args.block is not None and args.block.isdecimal():
        args.block = int(args.block)
    stats: Counter[str] = Counter()
    started = time.monotonic()
    asyncio.run(ATTACKS[args.attack](args, stats))
    print(json.dumps({"attack": args.attack, "seconds": round(time.monotonic() - started, 1), **stats}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
