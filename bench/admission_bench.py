"""Pool admission over one WebSocket: `btt-chain bench admission`.

A real `btt-chain node --dev` process; alice funds 20 fresh accounts, whose signed transfers (150 each by default)
are prepared first, then sent over one WebSocket as JSON-RPC batches of `author_submitExtrinsic` calls, each batch
sent when the previous one is answered. Printed: transactions admitted per second (first send to last answer),
how many were admitted and how many refused (with the first reason). The node keeps authoring meanwhile.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp

from bench.dev_node import call, dev_node
from btt_chain.primitives.extrinsic import sign_extrinsic
from btt_chain.primitives.keys import Keypair, dev_keypair
from runtime.modules import RUNTIME

SENDERS = 20
UNIT = 10**18
FUND_TIMEOUT_S = 60.0


async def _fund(session: aiohttp.ClientSession, url: str, genesis: bytes, senders: list[Keypair]) -> None:
    """Alice gives every sender 100 BTT; returns once all of them hold it (not timed)."""
    alice = dev_keypair("alice")
    nonce = int(await call(session, url, "system_accountNextIndex", "0x" + alice.public.hex()))
    for i, pair in enumerate(senders):
        transfer = RUNTIME.call("balances.transfer_allow_death", pair.public, 100 * UNIT)
        xt = sign_extrinsic(alice, transfer, nonce + i, genesis, RUNTIME.spec_version)
        await call(session, url, "author_submitExtrinsic", "0x" + xt.encode().hex())
    deadline = time.monotonic() + FUND_TIMEOUT_S
    while True:
        funded = [await call(session, url, "btt_account", "0x" + p.public.hex()) for p in senders]
        if all(int(a["free"]) > 0 for a in funded):
            return
        if time.monotonic() > deadline:
            raise RuntimeError("the funding transfers were not included")
        await asyncio.sleep(0.3)


async def _run(per_sender: int, batch: int) -> dict[str, Any]:
    async with dev_node("btt-admission-") as (url, session):
        genesis = bytes.fromhex((await call(session, url, "chain_getBlockHash", 0))[2:])
        senders = [Keypair((1000 + i).to_bytes(32, "big")) for i in range(SENDERS)]
        await _fund(session, url, genesis, senders)
        to = dev_keypair("alice").public
        encoded = [
            "0x" + sign_extrinsic(pair, RUNTIME.call("balances.transfer_allow_death", to, 10**15 + k), k, genesis,
                                  RUNTIME.spec_version).encode().hex()
            for pair in senders for k in range(per_sender)
        ]
        # interleave senders so that every batch spreads over the accounts, each sender's nonces in order
        order = sorted(range(len(encoded)), key=lambda i: (i % per_sender, i // per_sender))
        admitted = refused = 0
        first_reason = ""
        async with session.ws_connect(url, max_msg_size=64 << 20) as ws:
            start = time.perf_counter()
            for at in range(0, len(order), batch):
                await ws.send_json([{"jsonrpc": "2.0", "id": i, "method": "author_submitExtrinsic",
                                     "params": [encoded[i]]} for i in order[at : at + batch]])
                for r in await ws.receive_json():
                    if "result" in r:
                        admitted += 1
                    else:
                        refused += 1
                        first_reason = first_reason or str(r.get("error", {}).get("data") or r.get("error"))
            elapsed = time.perf_counter() - start
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
