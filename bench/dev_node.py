"""A real `btt-chain node --dev` process for the benchmarks that need one (rpc-flood, admission): started on a
free loopback port with its log in a temporary folder (removed after a run that went well), waited for until it
has authored `min_head` blocks, and always stopped. Also the ports every bench's node processes bind (`free_port`)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

from bench.errors import BenchFailed

START_TIMEOUT_S = 60.0
PORTS_ENV = "BTT_BENCH_PORTS"
"""Comma-separated ports the bench's processes take, in order, instead of ports the kernel picks: a test hands out
ports it planned (tests/support/ports.py), so that a port planned here is not one another test's bind(0) or outgoing
connection takes before the node binds it."""

_handed_out: dict[str, int] = {}
"""BTT_BENCH_PORTS' value -> how many of its ports this process has handed out."""


def free_port() -> int:
    """The next port of BTT_BENCH_PORTS when it is set, else a loopback port free now (the kernel's pick)."""
    listed = os.environ.get(PORTS_ENV, "").strip()
    if not listed:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])
    ports = listed.split(",")
    taken = _handed_out.get(listed, 0)
    if taken >= len(ports):
        raise BenchFailed(f"{PORTS_ENV} lists {len(ports)} port(s) and this bench needs more")
    port = ports[taken].strip()
    if not port.isdigit() or not 0 < int(port) < 65_536:
        raise BenchFailed(f"{PORTS_ENV}: {port!r} is not a port number")
    _handed_out[listed] = taken + 1
    return int(port)


def exited(process: subprocess.Popen[bytes], log: Path) -> str | None:
    """None while `process` runs; else one line saying how it ended, with its log's last line (a node that cannot
    bind its port says so there)."""
    code = process.poll()
    if code is None:
        return None
    try:
        lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        lines = []
    return f"the node exited with code {code}: {lines[-1].strip() if lines else 'no output'} (log: {log})"


async def call(session: aiohttp.ClientSession, url: str, method: str, *params: Any, timeout_s: float = 300.0) -> Any:
    async with session.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)},
                            timeout=aiohttp.ClientTimeout(total=timeout_s)) as r:
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
    ended_well = False
    try:
        async with aiohttp.ClientSession() as session:
            deadline = time.monotonic() + START_TIMEOUT_S
            while True:
                try:
                    # a short timeout: whatever else holds the port may take the connection and never answer
                    if int((await call(session, url, "chain_getHeader", timeout_s=2.0))["number"], 16) >= min_head:
                        break
                except (aiohttp.ClientError, TimeoutError, KeyError, TypeError, ValueError):
                    pass
                ended = exited(node, workdir / "node.log")
                if ended is not None:
                    raise BenchFailed(ended)
                if time.monotonic() > deadline:
                    raise BenchFailed(f"the node did not start in {START_TIMEOUT_S:.0f} s; see "
                                      f"{workdir / 'node.log'}")
                await asyncio.sleep(0.2)
            yield url, session
        ended_well = True
    finally:
        node.terminate()
        try:
            node.wait(20)
        except subprocess.TimeoutExpired:
            node.kill()
        log.close()
    if ended_well:  # a failure's message names the log: it is kept then
        shutil.rmtree(workdir, ignore_errors=True)
