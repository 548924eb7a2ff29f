"""A hash-chain builder whose children wait at a gate the test opens (a FIFO), so a test can hold a build "running"
for as long as it likes and assert what happens meanwhile by the order of events, never by the clock."""

from __future__ import annotations

import asyncio
import errno
import os
import sys
from collections.abc import Callable
from pathlib import Path

from btt_chain.node.hash_chain_builder import HashChainBuilder

GATE_LIMIT_S = 120.0
"""How long `open_gate` waits for a child to reach the gate: only a broken test reaches it."""


def gated_builder(gate: Path, max_waiting: int = 1) -> HashChainBuilder:
    """A builder whose every child first waits until the test opens `gate` once for it (`open_gate`), then builds."""
    os.mkfifo(gate)
    code = ("import os\n"
            "from btt_chain.node.hash_chain_builder import _die_with_parent, main\n"
            "_die_with_parent(os.getppid())  # a test that fails leaves no child waiting at its gate\n"
            f"open({str(gate)!r}).read()\n"
            "raise SystemExit(main())")
    return HashChainBuilder(max_waiting=max_waiting, command=(sys.executable, "-c", code))


async def open_gate(gate: Path) -> None:
    """Open `gate` once, for whichever children have it open now (waits, polling with a deadline, until one has):
    to let exactly one through, use `let_through`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + GATE_LIMIT_S
    while True:
        try:
            fd = os.open(gate, os.O_WRONLY | os.O_NONBLOCK)  # succeeds only while a child has it open to read
        except OSError as exc:
            if exc.errno != errno.ENXIO:
                raise
            assert loop.time() < deadline, "no build came to the gate"
            await asyncio.sleep(0.01)
            continue
        os.close(fd)  # the child reads end-of-file and builds
        return


async def let_through(builder: HashChainBuilder, gate: Path) -> None:
    """Let the child building now through the gate and wait until it has finished (so the next `let_through` meets
    the next child, not this one still reading its end-of-file)."""
    await wait_for(lambda: builder.running is not None, "a build's child")
    child = builder.running
    await open_gate(gate)
    await wait_for(lambda: builder.running != child, f"child {child} to finish")


async def wait_for(condition: Callable[[], bool], what: str) -> None:
    """Poll `condition()` until it is true, with a deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + GATE_LIMIT_S
    while not condition():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


def children_at(gate: Path) -> list[int]:
    """Pids of this process's children whose command names `gate` (running, or waiting at it)."""
    me = os.getpid()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        state, parent = stat.rsplit(")", 1)[1].split()[:2]
        if int(parent) == me and state != "Z" and str(gate).encode() in cmdline:
            found.append(int(entry.name))
    return found
