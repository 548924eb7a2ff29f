"""`btt-chain bench sync`: a node joining a long chain by warp sync against full sync, on one machine (issue 44).

The chain (`bench.sync_chain`, built once and kept in the work dir): a genesis of `accounts` generated accounts and
`blocks` empty blocks, finalized. Its chain spec names its genesis state file (`genesis_state`) instead of listing
the accounts: the server opens a database that has its genesis, the warp joiner needs no genesis state at all, and
the full joiner reads the file into its database once (checked against the spec's state root).
Then, all real `btt-chain node` processes on 127.0.0.1:

- a server on a copy of that database, alice's validator (the only one), authoring a block every 1 s slot;
- a joiner with `--sync warp`, then one with `--sync full`, each on an empty base path with the server as its only
  bootnode (`--no-discovery`), reaching it through a TCP relay here that counts the bytes each way.

For each joiner, from its process start: when it first answers `state_getStorage` of a generated account at its head
with the server's value there while its head is at or past the server's head (time to answer), and when it then
imports a block the server authored after that (time to follow); the bytes the relay carried until then; the peak
resident memory (VmHWM) of the node process and, for warp, of the child process that runs the warp (read from /proc
every 0.1 s while it lives); what the node's log says of each phase (its timestamps are when this bench read the line).
For the server: the slots it led and the blocks it authored in each window (idle before the joiners, while it served
the warp, while each node joined), and how late each block was seen on its RPC subscription after its slot began.

Each run's figures are kept in the work dir; the table at the end has every size measured there for the same
`blocks`, and with two sizes a linear projection to 10,000,000 accounts (printed with its formula).

Run: `btt-chain bench sync [--accounts N] [--blocks N] [--workdir DIR]` (see --help).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench import sync_chain, workdir_lock
from bench.import_bench import filler_account
from btt_chain.client.headers import header_hash
from btt_chain.primitives.errors import BttError

POLL_S = 0.25
"""How often the joiner's and the server's heads are read while a node joins."""
MEMORY_POLL_S = 0.1
SERIES_S = 5.0
"""How often a joiner's memory is kept for the run's figures (`memory_series`: own and mapped MiB over time)."""
SERVER_START_LIMIT_S = 1800.0
BASELINE_S = 20.0
"""Seconds of the server's slot loop watched before any joiner starts (the idle figure beside the others)."""
PROGRESS_S = 30.0
PROJECT_TO = 10_000_000
MIB = 1024 * 1024


class SyncBenchFailed(BttError):
    """The sync benchmark could not finish: the message says why and where the node's log is."""


def say(line: str) -> None:
    """Progress, on stderr (the figures go to stdout)."""
    print(line, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------------- processes
@dataclass
class _Link:
    opened: float
    up: int = 0
    """Bytes from the joiner to the server."""
    down: int = 0
    """Bytes from the server to the joiner."""


class CountingRelay:
    """A TCP relay to the server's p2p port, the joiner's only way to it: the bytes of every connection, each way."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.links: list[_Link] = []
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()

    def totals(self) -> tuple[int, int]:
        """(bytes to the server, bytes from it) so far."""
        return sum(x.up for x in self.links), sum(x.down for x in self.links)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        link = _Link(time.monotonic())
        self.links.append(link)
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter, up: bool) -> None:
            try:
                while data := await src.read(1 << 16):
                    if up:
                        link.up += len(data)
                    else:
                        link.down += len(data)
                    dst.write(data)
                    await dst.drain()
            except OSError:
                pass
            finally:
                dst.close()

        await asyncio.gather(pump(reader, up_writer, True), pump(up_reader, writer, False))


class NodeProcess:
    """A `btt-chain node` process whose output goes to a log file, each line matched against `patterns` as it is read
    (the first match of each is kept with the time it was read)."""

    def __init__(self, name: str, args: list[str], log_path: Path, patterns: dict[str, str]) -> None:
        self.name = name
        self.args = args
        self.log_path = log_path
        self.patterns = {k: re.compile(v) for k, v in patterns.items()}
        self.events: dict[str, tuple[float, re.Match[str]]] = {}
        self.tail: deque[str] = deque(maxlen=40)
        self.proc: asyncio.subprocess.Process | None = None
        self.started = 0.0
        self.started_wall_ms = 0
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.started = time.monotonic()
        self.started_wall_ms = time.time_ns() // 1_000_000
        self.proc = await asyncio.create_subprocess_exec(
            *self.args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, limit=1 << 22,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self._reader = asyncio.get_running_loop().create_task(self._read())

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        with open(self.log_path, "wb") as log:
            while line := await self.proc.stdout.readline():
                now = time.monotonic()
                log.write(line)
                log.flush()
                text = line.decode(errors="replace").rstrip()
                self.tail.append(text)
                for key, pattern in self.patterns.items():
                    if key not in self.events and (m := pattern.search(text)):
                        self.events[key] = (now, m)

    def at(self, event: str) -> float | None:
        """Seconds from the process start to the line of `event`, if it was seen."""
        found = self.events.get(event)
        return None if found is None else found[0] - self.started

    def match(self, event: str) -> re.Match[str] | None:
        found = self.events.get(event)
        return None if found is None else found[1]

    def wall_ms(self, event: str) -> int | None:
        t = self.at(event)
        return None if t is None else self.started_wall_ms + int(t * 1000)

    def exited(self) -> bool:
        return self.proc is not None and self.proc.returncode is not None

    def why(self) -> str:
        """The node's last error line (or its last line) and where its log is."""
        lines = [x for x in self.tail if x.strip()]
        errors = [x for x in lines if x.startswith("error:") or " ERROR " in x or "Error" in x]
        last = (errors or lines or ["(no output)"])[-1]
        return f"{last.strip()[:300]} (log: {self.log_path})"

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 60)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        if self._reader is not None:
            await self._reader


