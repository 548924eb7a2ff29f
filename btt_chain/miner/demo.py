"""`--demo-economy`: a node runs a demo clinic and a miner beside itself, as child processes that talk to the
node's own JSON-RPC on loopback; their progress lines go into the node's log.

Why child processes rather than tasks on the node's event loop: the miner and the clinic are the very
`btt-chain miner` and `btt-chain job clinic` a user runs, with a synchronous RPC client that would block the
loop serving that RPC; the miner's inference is CPU work that would delay block authoring if it ran on the
loop (threads would still share the GIL); and a crashing demo cannot take the node down. The node owns the
children (in their own session, so a terminal's Ctrl-C reaches only the node): it stops them when it stops,
and each child also exits when its parent node has gone.

The clinic posts private jobs (`btt_chain.miner.private_clinic`): fresh cases the model's generator draws, with
decoys, sealed to the provider drawn, one job at a time, each driven to its end before the next; its orders are kept
under the node's data directory (`clinic/`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from btt_chain.process_supervision import die_with_parent

log = logging.getLogger("btt.demo")

CLINIC_EVERY_S = 4
"""The fewest seconds between two demo jobs (the pacing rule decides the rest)."""
CLINIC_ITEMS = 16
CLINIC_PRICE = "1"
STOP_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class DemoConfig:
    rpc_url: str
    data_dir: Path
    miner_key: str | None
    """Dev name or key file of the provider (the node's validator key); None: no miner."""
    clinic_key: str | None
    """Dev name or key file of the clinic; None: no clinic."""


def demo_commands(config: DemoConfig) -> list[tuple[str, list[str]]]:
    """(label, argv) of each child to run."""
    base = [sys.executable, "-m", "cli"]
    out = []
    if config.miner_key is not None:
        out.append((
            f"miner {config.miner_key}",
            base + ["miner", "--key", config.miner_key, "--rpc", config.rpc_url,
                    "--data-dir", str(config.data_dir / "miner"), "--under-node"],
        ))
    if config.clinic_key is not None:
        out.append((
            f"clinic {config.clinic_key}",
            base + ["job", "clinic", "--key", config.clinic_key, "--rpc", config.rpc_url,
                    "--every", str(CLINIC_EVERY_S), "--items", str(CLINIC_ITEMS), "--price", CLINIC_PRICE,
                    "--data-dir", str(config.data_dir / "clinic"), "--under-node"],
        ))
    return out


class DemoEconomy:
    """Runs the demo children until cancelled; a child that exits on its own is logged as an error."""

    def __init__(self, config: DemoConfig) -> None:
        self.config = config
        self._procs: list[tuple[str, asyncio.subprocess.Process]] = []

    async def run(self) -> None:
        commands = demo_commands(self.config)
        if not commands:
            log.warning("demo economy: neither a miner nor a clinic to run")
            return
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        try:
            for label, argv in commands:
                proc = await asyncio.create_subprocess_exec(
                    *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.STDOUT, env=env, start_new_session=True,
                    preexec_fn=die_with_parent(),  # a node killed hard leaves no miner or clinic behind
                )
                self._procs.append((label, proc))
                log.info("demo economy: started %s (pid %d)", label, proc.pid)
            await asyncio.gather(*(self._pump(label, proc) for label, proc in self._procs))
        finally:
            await self._stop_all()

    async def _pump(self, label: str, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        while True:
            line = await proc.stdout.readline()
            if not line:
                break
            log.info("[%s] %s", label, line.decode(errors="replace").rstrip())
        code = await proc.wait()
        if code:
            log.error("demo economy: %s exited with code %d", label, code)
        else:
            log.info("demo economy: %s finished", label)

    async def _stop_all(self) -> None:
        running = [(label, p) for label, p in self._procs if p.returncode is None]
        for _, p in running:
            with contextlib.suppress(ProcessLookupError):
                p.terminate()
        for label, p in running:
            try:
                await asyncio.wait_for(p.wait(), STOP_TIMEOUT_S)
            except TimeoutError:
                log.warning("demo economy: %s did not stop in %.0f s; killing it", label, STOP_TIMEOUT_S)
                with contextlib.suppress(ProcessLookupError):
                    p.kill()
                await p.wait()
