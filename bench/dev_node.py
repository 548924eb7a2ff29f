"""A real `btt-chain node --dev` process for the benchmarks that need one (rpc-flood, admission): started on a
free loopback port with its log in a temporary folder, waited for until it has authored `min_head` blocks, and
always stopped."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

START_TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def call(session: aiohttp.ClientSession, url: str, method: str, *params: Any) -> Any:
    async with session.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}) as r:
        return (await r.json())["result"]


@contextlib.asynccontextmanager
async def dev_node(prefix: str, min_head: int = 1) -> AsyncIterator[tuple[str, aiohttp.ClientSession]]:
    """(RPC URL, an HTTP session) of a dev node that has authored `min_head` blocks; stopped on leaving."""
    rpc_port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    log = open(workdir / "node.log", "wb")
    node = subprocess.Popen(
        [sys.executable, "-m", "cli", "node", "--dev", "--no-p2p", "--no-prometheus", "--rpc-port", str(rpc_port)],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    url = f"http://127.0.0.1:{rpc_port}"
    try:
        async with aiohttp.ClientSession() as session:
            deadline = time.monotonic() + START_TIMEOUT_S
            while True:
                try:
                    if int((await call(session, url, "chain_getHeader"))["number"], 16) >= min_head:
                        break
                except (aiohttp.ClientError, KeyError, TypeError):
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the node did not start; see {workdir / 'node.log'}")
                await asyncio.sleep(0.2)
            yield url, session
    finally:
        node.terminate()
        try:
            node.wait(20)
        except subprocess.TimeoutExpired:
            node.kill()
        log.close()
