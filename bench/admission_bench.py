"""Pool admission over one WebSocket: `btt-chain bench admission`.

A real `btt-chain node --dev` process; alice funds 20 fresh accounts, whose signed transfers (150 each by default)
are prepared first, then sent over one WebSocket as JSON-RPC batches of `author_submitExtrinsic` calls, each batch
sent when the previous one is answered. Printed: transactions admitted per second (first send to last answer),
how many were admitted and how many refused (with the first reason). The node keeps authoring meanwhile.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench.rpc_flood_bench import _call, _free_port
from btt_chain.primitives.extrinsic import sign_extrinsic
from btt_chain.primitives.keys import Keypair, dev_keypair
from runtime.modules import RUNTIME

SENDERS = 20
UNIT = 10**18


async def _run(per_sender: int, batch: int) -> dict[str, Any]:
    rpc_port = _free_port()
    workdir = Path(tempfile.mkdtemp(prefix="btt-admission-"))
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
                    genesis_hex = await _call(session, url, "chain_getBlockHash", 0)
                    if genesis_hex:
                        break
                except (aiohttp.ClientError, KeyError, TypeError):
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the node did not start; see {workdir / 'node.log'}")
                await asyncio.sleep(0.2)
            genesis = bytes.fromhex(genesis_hex[2:])
            alice = dev_keypair("alice")
            senders = [Keypair((1000 + i).to_bytes(32, "big")) for i in range(SENDERS)]
            nonce = int(await _call(session, url, "system_accountNextIndex", "0x" + alice.public.hex()))
            for i, pair in enumerate(senders):  # fund the senders from alice first (not timed)
                call = RUNTIME.call("balances.transfer", pair.public, 100 * UNIT)
                xt = sign_extrinsic(alice, call, nonce + i, genesis, RUNTIME.spec_version)
                await _call(session, url, "author_submitExtrinsic", "0x" + xt.encode().hex())
            while True:
                funded = [await _call(session, url, "btt_account", "0x" + p.public.hex()) for p in senders]
                if all(int(a["free"]) > 0 for a in funded):
                    break
                if time.monotonic() > deadline + 60:
                    raise RuntimeError("the funding transfers were not included")
                await asyncio.sleep(0.3)
            encoded: list[str] = []
            for pair in senders:
                for k in range(per_sender):
                    call = RUNTIME.call("balances.transfer", alice.public, 10**15 + k)
                    encoded.append("0x" + sign_extrinsic(pair, call, k, genesis, RUNTIME.spec_version).encode().hex())
            # interleave senders so that every batch spreads over the accounts, each sender's nonces in order
            order = sorted(range(len(encoded)), key=lambda i: (i % per_sender, i // per_sender))
            admitted = refused = 0
            first_reason = ""
            async with session.ws_connect(url, max_msg_size=64 << 20) as ws:
                start = time.perf_counter()
                for at in range(0, len(order), batch):
                    chunk = order[at : at + batch]
                    await ws.send_json([{"jsonrpc": "2.0", "id": i, "method": "author_submitExtrinsic",
                                         "params": [encoded[i]]} for i in chunk])
                    replies = await ws.receive_json()
                    for r in replies:
                        if "result" in r:
                            admitted += 1
                        else:
                            refused += 1
                            first_reason = first_reason or str(r.get("error", {}).get("data") or r.get("error"))
                elapsed = time.perf_counter() - start
    finally:
        node.terminate()
        try:
            node.wait(20)
        except subprocess.TimeoutExpired:
            node.kill()
        log.close()
    return {
        "sent": len(encoded),
        "batch": batch,
        "admitted": admitted,
        "refused": refused,
        "first refusal": first_reason or "none",
        "seconds": round(elapsed, 2),
        "admitted_tx_per_s": round(admitted / elapsed),
    }


def run(per_sender: int = 150, batch: int = 100) -> dict[str, Any]:
    return asyncio.run(_run(per_sender, batch))


if __name__ == "__main__":
    for k, v in run().items():
        print(f"{k}: {v}")