def _status_kib(pid: int, field_name: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                found += [int(x) for x in f.read().split()]
        except OSError:
            continue
    return found


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


@dataclass
class MemoryWatch:
    """The peak resident memory (VmHWM) of a process and of each of its children, sampled until stopped."""

    pid: int
    peak_kib: int = 0
    split_kib: tuple[int, int] = (0, 0)
    """(own, file-backed) resident KiB (RssAnon, RssFile: the mapped LevelDB tables) at the largest sample."""
    children: dict[int, tuple[str, int, float, float]] = field(default_factory=dict)
    """pid -> (command line, peak KiB, first seen, last seen) of each child seen."""
    started: float = field(default_factory=time.monotonic)
    split_at_s: float = 0.0
    """Seconds from `started` to the largest sample."""
    series: list[tuple[float, int, int]] = field(default_factory=list)
    """(seconds from `started`, own KiB, mapped KiB): a sample every SERIES_S, where the memory went when."""

    def sample(self) -> None:
        now = time.monotonic()
        own = _status_kib(self.pid, "VmHWM")
        if own is not None:
            self.peak_kib = max(self.peak_kib, own)
        anon, mapped = _status_kib(self.pid, "RssAnon"), _status_kib(self.pid, "RssFile")
        if anon is not None and mapped is not None:
            if anon + mapped > sum(self.split_kib):
                self.split_kib, self.split_at_s = (anon, mapped), now - self.started
            if not self.series or now - self.started >= self.series[-1][0] + SERIES_S:
                self.series.append((round(now - self.started, 1), anon, mapped))
        for child in _children(self.pid):
            hwm = _status_kib(child, "VmHWM")
            if hwm is None:
                continue
            cmd, peak, first, _ = self.children.get(child, (_cmdline(child), 0, now, now))
            self.children[child] = (cmd, max(peak, hwm), first, now)

    async def run(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(MEMORY_POLL_S)

    def warp_child_kib(self) -> int | None:
        """The peak of the spawned warp child (multiprocessing's `spawn_main`, not its resource tracker)."""
        peaks = [peak for cmd, peak, _, _ in self.children.values()
                 if "spawn_main" in cmd and "resource_tracker" not in cmd]
        return max(peaks) if peaks else None


# ------------------------------------------------------------------------------------------------- RPC
class _RpcFailed(Exception):
    pass


async def _rpc(session: aiohttp.ClientSession, url: str, method: str, *params: Any) -> Any:
    try:
        async with session.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}) as r:
            answer = await r.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        raise _RpcFailed(f"{method}: {exc}") from None
    if not isinstance(answer, dict) or "error" in answer:
        raise _RpcFailed(f"{method}: {answer.get('error') if isinstance(answer, dict) else answer}")
    return answer.get("result")


