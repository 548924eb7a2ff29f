"""The load generator: transfers at a steady rate, each sent with `author_submitAndWatchExtrinsic` to a node that
is up, and followed until a finalized block includes it or the node reports its end (or the watch is cut:
`lost`). Inclusion alone is not the end: a block can be reverted (its author killed before anyone else had it),
so a client that stopped at `inBlock` would not know its transfer was lost.

One sender per validator account, each sequential (the next transfer after the previous one's fate is known),
so a lost transfer never leaves a nonce gap behind it: after any ending the sender re-reads its next nonce.
Runs its own asyncio loop in a thread; the runner reads `records` after `stop()`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import aiohttp

from btt_chain.client.headers import header_hash, header_number
from btt_chain.primitives.extrinsic import Era, born_at_finalized, sign_extrinsic
from btt_chain.primitives.keys import dev_keypair
from btt_chain.testnet.checks import TxRecord
from runtime.modules import RUNTIME

log = logging.getLogger("btt.testnet")

TRANSFER_BASE_UNITS = 10**16
"""0.01 BTT per transfer: a few hundred transfers cost the validators' accounts nothing that matters."""
WATCH_TIMEOUT_S = 90.0
"""Longest wait for a transfer's fate: inclusion and then finality (a few epochs), or a reported end."""
MORTALITY = 64
RPC_TIMEOUT_S = 5.0


class LoadGenerator:
    def __init__(self, senders: Sequence[str], tps: float, live_nodes: Callable[[], list[tuple[str, str]]],
                 genesis_hash: bytes, clock: Callable[[], float]) -> None:
        """`live_nodes()` -> [(node name, RPC URL)] of nodes not perturbed now; `clock()` -> seconds into the run."""
        self.senders = list(senders)
        self.tps = tps
        self.live_nodes = live_nodes
        self.genesis_hash = genesis_hash
        self.clock = clock
        self.records: list[TxRecord] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._dest = dev_keypair("dave").public

    def start(self) -> None:
        if self.tps <= 0 or not self.senders:
            return
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), name="testnet-load", daemon=True)
        self._thread.start()

    def stop(self, wait_s: float) -> None:
        """Stop sending; wait up to `wait_s` for the transfers in flight to end."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(wait_s)

    async def _main(self) -> None:
        timeout = aiohttp.ClientTimeout(total=RPC_TIMEOUT_S)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            period = len(self.senders) / self.tps
            await asyncio.gather(*(self._sender(session, name, period, i * period / len(self.senders))
                                   for i, name in enumerate(self.senders)))

    async def _rpc(self, session: aiohttp.ClientSession, url: str, method: str, *params: Any) -> Any:
        async with session.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}) as r:
            data = await r.json()
        if "error" in data:
            raise RuntimeError(data["error"].get("message", "error"))
        return data["result"]

    async def _sender(self, session: aiohttp.ClientSession, name: str, period: float, offset: float) -> None:
        pair = dev_keypair(name)
        await asyncio.sleep(offset)
        nonce: int | None = None
        while not self._stop.is_set():
            began = time.monotonic()
            nodes = self.live_nodes()
            if not nodes:
                await asyncio.sleep(1)
                continue
            node, url = random.choice(nodes)
            try:
                head = await self._rpc(session, url, "chain_getHeader")
                born = await self._rpc(session, url, "chain_getHeader",
                                       await self._rpc(session, url, "chain_getFinalizedHead"))
                if not born_at_finalized(header_number(head), header_number(born), MORTALITY):
                    born = await self._rpc(session, url, "chain_getHeader", head["parentHash"])
                # the spec the next block runs (it changes at an upgrade: a transfer signed for the old one is refused)
                version = await self._rpc(session, url, "state_getRuntimeVersion", "0x" + header_hash(head).hex())
                if nonce is None:
                    nonce = int(await self._rpc(session, url, "system_accountNextIndex", "0x" + pair.public.hex()))
            except (aiohttp.ClientError, OSError, RuntimeError, TimeoutError, ValueError) as exc:
                log.debug("load: %s unreachable: %r", node, exc)
                await asyncio.sleep(0.5)
                continue
            call = RUNTIME.call("balances.transfer_allow_death", self._dest, TRANSFER_BASE_UNITS)
            xt = sign_extrinsic(pair, call, nonce, self.genesis_hash, int(version["specVersion"]),
                                era=Era.mortal(MORTALITY, header_number(born)), birth_hash=header_hash(born))
            record = TxRecord("0x" + xt.hash().hex(), node, self.clock())
            self.records.append(record)
            await self._watch(session, url, "0x" + xt.encode().hex(), record)
            if record.outcome == "finalized":
                nonce += 1
            else:
                nonce = None  # re-read from a node: the fate of this nonce is for the chain to say
            await asyncio.sleep(max(0.0, period - (time.monotonic() - began)))

    async def _watch(self, session: aiohttp.ClientSession, url: str, encoded: str, record: TxRecord) -> None:
        try:
            async with session.ws_connect(url, timeout=aiohttp.ClientWSTimeout(ws_close=2), heartbeat=5) as ws:
                await ws.send_json({"jsonrpc": "2.0", "id": 1, "method": "author_submitAndWatchExtrinsic",
                                    "params": [encoded]})
                async with asyncio.timeout(WATCH_TIMEOUT_S):
                    async for msg in ws:
                        if msg.type != aiohttp.WSMsgType.TEXT:
                            break
                        data = json.loads(msg.data)
                        if data.get("id") == 1:
                            if "error" in data:
                                err = data["error"]
                                reason = f": {err['data']}" if err.get("data") else ""
                                record.outcome, record.detail = "rejected", f"{err.get('message')}{reason}"
                                return
                            record.outcome = "ready"
                            continue
                        status = data.get("params", {}).get("result")
                        if isinstance(status, dict) and "inBlock" in status:
                            record.outcome = "in_block"
                            continue
                        if isinstance(status, dict) and "finalized" in status:
                            record.outcome = "finalized"
                            return
                        if status in ("usurped", "dropped", "invalid"):
                            record.outcome = str(status)
                            return
        except TimeoutError as exc:
            if record.outcome != "pending":
                return  # accepted, then neither included nor reported within the watch timeout: a problem
            record.detail = repr(exc)  # the handshake or the answer timed out (the node is paused)
        except (aiohttp.ClientError, OSError) as exc:
            record.detail = repr(exc)
        if record.outcome == "pending":
            # no answer to the submission (node paused, killed or cut off before answering): never accepted as
            # far as the client knows, though the node may have pooled it; the check allows at most one inclusion
            record.outcome = "unacknowledged"
        elif record.outcome in ("ready", "in_block"):
            # the node closed the watch (killed, cut off): the client knows this transfer's fate is unknown
            record.outcome = "lost"
