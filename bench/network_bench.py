"""Network figures from real node processes on 127.0.0.1 (a benchmark, not a test).

- propagation: a 4-validator devnet (1 s slots); each node's WebSocket new-head notifications are
  timestamped; a block's delay on a node is its arrival there minus its first arrival anywhere (the author).
- finality: time from a block's first arrival to the first finalized-head notification at or above it.
- sync: a node that starts late catches up a prebuilt chain of full blocks; blocks/s and transfers/s.

Run: python -m bench.network_bench [seconds] [sync_blocks] [transfers_per_block]   (or `btt-chain bench network`)
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench.dev_node import exited, free_port
from bench.errors import BenchFailed
from btt_chain.client.headers import header_hash
from btt_chain.client.rpc import RpcClient, RpcError
from cli.devnet_cmd import DevnetNode, node_args, plan_devnet, stop_processes


def _start(node: DevnetNode, spec: Path, boot: list[DevnetNode], extra: tuple[str, ...] = ()) -> None:
    log = open(node.datadir / "node.log", "ab")
    node.process = subprocess.Popen(node_args(node, spec, boot, extra), stdout=log, stderr=subprocess.STDOUT,
                                    env={**os.environ, "PYTHONUNBUFFERED": "1"})
    log.close()


def _wait_rpc(node: DevnetNode, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ended = exited(node.process, node.datadir / "node.log") if node.process is not None else None
        if ended is not None:
            raise BenchFailed(f"node{node.index}: {ended}")
        try:
            RpcClient(node.rpc_url, timeout=1).call("system_health")
            return
        except RpcError:
            time.sleep(0.2)
    raise BenchFailed(f"node{node.index} did not start in {timeout:.0f} s; see {node.datadir / 'node.log'}")


@dataclass
class Watched:
    """What the watch saw: each block's arrival time per node, node 0's finalized notifications (time, number), each
    block's number, and the blocks a subscription's first reply named (its current head, sent on subscribing: their
    arrival happened before the window and is not known)."""

    arrivals: dict[str, dict[int, float]] = field(default_factory=dict)
    finals: list[tuple[float, int]] = field(default_factory=list)
    numbers: dict[str, int] = field(default_factory=dict)
    before_window: set[str] = field(default_factory=set)


async def _watch(nodes: list[DevnetNode], seconds: float) -> Watched:
    watched = Watched()

    async def one(node: DevnetNode, session: aiohttp.ClientSession) -> None:
        async with session.ws_connect(node.rpc_url) as ws:
            await ws.send_json({"jsonrpc": "2.0", "id": 1, "method": "chain_subscribeNewHeads", "params": []})
            await ws.send_json({"jsonrpc": "2.0", "id": 2, "method": "chain_subscribeFinalizedHeads", "params": []})
            end = time.monotonic() + seconds
            first_head = True
            while time.monotonic() < end:
                try:
                    msg = await ws.receive(timeout=max(0.1, end - time.monotonic()))
                except TimeoutError:
                    break
                if msg.type != aiohttp.WSMsgType.TEXT:
                    break
                now = time.monotonic()
                data: dict[str, Any] = json.loads(msg.data)
                if data.get("method") == "chain_newHead":
                    h = data["params"]["result"]
                    block_hash = "0x" + header_hash(h).hex()
                    if first_head:
                        watched.before_window.add(block_hash)
                        first_head = False
                    watched.arrivals.setdefault(block_hash, {})[node.index] = now
                    watched.numbers[block_hash] = int(h["number"], 16)
                elif data.get("method") == "chain_finalizedHead" and node.index == 0:
                    watched.finals.append((now, int(data["params"]["result"]["number"], 16)))

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(one(n, session) for n in nodes))
    return watched


def finality_delays(watched: Watched) -> list[float]:
    """Seconds from each block's first arrival to node 0's first finalized notification at or above it, over the
    blocks first seen in the window and not yet finalized then (a block finalized before anyone was watching, or one
    node 0 synced after finalizing it, has no such time)."""
    to_final = []
    for h, per_node in watched.arrivals.items():
        if h in watched.before_window:
            continue
        number, first = watched.numbers[h], min(per_node.values())
        if any(f >= number for t, f in watched.finals if t <= first):
            continue
        done = [t for t, f in watched.finals if f >= number and t > first]
        if done:
            to_final.append(min(done) - first)
    return to_final


def figures(watched: Watched, nodes: int) -> dict[str, float | str]:
    """Propagation over the blocks every node announced in the window; block to finality as `finality_delays`."""
    delays = []
    complete = 0
    for h, per_node in watched.arrivals.items():
        if len(per_node) < nodes or h in watched.before_window:
            continue
        complete += 1
        first = min(per_node.values())
        delays += [(t - first) * 1000 for t in per_node.values() if t != first]
    to_final = finality_delays(watched)
    return {
        "nodes": nodes,
        "blocks_seen_by_all": complete,
        "propagation_p50_ms": _figure(_pct(delays, 0.5), 1),
        "propagation_p99_ms": _figure(_pct(delays, 0.99), 1),
        "block_to_finality_p50_s": _figure(_pct(to_final, 0.5), 2),
        "block_to_finality_p99_s": _figure(_pct(to_final, 0.99), 2),
    }


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def _figure(value: float, digits: int) -> float | str:
    """A percentile rounded, or why there is none (no block completed it in the window)."""
    return "none in the window" if value != value else round(value, digits)


def propagation_and_finality(seconds: float = 60.0, nodes: int = 4, settle_s: float = 5.0) -> dict[str, float | str]:
    """Propagation and finality on a devnet of `nodes` validators, watched `seconds` after `settle_s` seconds for
    the mesh to form."""
    base = Path(tempfile.mkdtemp(prefix="btt-bench-net-"))
    plan: list[DevnetNode] = []
    try:
        spec, plan = plan_devnet(base, nodes, 0, 0, 4, None)
        for n in plan:
            n.p2p_port, n.rpc_port = free_port(), free_port()
        for n in plan:
            _start(n, spec, plan[: n.index])
        for n in plan:
            _wait_rpc(n)
        time.sleep(settle_s)  # let the mesh form
        watched = asyncio.run(_watch(plan, seconds))
    finally:
        stop_processes(plan)
        shutil.rmtree(base, ignore_errors=True)
    return figures(watched, nodes)


def sync_speed(blocks: int = 1000, transfers_per_block: int = 100) -> dict[str, float]:
    """Prebuild `blocks` blocks of signed transfers, serve them from one node, time a late node catching up."""
    from btt_chain.node.chain import Chain
    from btt_chain.primitives.extrinsic import Extrinsic, sign_extrinsic
    from btt_chain.primitives.keys import dev_keypair
    from genesis.build import build_genesis
    from genesis.devnet import devnet_spec_doc
    from genesis.loader import canonical_json, load_chain_spec, parse_chain_spec
    from runtime.modules import RUNTIME
    from storage.leveldb import LevelDBStore

    base = Path(tempfile.mkdtemp(prefix="btt-bench-sync-"))
    plan: list[DevnetNode] = []
    try:
        start_ms = (int(time.time()) - blocks - 60) * 1000
        spec_path = base / "spec.json"
        spec_path.write_bytes(canonical_json(devnet_spec_doc(1, start_ms, 20)))
        spec = load_chain_spec(str(spec_path))
        genesis = build_genesis(parse_chain_spec(spec.raw))
        from p2p.node_key import load_or_create_node_key

        plan = [
            DevnetNode(i, "alice" if i == 0 else "bob", base / f"node{i}", free_port(), free_port(),
                       load_or_create_node_key(base / f"node{i}" / "node-key").peer_id)
            for i in range(2)
        ]
        senders = [dev_keypair(n) for n in ("bob", "charlie", "eve", "ferdie")]
        alice = dev_keypair("alice")
        built = time.monotonic()
        with LevelDBStore(plan[0].datadir / "chains" / spec.id / "db") as kv:
            chain = Chain(kv, genesis)
            nonces = dict.fromkeys(range(len(senders)), 0)
            for b in range(blocks):
                xts = []
                for i in range(transfers_per_block):
                    s = (b * transfers_per_block + i) % len(senders)
                    call = RUNTIME.call("balances.transfer_allow_death", alice.public, 10**15)
                    xts.append(sign_extrinsic(senders[s], call, nonces[s], genesis.hash, RUNTIME.spec_version))
                    nonces[s] += 1
                imported, dropped = chain.author_block(chain.head.slot + 1, alice, [(x, len(x.encode())) for x in xts])
                if dropped:
                    raise RuntimeError(f"a transfer of the prebuilt chain was dropped: {dropped[0][1]}")
                held = sum(1 for x in imported.block.extrinsics if isinstance(x, Extrinsic))
                if held < len(xts):  # the block's limits: the rest would be sent again with nonces gone ahead
                    raise BenchFailed(f"a prebuilt block held {held} of its {len(xts)} transfers: ask for fewer "
                                       "per block")
        build_s = time.monotonic() - built
        _start(plan[0], spec_path, [])
        _wait_rpc(plan[0])
        # the late node: no validator key
        late = plan[1]
        args = node_args(late, spec_path, [plan[0]], ())
        args = [a for a in args if a not in ("--validator", "--key", "bob")]
        log = open(late.datadir / "node.log", "ab")
        began = time.monotonic()
        late.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                        env={**os.environ, "PYTHONUNBUFFERED": "1"})
        log.close()
        _wait_rpc(late)
        started = time.monotonic()
        client = RpcClient(late.rpc_url, timeout=5)
        while int(client.call("chain_getHeader")["number"], 16) < blocks:
            time.sleep(0.1)
            if time.monotonic() - started > 600:
                raise BenchFailed(f"the late node did not sync {blocks} blocks in 10 minutes; see "
                                  f"{late.datadir / 'node.log'}")
        synced = time.monotonic()
    finally:
        stop_processes(plan)
        shutil.rmtree(base, ignore_errors=True)
    sync_s = synced - started
    return {
        "blocks": blocks,
        "transfers_per_block": transfers_per_block,
        "prebuild_s": round(build_s, 1),
        "process_start_s": round(started - began, 1),
        "sync_s": round(sync_s, 1),
        "blocks_per_s": round(blocks / sync_s, 1),
        "transfers_per_s": round(blocks * transfers_per_block / sync_s),
    }


def main(argv: list[str]) -> None:
    seconds = float(argv[0]) if argv else 60.0
    blocks = int(argv[1]) if len(argv) > 1 else 1000
    per_block = int(argv[2]) if len(argv) > 2 else 100
    for k, v in {**propagation_and_finality(seconds), **sync_speed(blocks, per_block)}.items():
        print(f"{k:>26}  {v}")


if __name__ == "__main__":
    main(sys.argv[1:])