async def _watch_heads(url: str, heads: list[tuple[int, int, str]]) -> None:
    """(wall ms seen, number, hash) of every new head the server announces, until cancelled."""
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        await ws.send_json({"jsonrpc": "2.0", "id": 1, "method": "chain_subscribeNewHeads", "params": []})
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            data = json.loads(msg.data)
            if data.get("method") == "chain_newHead":
                h = data["params"]["result"]
                heads.append((time.time_ns() // 1_000_000, int(h["number"], 16), "0x" + header_hash(h).hex()))


async def _slots_of(session: aiohttp.ClientSession, url: str, hashes: list[str]) -> dict[str, int]:
    """Each block's slot (`btt_header`), in batches."""
    slots: dict[str, int] = {}
    for at in range(0, len(hashes), 100):
        part = hashes[at:at + 100]
        batch = [{"jsonrpc": "2.0", "id": i, "method": "btt_header", "params": [h]} for i, h in enumerate(part)]
        async with session.post(url, json=batch) as r:
            answers = await r.json(content_type=None)
        for a in answers:
            result = a.get("result")
            if result is not None:
                slots[part[a["id"]]] = int(result["slot"], 16)
    return slots


@dataclass
class SlotWindow:
    name: str
    start_ms: int
    end_ms: int


def slot_figures(window: SlotWindow, heads: list[tuple[int, int]], slot_ms: int, genesis_ms: int) -> dict[str, Any]:
    """Slots that began in the window at least a slot before its end (the server leads every one), the blocks it
    authored for them (`heads`: (wall ms announced, slot)), and how long after its slot began each was announced."""
    first = -(-(window.start_ms - genesis_ms) // slot_ms)
    last = (window.end_ms - genesis_ms) // slot_ms - 1
    led = max(0, last - first + 1)
    delays = sorted(seen - (genesis_ms + slot * slot_ms) for seen, slot in heads if first <= slot <= last)
    out: dict[str, Any] = {"slots": led, "authored": len(delays), "missed": max(0, led - len(delays))}
    if delays:
        out["delay_p50_ms"] = delays[len(delays) // 2]
        out["delay_p95_ms"] = delays[min(len(delays) - 1, int(len(delays) * 0.95))]
        out["delay_max_ms"] = delays[-1]
    return out


def _slot_line(fig: dict[str, Any]) -> str:
    text = f"{fig['missed']} of {fig['slots']} slots missed"
    if "delay_p50_ms" in fig:
        text += (f"; block seen {fig['delay_p50_ms']} ms after its slot began (p50), p95 {fig['delay_p95_ms']} ms, "
                 f"max {fig['delay_max_ms']} ms")
    return text


# ------------------------------------------------------------------------------------------------- one joiner
JOINER_PATTERNS = {
    "warp_host": r"btt\.warp: warp sync: peer id",
    "warp_proof": r"warp proof verified: (\d+) fragments to block #(\d+)",
    "warp_done": r"warp sync done: block #(\d+) \S+ with ([\d,]+) keys \(([\d.]+) MB of state, ([\d.]+) MB received\) "
                 r"in ([\d.]+) s",
    "node_started": r"btt\.node: btt-chain node \S+: chain .* head #(\d+)",
    "first_synced": r"btt\.net: synced (\d+) blocks",
}


@dataclass
class Context:
    spec: Path
    run_dir: Path
    log_dir: Path
    server_url: str
    server_p2p: int
    server_id: str
    key: str
    limit_s: float


async def join(ctx: Context, mode: str) -> dict[str, Any]:
    """Start a `--sync mode` node and measure it until it follows the server's new blocks; then stop it."""
    relay = CountingRelay(ctx.server_p2p)
    await relay.start()
    rpc_port = _free_port()
    url = f"http://127.0.0.1:{rpc_port}"
    node = NodeProcess(mode, [
        sys.executable, "-m", "cli", "node", "--chain", str(ctx.spec), "--base-path", str(ctx.run_dir / mode),
        "--port", str(_free_port()), "--rpc-port", str(rpc_port), "--prometheus-port", "0", "--no-discovery",
        "--bootnodes", f"/ip4/127.0.0.1/tcp/{relay.port}/p2p/{ctx.server_id}", "--sync", mode,
        "--name", f"{mode}-joiner",
    ], ctx.log_dir / f"{mode}.log", JOINER_PATTERNS)
    say(f"{mode}: starting a node with --sync {mode} (log: {node.log_path}) ...")
    load_before = os.getloadavg()[0]
    await node.start()
    watch = MemoryWatch(node.pid, started=node.started)
    watcher = asyncio.get_running_loop().create_task(watch.run())
    rpc_up: float | None = None
    answer: tuple[float, int, int, tuple[int, int]] | None = None
    follow: tuple[float, int, tuple[int, int]] | None = None
    next_progress = time.monotonic() + PROGRESS_S
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            while follow is None:
                if node.exited():
                    raise SyncBenchFailed(f"the --sync {mode} node stopped: {node.why()}")
                now = time.monotonic()
                if now - node.started > ctx.limit_s:
                    raise SyncBenchFailed(f"the --sync {mode} node did not follow the chain within {ctx.limit_s:.0f} s "
                                          f"(--limit): {node.why()}")
                try:
                    server_number = int((await _rpc(session, ctx.server_url, "chain_getHeader"))["number"], 16)
                except _RpcFailed:  # busy for 10 s, or gone: the next round says which (the limit bounds it)
                    await asyncio.sleep(POLL_S)
                    continue
                try:
                    head = await _rpc(session, url, "chain_getHeader")
                except _RpcFailed:
                    head = None
                if head is not None:
                    rpc_up = rpc_up or time.monotonic()
                    number = int(head["number"], 16)
                    if answer is None and number >= server_number:
                        at = "0x" + header_hash(head).hex()
                        try:
                            mine = await _rpc(session, url, "state_getStorage", ctx.key, at)
                            theirs = await _rpc(session, ctx.server_url, "state_getStorage", ctx.key, at)
                        except _RpcFailed:
                            mine, theirs = None, None
                        if mine is not None and mine == theirs:
                            answer = (time.monotonic(), number, server_number, relay.totals())
                            say(f"{mode}: answers state_getStorage at #{number} (the server's head #{server_number}) "
                                f"{answer[0] - node.started:.1f} s after its start")
                    elif answer is not None and number > answer[2]:
                        follow = (time.monotonic(), number, relay.totals())
                        say(f"{mode}: imported #{number}, authored after it synced, "
                            f"{follow[0] - node.started:.1f} s after its start")
                    if now > next_progress:
                        say(f"{mode}: head #{number} of the server's #{server_number}, {now - node.started:.0f} s")
                elif now > next_progress:
                    say(f"{mode}: no RPC yet, {now - node.started:.0f} s ({node.tail[-1][:120] if node.tail else ''})")
                if now > next_progress:
                    next_progress = now + PROGRESS_S
                await asyncio.sleep(POLL_S)
        watch.sample()
    finally:
        watcher.cancel()
        await node.stop()
        await relay.stop()
    assert answer is not None and rpc_up is not None
    fig: dict[str, Any] = {
        "mode": mode,
        "answer_s": round(answer[0] - node.started, 1),
        "follow_s": round(follow[0] - node.started, 1),
        "answered_at": answer[1],
        "rpc_up_s": round(rpc_up - node.started, 1),
        "node_started_s": _round(node.at("node_started")),
        "bytes_to_answer": sum(answer[3]),
        "bytes_from_server": follow[2][1],
        "bytes_to_server": follow[2][0],
        "bytes": sum(follow[2]),
        "connections": len(relay.links),
        "load_average": f"{load_before:.1f} at its start, {os.getloadavg()[0]:.1f} at its end (1-minute load "
                        f"average, {os.cpu_count()} cores)",
        "peak_mib": round(watch.peak_kib / 1024),
        "peak_own_mib": round(watch.split_kib[0] / 1024),
        "peak_mapped_mib": round(watch.split_kib[1] / 1024),
        "peak_sample_s": round(watch.split_at_s, 1),
        "memory_series": [(t, round(a / 1024), round(m / 1024)) for t, a, m in watch.series],
        "log": str(node.log_path),
        "started_wall_ms": node.started_wall_ms,
        "follow_wall_ms": node.started_wall_ms + int((follow[0] - node.started) * 1000),
    }
    start = node.match("node_started")
    if start is not None:
        fig["head_at_node_start"] = int(start.group(1))
    if mode == "warp":
        child = watch.warp_child_kib()
        fig["warp_child_peak_mib"] = None if child is None else round(child / 1024)
        fig["warp_host_s"] = _round(node.at("warp_host"))
        fig["warp_proof_s"] = _round(node.at("warp_proof"))
        fig["warp_done_s"] = _round(node.at("warp_done"))
        fig["warp_serving_ms"] = (node.wall_ms("warp_host"), node.wall_ms("warp_done"))
        proof, done = node.match("warp_proof"), node.match("warp_done")
        if proof is not None:
            fig["warp_fragments"] = int(proof.group(1))
        if done is not None:
            fig["warp_target"] = int(done.group(1))
            fig["warp_keys"] = int(done.group(2).replace(",", ""))
            fig["warp_state_mb"] = float(done.group(3))
            fig["warp_received_mb"] = float(done.group(4))
            fig["warp_own_s"] = float(done.group(5))
    else:
        began = node.at("node_started")
        if began is not None and answer[0] - node.started > began:
            fig["import_blocks_per_s"] = round(answer[1] / (answer[0] - node.started - began), 1)
    return fig


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 1)


def _free_port() -> int:
    from bench.dev_node import free_port

    return free_port()


# ------------------------------------------------------------------------------------------------- the run
def ensure_chain(workdir: Path, accounts: int, blocks: int) -> tuple[dict[str, Any], bool]:
    """The cached chain's manifest, building it first (in a process of its own) when there is none; and whether it
    was built now."""
    manifest = sync_chain.cached(workdir, accounts, blocks)
    if manifest is not None:
        say(f"reusing the chain in {sync_chain.chain_dir(workdir, accounts, blocks)} (built {manifest['built_at']} "
            f"in {manifest['build_s']} s)")
        return manifest, False
    say(f"building a chain of {blocks:,} blocks over {accounts:,} accounts in "
        f"{sync_chain.chain_dir(workdir, accounts, blocks)} (kept for later runs) ...")
    proc = subprocess.run([sys.executable, "-m", "bench.sync_chain", str(workdir), str(accounts), str(blocks)],
                          stdout=subprocess.PIPE, text=True, check=False)
    if proc.returncode != 0:
        raise SyncBenchFailed(f"building the chain failed (exit {proc.returncode}); its error is above")
    return json.loads(proc.stdout.strip().splitlines()[-1]), True


def run(accounts: int, blocks: int, workdir: Path, full: bool = True, limit_s: float = 7200.0,
        baseline_s: float = BASELINE_S) -> dict[str, Any]:
    """Build or reuse the chain, run the server and the joiners, and return the figures (also kept in the work
    dir)."""
    try:
        with workdir_lock.held(workdir, "sync"):
            commit = _commit()
            manifest, built = ensure_chain(workdir, accounts, blocks)
            figures = asyncio.run(_run(workdir, manifest, full, limit_s, baseline_s))
            figures["chain_built_now"] = built
            figures["date"] = time.strftime("%Y-%m-%d %H:%M")
            figures["commit"] = commit
            (workdir / f"results-{accounts}-{blocks}.json").write_text(json.dumps(figures, indent=1))
    except OSError as exc:  # the work dir unwritable or full, a port taken...
        raise SyncBenchFailed(f"{exc.strerror or exc}{f': {exc.filename}' if exc.filename else ''} (work dir "
                              f"{workdir})") from None
    return figures


async def _run(workdir: Path, manifest: dict[str, Any], full: bool, limit_s: float,
               baseline_s: float = BASELINE_S) -> dict[str, Any]:
    from p2p.node_key import load_or_create_node_key

    accounts, blocks = manifest["accounts"], manifest["blocks"]
    cache = sync_chain.chain_dir(workdir, accounts, blocks)
    run_dir = workdir / f"run-{accounts}-{blocks}"
    log_dir = workdir / f"logs-{accounts}-{blocks}"
    shutil.rmtree(run_dir, ignore_errors=True)
    shutil.rmtree(log_dir, ignore_errors=True)
    log_dir.mkdir(parents=True)
    data = run_dir / "server" / "chains" / manifest["spec_id"]
    t = time.perf_counter()
    shutil.copytree(cache / "db", data / "db")  # each run starts from the chain as built: the server adds blocks
    copy_s = time.perf_counter() - t
    server_id = load_or_create_node_key(data / "network" / "node-key").peer_id
    spec = cache / "spec.json"
    rpc_port, p2p_port = _free_port(), _free_port()
    server_url = f"http://127.0.0.1:{rpc_port}"
    server = NodeProcess("server", [
        sys.executable, "-m", "cli", "node", "--chain", str(spec), "--base-path", str(run_dir / "server"),
        "--validator", "--key", sync_chain.VALIDATOR, "--port", str(p2p_port), "--rpc-port", str(rpc_port),
        "--prometheus-port", "0", "--no-discovery", "--name", "server",
    ], log_dir / "server.log", {"node_started": JOINER_PATTERNS["node_started"], "authored": r"authored #\d+"})
    heads: list[tuple[int, int, str]] = []
    watcher: asyncio.Task[None] | None = None
    figures: dict[str, Any] = {k: manifest[k] for k in ("accounts", "blocks", "head_number", "finalized_number",
                                                         "spec_bytes", "state_file_bytes", "db_bytes", "build_s",
                                                         "build_spec_s", "build_spec_parse_s",
                                                         "build_genesis_s", "build_blocks_s", "build_blocks_per_s")}
    figures["db_copy_s"] = round(copy_s, 1)
    say(f"starting the server (alice, authoring) on a copy of the chain (log: {server.log_path}) ...")
    await server.start()
    server_memory = MemoryWatch(server.pid, started=server.started)
    server_watch = asyncio.get_running_loop().create_task(server_memory.run())
    try:
        while "authored" not in server.events:
            if server.exited():
                raise SyncBenchFailed(f"the server stopped: {server.why()}")
            if time.monotonic() - server.started > SERVER_START_LIMIT_S:
                raise SyncBenchFailed(f"the server authored no block within {SERVER_START_LIMIT_S:.0f} s: "
                                      f"{server.why()}")
            await asyncio.sleep(0.5)
        figures["server_start_s"] = _round(server.at("node_started"))
        say(f"server: running {figures['server_start_s']} s after its start; watching its slot loop for "
            f"{baseline_s:.0f} s before anyone joins ...")
        watcher = asyncio.get_running_loop().create_task(_watch_heads(server_url, heads))
        idle_from = time.time_ns() // 1_000_000
        await asyncio.sleep(baseline_s)
        windows = [SlotWindow("server idle", idle_from, time.time_ns() // 1_000_000)]
        ctx = Context(spec, run_dir, log_dir, server_url, p2p_port, server_id, _account_key(accounts), limit_s)
        joins = [await join(ctx, "warp")]
        warp = joins[0]
        serving = warp.pop("warp_serving_ms")
        if None not in serving:
            windows.append(SlotWindow("server while serving the warp", serving[0], serving[1]))
        windows.append(SlotWindow("server while warp joined", warp["started_wall_ms"], warp["follow_wall_ms"]))
        if full:
            joins.append(await join(ctx, "full"))
            windows.append(SlotWindow("server while full joined", joins[1]["started_wall_ms"],
                                      joins[1]["follow_wall_ms"]))
        server_memory.sample()
        await asyncio.sleep(1.5)  # the last window's slot announced
        watcher.cancel()
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
                slots = await _slots_of(session, server_url, [h for _, _, h in heads])
        except (aiohttp.ClientError, TimeoutError, ValueError, KeyError) as exc:
            raise SyncBenchFailed(f"could not read the slots of the server's blocks: {exc!r} (log: "
                                  f"{server.log_path})") from None
    finally:
        server_watch.cancel()
        if watcher is not None:
            watcher.cancel()
        await server.stop()
        shutil.rmtree(run_dir, ignore_errors=True)
    seen = [(ms, slots[h]) for ms, _, h in heads if h in slots]
    genesis_ms = manifest["genesis_time_ms"]
    figures["server_peak_mib"] = round(server_memory.peak_kib / 1024)
    figures["server_peak_own_mib"] = round(server_memory.split_kib[0] / 1024)
    figures["server_peak_mapped_mib"] = round(server_memory.split_kib[1] / 1024)
    figures["server_peak_sample_s"] = round(server_memory.split_at_s, 1)
    figures["slots"] = {w.name: slot_figures(w, seen, 1000, genesis_ms) for w in windows}
    for j in joins:
        j.pop("started_wall_ms")
        j.pop("follow_wall_ms")
        figures[j["mode"]] = j
    return figures


def _account_key(accounts: int) -> str:
    """The storage key of the last generated account (`system.account`), hex."""
    from runtime.system import storage as system

    return "0x" + system.account.key(filler_account(accounts - 1)).hex()


def _commit() -> str:
    """The checkout measured (`-dirty`: with uncommitted changes, which the node processes ran)."""
    try:
        out = subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True, text=True, check=False,
                             cwd=Path(__file__).resolve().parent.parent)
        return out.stdout.strip()
    except OSError:
        return ""


# ------------------------------------------------------------------------------------------------- printing
def report(figures: dict[str, Any]) -> list[tuple[str, Any]]:
    """The run's figures as (name, value) lines."""
    rows: list[tuple[str, Any]] = [
        ("accounts", f"{figures['accounts']:,}"),
        ("blocks", f"{figures['blocks']:,} built (head #{figures['head_number']:,}, finalized "
                   f"#{figures['finalized_number']:,})"),
        ("chain build", f"{figures['build_s']} s{'' if figures['chain_built_now'] else ' (reused from the work dir)'}"
                        f": spec and state file {figures['build_spec_s']} s, genesis into the database "
                        f"{figures['build_genesis_s']} s, "
                        f"blocks {figures['build_blocks_s']} s ({figures['build_blocks_per_s']} blocks/s)"),
        ("chain size", f"spec {figures['spec_bytes'] / 1e3:.0f} kB, genesis state file "
                       f"{figures['state_file_bytes'] / 1e6:.0f} MB, database {figures['db_bytes'] / 1e6:.0f} MB"),
        ("server", f"running {figures['server_start_s']} s after its start, peak memory "
                   f"{figures['server_peak_mib']} MiB{_server_split(figures)}"),
    ]
    for mode in ("warp", "full"):
        j = figures.get(mode)
        if j is None:
            continue
        rows.append((f"{mode}: time to answer", f"{j['answer_s']} s (state_getStorage at #{j['answered_at']:,}, "
                                                f"the server's head)"))
        rows.append((f"{mode}: time to follow", f"{j['follow_s']} s (a block authored after it answered)"))
        rows.append((f"{mode}: bytes", f"{j['bytes'] / 1e6:.1f} MB ({j['bytes_from_server'] / 1e6:.1f} MB from the "
                                       f"server, {j['bytes_to_server'] / 1e6:.1f} MB to it, {j['connections']} "
                                       f"connection(s)); {j['bytes_to_answer'] / 1e6:.1f} MB until it answered"))
        memory = f"{j['peak_mib']} MiB (node process"
        if "peak_own_mib" in j:
            memory += f"; at its largest sample {j['peak_own_mib']} own, {j['peak_mapped_mib']} mapped files"
            if "peak_sample_s" in j:
                memory += f", {j['peak_sample_s']} s after its start"
        memory += ")"
        if mode == "warp":
            memory += f", {j.get('warp_child_peak_mib')} MiB (warp child process)"
        rows.append((f"{mode}: peak memory", memory))
        if j.get("memory_series"):
            rows.append((f"{mode}: memory over time", _series_line(j["memory_series"])))
        rows.append((f"{mode}: machine load", j["load_average"]))
        if mode == "warp":
            rows.append(("warp: phases", f"warp host up at {j['warp_host_s']} s (the chain spec read and its genesis "
                                         f"block made before it: no genesis state), proof verified at "
                                         f"{j['warp_proof_s']} s, state done at "
                                         f"{j['warp_done_s']} s, node running at {j['node_started_s']} s, RPC at "
                                         f"{j['rpc_up_s']} s"))
            if "warp_own_s" in j:
                rows.append(("warp: its own figures",
                             f"{j['warp_fragments']} proof fragment(s) to #{j['warp_target']:,}, {j['warp_keys']:,} "
                             f"keys, {j['warp_state_mb']} MB of state, {j['warp_received_mb']} MB received, in "
                             f"{j['warp_own_s']} s"))
        else:
            rows.append(("full: phases", f"node running at {j['node_started_s']} s (chain spec read, genesis state "
                                         f"file read into its database), RPC at {j['rpc_up_s']} s, then "
                                         f"{j.get('import_blocks_per_s')} blocks/s to the head"))
    for name, fig in figures["slots"].items():
        rows.append((name, _slot_line(fig)))
    return rows


def _server_split(figures: dict[str, Any]) -> str:
    if "server_peak_own_mib" not in figures:  # a run recorded before the server was watched
        return ""
    return (f" (at its largest sample {figures['server_peak_own_mib']} own, {figures['server_peak_mapped_mib']} mapped "
            f"files, {figures['server_peak_sample_s']} s after its start)")


def _series_line(series: list[tuple[float, int, int]], step_s: float = 30.0) -> str:
    """The node process's own + mapped MiB about every `step_s` seconds from its start, and at its last sample."""
    picked: list[tuple[float, int, int]] = []
    for t, own, mapped in series:
        if not picked or t >= picked[-1][0] + step_s:
            picked.append((t, own, mapped))
    if picked[-1] != tuple(series[-1]):
        picked.append(tuple(series[-1]))  # type: ignore[arg-type]
    return ", ".join(f"{t:.0f} s {own}+{mapped}" for t, own, mapped in picked) + " (MiB own + mapped)"


def _fit(points: list[tuple[int, float]]) -> tuple[float, float]:
    """(a, b) of y = a + b * n through the smallest and the largest size."""
    (n1, y1), (n2, y2) = points[0], points[-1]
    b = (y2 - y1) / (n2 - n1)
    return y1 - b * n1, b


def table(workdir: Path, blocks: int) -> list[str]:
    """Every size measured in `workdir` for `blocks` blocks, warp and full, and the projection to 10 M accounts."""
    results = []
    for path in workdir.glob(f"results-*-{blocks}.json"):
        try:
            results.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue
    results.sort(key=lambda r: r["accounts"])
    head = "| accounts | sync | time to answer | time to follow | bytes | peak memory | measured |"
    lines = [head, "|---|---|---|---|---|---|---|"]
    for r in results:
        for mode in ("warp", "full"):
            j = r.get(mode)
            if j is None:
                continue
            memory = f"{j['peak_mib']:,} MiB"
            if mode == "warp":
                memory += f" (warp child {j.get('warp_child_peak_mib') or 0:,} MiB)"
            lines.append(f"| {r['accounts']:,} | {mode} | {j['answer_s']} s | {j['follow_s']} s | "
                         f"{j['bytes'] / 1e6:.1f} MB | {memory} | {r['date']} {r['commit']} |")
    sizes = [r for r in results if "warp" in r]
    if len(sizes) < 2:
        lines.append(f"(a projection to {PROJECT_TO:,} accounts needs a second size: run again with another "
                     "--accounts and the same --blocks and --workdir)")
        return lines
    lines.append("")
    lines += projection(sizes, blocks)
    return lines


def projection(sizes: list[dict[str, Any]], blocks: int) -> list[str]:
    """Lines projecting the smallest and largest measured sizes to `PROJECT_TO` accounts. Warp: y(N) = a + b*N for
    each figure (its work is the state's). Full: its start grows with the genesis, its import with the history H:
    t(N, H) = a + b*N + H / r, bytes = (bytes a block) * H."""
    small, large = sizes[0], sizes[-1]
    lines = [f"Projection to {PROJECT_TO:,} accounts ({blocks:,} blocks), through the sizes {small['accounts']:,} and "
             f"{large['accounts']:,} (N accounts, H blocks):"]

    def linear(mode: str, what: str, get: Callable[[dict[str, Any]], float], unit: str, scale: float) -> None:
        a, b = _fit([(r["accounts"], float(get(r[mode]))) for r in (small, large)])
        lines.append(f"- {mode} {what}: y(N) = a + b*N, a = {a / scale:,.1f} {unit}, b = {b / scale * 1e6:,.1f} {unit} "
                     f"per million accounts -> {(a + b * PROJECT_TO) / scale:,.0f} {unit}")

    linear("warp", "time to follow", lambda j: j["follow_s"], "s", 1.0)
    if all(r["warp"].get("warp_own_s") is not None for r in (small, large)):
        linear("warp", "proof and state in the warp child (its own 'in X s')", lambda j: j["warp_own_s"], "s", 1.0)
    linear("warp", "bytes", lambda j: j["bytes"], "MB", 1e6)
    linear("warp", "peak memory (the larger of node and warp child)",
           lambda j: max(j["peak_mib"], j.get("warp_child_peak_mib") or 0), "MiB", 1.0)
    if "full" not in small or "full" not in large:
        return lines
    rates = [r["full"]["import_blocks_per_s"] for r in (small, large) if r["full"].get("import_blocks_per_s")]
    starts = [(r["accounts"], float(r["full"]["node_started_s"] or 0)) for r in (small, large)]
    if rates:
        rate = statistics.median(rates)
        a, b = _fit(starts)
        lines.append(f"- full time to answer: t(N, H) = a + b*N + H / r, a = {a:,.1f} s, b = {b * 1e6:,.1f} s per "
                     f"million accounts (its start: the chain spec read, genesis written), r = {rate:,.0f} blocks/s "
                     f"(import, median of {', '.join(f'{x:,.0f}' for x in rates)}) -> "
                     f"{a + b * PROJECT_TO + blocks / rate:,.0f} s at H = {blocks:,}; each 100,000 blocks more adds "
                     f"{100_000 / rate:,.0f} s")
    per_block = statistics.median(r["full"]["bytes"] / max(1, r["full"]["answered_at"]) for r in (small, large))
    lines.append(f"- full bytes: (bytes a block) * H, {per_block:,.0f} bytes a block (median) -> "
                 f"{per_block * blocks / 1e6:,.0f} MB at H = {blocks:,}, whatever N")
    linear("full", "peak memory", lambda j: j["peak_mib"], "MiB", 1.0)
    return lines


def print_report(figures: dict[str, Any], workdir: Path) -> None:
    from cli.output import print_fields

    print_fields(report(figures))
    print()
    for line in table(workdir, figures["blocks"]):
        print(line)


def main(argv: list[str]) -> None:
    accounts = int(argv[0]) if argv else 1_000_000
    blocks = int(argv[1]) if len(argv) > 1 else 100_000
    workdir = Path(argv[2]) if len(argv) > 2 else default_workdir()
    print_report(run(accounts, blocks, workdir), workdir)


def default_workdir() -> Path:
    import tempfile

    return Path(tempfile.gettempdir()) / "btt-bench-sync"


if __name__ == "__main__":
    main(sys.argv[1:])
