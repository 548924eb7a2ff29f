"""Submit a signed extrinsic with `author_submitAndWatchExtrinsic` and follow it until a block includes it,
so a transaction the pool drops (usurped, evicted, invalid) is reported to the user, never lost silently."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from typing import Any

from btt_chain.client.rpc import RpcError, named_by
from btt_chain.primitives.errors import BttError

ENDINGS = {
    "usurped": "replaced in the pool by another transaction with the same nonce and a higher tip",
    "dropped": "dropped from the pool (evicted by better-paying transactions, or it waited too long)",
    "invalid": "no longer valid (its nonce was used, or it cannot be included any more); nothing was paid",
}


class TransactionDropped(BttError):
    """The pool let the transaction go without including it; nothing was paid."""


MAX_EARLY = 64
"""Notifications kept while the subscription id is not known yet (a node that sends them before its response)."""


class _Updates:
    """The submission's response and its subscription's notifications, read in whatever order they come: a
    notification before the response that names its subscription is kept until the response comes."""

    def __init__(self) -> None:
        self.sub: str | None = None
        self.early: list[dict[str, Any]] = []

    def take(self, data: dict[str, Any]) -> tuple[str, str] | None:
        """(subscription, block hash) once a block includes the transaction; raises if the node refused or dropped
        it; None while neither."""
        if data.get("id") == 1:
            if "error" in data:
                err = data["error"]
                text = err.get("message", "error") + (f": {err['data']}" if err.get("data") else "")
                raise RpcError(text, err.get("code"), err.get("data"))
            self.sub = data["result"]
            early, self.early = self.early, []
            for message in early:
                found = self.take(message)
                if found is not None:
                    return found
            return None
        if data.get("method") != "author_extrinsicUpdate":
            return None
        if self.sub is None:
            if len(self.early) < MAX_EARLY:
                self.early.append(data)
            return None
        if data["params"]["subscription"] != self.sub:
            return None
        status = data["params"]["result"]
        if isinstance(status, dict) and "inBlock" in status:
            return self.sub, status["inBlock"]
        if isinstance(status, str) and status in ENDINGS:
            raise TransactionDropped(f"the transaction was {status}: {ENDINGS[status]}")
        return None


def first_inclusion(messages: Iterable[dict[str, Any]]) -> tuple[str, str] | None:
    """`_Updates` over a sequence of messages: (subscription, block hash) of the first inclusion, or None."""
    updates = _Updates()
    for data in messages:
        found = updates.take(data)
        if found is not None:
            return found
    return None


async def _follow(url: str, encoded_hex: str, timeout: float, option: str) -> tuple[str, str]:
    """(extrinsic hash, block hash) once a block includes it."""
    # imported here, not at the top: aiohttp costs ~0.35 s of CPU to import, which every `btt-chain` command paid at
    # start (the CLI imports this module for its submitting commands) and only a watched submission uses
    import aiohttp

    async with aiohttp.ClientSession() as session:
        try:
            ws = await session.ws_connect(url, timeout=aiohttp.ClientWSTimeout(ws_close=5))
        except (aiohttp.ClientError, OSError) as exc:
            raise RpcError(f"cannot reach a node at {url} ({exc}); is it running? ({named_by(option, url)})") from None
        async with ws:
            await ws.send_json({"jsonrpc": "2.0", "id": 1, "method": "author_submitAndWatchExtrinsic",
                                "params": [encoded_hex]})
            updates = _Updates()
            async with asyncio.timeout(timeout):
                async for msg in ws:
                    if msg.type != aiohttp.WSMsgType.TEXT:
                        break
                    found = updates.take(json.loads(msg.data))
                    if found is not None:
                        return found
    raise RpcError(f"the node at {url} closed the connection before the transaction was included "
                   f"({named_by(option, url)})")


def submit_and_watch(http_url: str, encoded_hex: str, timeout: float, option: str = "--rpc") -> str:
    """Submit and wait for inclusion; the including block's hash. Raises TransactionDropped or RpcError, naming
    `option`, the command-line option that gave the URL, when the node cannot be reached."""
    try:
        return asyncio.run(_follow(http_url, encoded_hex, timeout, option))[1]
    except TimeoutError:
        raise BttError(f"the transaction was not included within {timeout:.0f} s; it may still be") from None
