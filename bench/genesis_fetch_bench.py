"""A genesis state file fetched by its hash from a peer (`genesis/state`): `btt-chain bench genesis-fetch`.

Two processes on loopback, each with a libp2p host of its own (py-libp2p runs one host a process: P2P-NOTES): a server
holding a chain spec and the genesis state file it names (`btt_chain.node.genesis_state_serve`), and a joiner holding
the spec alone, which fetches the file the way a full-sync node does before its database exists
(`btt_chain.node.genesis_fetch`: manifest, 4 MiB chunks each checked, the stream checked by the loader's reader, the
whole against the spec, then renamed into place). Printed: the time from the joiner's start of the fetch to the checked
file in place, bytes and rate, requests, and each process's CPU and peak memory.

The spec and its file are those of `btt-chain bench sync` for the same account count when its work dir holds one
(the 10,000,000-account file takes minutes to make), else made here once and kept in the work dir.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import queue
import resource
import shutil
import time
from pathlib import Path
from typing import Any

from bench import sync_chain, workdir_lock
from bench.dev_node import free_port
from bench.errors import BenchFailed
from genesis.loader import canonical_json

START_TIMEOUT_S = 120.0
"""How long the server may take to build its genesis and listen (the 10 M spec's genesis takes seconds)."""
SPEC_FILE = "spec.json"


def spec_dir(workdir: Path, accounts: int) -> Path:
    """A directory holding a spec of `accounts` generated accounts and its genesis state file: the sync bench's chain
    of any length for that count, or this bench's own (made when there is neither)."""
    for chain in sorted(workdir.glob(f"chain-{accounts}-*")):
        if sync_chain.cached(workdir, accounts, int(chain.name.rsplit("-", 1)[1])) is not None:
            return chain
    own = workdir / f"genesis-{accounts}"
    if not (own / SPEC_FILE).exists() or not (own / sync_chain.STATE_FILE).exists():
        shutil.rmtree(own, ignore_errors=True)
        own.mkdir(parents=True)
        genesis_time_ms = (time.time_ns() // 1_000_000 // 1000) * 1000
        doc = sync_chain.snapshot_spec(accounts, genesis_time_ms, own / sync_chain.STATE_FILE)
        (own / SPEC_FILE).write_bytes(canonical_json(doc))
    return own


def _usage() -> dict[str, float]:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return {"cpu_s": round(ru.ru_utime + ru.ru_stime, 2), "peak_mib": ru.ru_maxrss // 1024}


def _host(spec_path: str, port: int, key_path: str, bootnodes: tuple[str, ...]) -> Any:
    from genesis.build import build_genesis
    from genesis.loader import load_chain_spec
    from p2p.config import P2PConfig
    from p2p.service import P2PService

    spec = load_chain_spec(spec_path)
    genesis = build_genesis(spec)
    config = P2PConfig(listen_port=port, node_key_path=Path(key_path), genesis_hash=genesis.hash,
                       bootnodes=bootnodes, discovery=False)
    return spec, P2PService(config)


def serve(spec_path: str, port: int, key_path: str, out: Any, stop: Any) -> None:
    """The server process: serve the spec's file until told to stop, then report what it served."""
    from btt_chain.node.genesis_state_serve import GenesisStateServer

    async def main() -> None:
        spec, p2p = _host(spec_path, port, key_path, ())
        server = GenesisStateServer(spec.genesis_state, p2p)
        server.start()
        await p2p.start()
        out.put(("listening", p2p.listen_addrs[0]))
        while not stop.is_set():
            await asyncio.sleep(0.1)
        await p2p.stop()
        out.put(("server", {**server.served, **_usage()}))

    try:
        asyncio.run(main())
    except Exception as exc:  # noqa: BLE001 - the parent prints it as the bench's one error line
        out.put(("failed", f"the server: {type(exc).__name__}: {exc}"))


def fetch(spec_path: str, port: int, key_path: str, bootnode: str, out: Any) -> None:
    """The joiner process: fetch the spec's file from the server and report how it went."""
    from btt_chain.node.genesis_fetch import GenesisStateFetch

    async def main() -> None:
        spec, p2p = _host(spec_path, port, key_path, (bootnode,))
        await p2p.start()
        began = time.monotonic()
        run = GenesisStateFetch(p2p, spec.genesis_state)
        path = await run.run()
        took = time.monotonic() - began
        await p2p.stop()
        out.put(("joiner", {"fetch_s": round(took, 2), "bytes": path.stat().st_size, "requests": run.requests,
                            **_usage()}))

    try:
        asyncio.run(main())
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - the parent prints it as the bench's one error line
        out.put(("failed", f"the joiner: {type(exc).__name__}: {exc}"))


def _next(out: Any, timeout_s: float, procs: list[Any]) -> tuple[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            kind, value = out.get(timeout=0.5)
        except queue.Empty:
            dead = [p for p in procs if p.exitcode not in (None, 0)]
            if dead:
                raise BenchFailed(f"the {dead[0].name} process exited with {dead[0].exitcode} before reporting") \
                    from None
            if time.monotonic() > deadline:
                raise BenchFailed(f"nothing reported within {timeout_s:.0f} s") from None
            continue
        if kind == "failed":
            raise BenchFailed(str(value))
        return kind, value


def run(accounts: int, workdir: Path, limit_s: float) -> dict[str, Any]:
    """Make or reuse the spec and its file, fetch it once from a server process into a joiner's empty directory, and
    return the figures. One run at a time in a work dir (`bench sync` shares it)."""
    try:
        with workdir_lock.held(workdir, "genesis-fetch"):
            return _run(accounts, workdir, limit_s)
    except OSError as exc:  # the work dir unwritable or full
        raise BenchFailed(f"{exc.strerror or exc}{f': {exc.filename}' if exc.filename else ''} (work dir "
                          f"{workdir})") from None


def _run(accounts: int, workdir: Path, limit_s: float) -> dict[str, Any]:
    try:
        source = spec_dir(workdir, accounts)
        joiner_dir = workdir / f"genesis-fetch-joiner-{accounts}"
        shutil.rmtree(joiner_dir, ignore_errors=True)
        joiner_dir.mkdir(parents=True)
        shutil.copyfile(source / SPEC_FILE, joiner_dir / SPEC_FILE)
    except OSError as exc:
        raise BenchFailed(f"{exc.strerror or exc}{f': {exc.filename}' if exc.filename else ''} (work dir "
                          f"{workdir})") from None
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    stop = ctx.Event()
    server = ctx.Process(target=serve, name="server", daemon=True,
                         args=(str(source / SPEC_FILE), free_port(), str(joiner_dir / "server.key"), out, stop))
    procs = [server]
    try:
        server.start()
        _, address = _next(out, START_TIMEOUT_S, procs)
        joiner = ctx.Process(target=fetch, name="joiner", daemon=True,
                             args=(str(joiner_dir / SPEC_FILE), free_port(), str(joiner_dir / "joiner.key"), address,
                                   out))
        procs.append(joiner)
        joiner.start()
        _, fetched = _next(out, limit_s, procs)
        stop.set()
        _, served = _next(out, 30.0, procs)
    finally:
        stop.set()
        for proc in procs:
            proc.join(5)
            if proc.is_alive():
                proc.kill()
                proc.join()
    file = source / sync_chain.STATE_FILE
    same = fetched["bytes"] == file.stat().st_size and (joiner_dir / sync_chain.STATE_FILE).exists()
    if not same:
        raise BenchFailed(f"the joiner's file ({fetched['bytes']:,} bytes) is not the server's "
                          f"({file.stat().st_size:,} bytes)")
    shutil.rmtree(joiner_dir, ignore_errors=True)
    return {"accounts": accounts, "file": str(file), "fetched": fetched, "served": served}


def report(figures: dict[str, Any]) -> list[tuple[str, Any]]:
    fetched, served = figures["fetched"], figures["served"]
    mb_per_s = fetched["bytes"] / fetched["fetch_s"] / 1e6 if fetched["fetch_s"] else 0.0
    return [
        ("accounts", f"{figures['accounts']:,}"),
        ("genesis_state_file", figures["file"]),
        ("bytes", f"{fetched['bytes']:,}"),
        ("fetch_s", fetched["fetch_s"]),
        ("mb_per_s", round(mb_per_s, 1)),
        ("requests", fetched["requests"]),
        ("joiner_cpu_s", fetched["cpu_s"]),
        ("joiner_peak_mib", fetched["peak_mib"]),
        ("server_chunks", served["chunks"]),
        ("server_cpu_s", served["cpu_s"]),
        ("server_peak_mib", served["peak_mib"]),
    ]
