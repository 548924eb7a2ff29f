"""What the polkadot-api and indexer tests share: running an unchanged JavaScript tool as a process of its own
(watched, bounded, always stopped with its children), a throwaway PostgreSQL cluster, a block holding several
calls, and the node's own view of a block (its extrinsics, its events, its timestamp) to hold a tool's output to.

Every limit here is a guard against a hang, scaled by BTT_TEST_TIMEOUT_SCALE; nothing waits on the clock.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from btt_chain.process_supervision import die_with_parent
from tests.functional.framework import Harness, NodeProcess, free_port, wait_until
from tests.support.wait_limits import record, scaled, timed_out

SUBSTRATE = Path(__file__).resolve().parent
UNIT = 10**18


DEV_EPOCH_SLOTS = 2
"""The epochs of `dev_node`: a block is final within two of them, so in 2 to 4 s (5-slot epochs took 5 to 10 s per
transfer followed to finality); test_upgrade_boundary_clients runs its dev node on 2-slot epochs too."""


def dev_node(harness: Harness, extra_args: list[str] | None = None) -> NodeProcess:
    """A dev node (`--chain dev` as a user starts it: alice validating, the dev accounts, names and parameters) whose
    epochs are DEV_EPOCH_SLOTS slots instead of 20: the tools wait for finality, which then comes in seconds, not
    half a minute; no tool reads the epoch's length."""
    return harness.add_node(chain=str(harness.write_dev_spec(epoch_slots=DEV_EPOCH_SLOTS)),
                            extra_args=extra_args or [])


# ---------------------------------------------------------------------------------------------------------------
# JavaScript tools


def node_missing() -> str | None:
    """Why Node.js tools cannot run here (skip reason), or None."""
    if shutil.which("node") is None:
        return "Node.js is not installed (scripts/bootstrap-test-tools installs it)"
    return None


def packages_missing(directory: Path, *packages: str) -> str | None:
    """Which pinned package of `directory` is not installed (its `npm ci` has not run), or None."""
    for package in packages:
        if not (directory / "node_modules" / package / "package.json").exists():
            return (f"{directory.relative_to(SUBSTRATE.parents[1])}/node_modules/{package} is missing: run "
                    "scripts/bootstrap-test-tools (it installs each pinned lockfile with npm ci)")
    return None


def node_options_for_websocket() -> str:
    """NODE_OPTIONS that give Node.js a global WebSocket (polkadot-api's WebSocket provider and its CLI need one):
    none on Node.js 22, which has it; --experimental-websocket on Node.js 20.10 to 21."""
    for options in ("", "--experimental-websocket"):
        done = subprocess.run(["node", *options.split(), "-p", "typeof WebSocket"], capture_output=True, text=True,
                              timeout=scaled(60))
        if done.stdout.strip() == "function":
            return options
    version = subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=scaled(60)).stdout.strip()
    raise AssertionError(f"Node.js {version} has no WebSocket, even with --experimental-websocket: polkadot-api "
                         "needs Node.js 20.10 or newer")


def first_error(text: str, patterns: tuple[str, ...] = (r"\berror\b", r"\bERROR\b", r"Error:", r"FATAL", r"fatal",
                                                        r"retrying")) -> str | None:
    """The first line of a tool's output that reports an error (the point where it stopped), or None."""
    joined = re.compile("|".join(patterns))
    for line in text.splitlines():
        if joined.search(line):
            return line.strip()
    return None


class ToolProcess:
    """One run of a JavaScript tool, in its own process group (so that its children stop with it), its output (stdout
    and stderr) in `log_path`; `stop()` ends the group: SIGTERM, then SIGKILL after a grace period."""

    def __init__(self, argv: list[str], cwd: Path, log_path: Path, env: dict[str, str] | None = None) -> None:
        self.argv = argv
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "ab") as log:
            log.write(f"--- start: {' '.join(argv)} (in {cwd})\n".encode())
            log.flush()
            self.proc = subprocess.Popen(argv, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         env={**os.environ, **(env or {})}, start_new_session=True,
                                         preexec_fn=die_with_parent())

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def exited(self) -> int | None:
        return self.proc.poll()

    def tail(self, lines: int = 30, width: int = 400) -> str:
        """Its last lines, each cut to `width` characters (a tool's debug lines can be long)."""
        cut = [line if len(line) <= width else line[:width] + " ..." for line in self.output().splitlines()[-lines:]]
        return "\n".join(cut)

    def stop(self, grace: float = 15) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(scaled(grace))
            except subprocess.TimeoutExpired:
                pass
        # the group's other members too (a worker or a child the tool started), even if the leader has exited
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(scaled(10))

    def wait(self, limit: float, what: str, stop_when: Callable[[str], str | None] | None = None) -> int:
        """Wait for the tool to exit by itself (at most `limit` s times the scale) and return its exit code; if
        `stop_when(output)` names a reason first (the tool is retrying an error forever), stop it and fail with
        that reason."""
        limit = scaled(limit)
        began = time.monotonic()
        while True:
            code = self.proc.poll()
            if code is not None:
                record(what, limit, time.monotonic() - began, True)
                return code
            if stop_when is not None and (reason := stop_when(self.output())):
                self.stop()
                raise AssertionError(f"{what}: stopped: {reason}\n--- its output (tail) ---\n{self.tail()}")
            if time.monotonic() - began > limit:
                record(what, limit, time.monotonic() - began, False)
                self.stop()
                raise AssertionError(timed_out(what, limit, time.monotonic() - began,
                                               f"\nfirst error: {first_error(self.output())}\n"
                                               f"--- its output (tail) ---\n{self.tail()}"))
            time.sleep(0.2)


@contextlib.contextmanager
def tool_process(argv: list[str], cwd: Path, log_path: Path, env: dict[str, str] | None = None
                 ) -> Iterator[ToolProcess]:
    proc = ToolProcess(argv, cwd, log_path, env)
    try:
        yield proc
    finally:
        proc.stop()


# ---------------------------------------------------------------------------------------------------------------
# PostgreSQL


def postgres_bindir() -> Path | None:
    """The directory of PostgreSQL's server programs (initdb, pg_ctl, postgres, psql): BTT_PG_BINDIR, else Debian's
    newest /usr/lib/postgresql/N/bin, else wherever `initdb` is on the PATH."""
    wanted = ("initdb", "pg_ctl", "postgres", "psql")
    candidates = [Path(os.environ["BTT_PG_BINDIR"])] if os.environ.get("BTT_PG_BINDIR") else []
    debian = Path("/usr/lib/postgresql")
    if debian.is_dir():
        versions = [p for p in debian.iterdir() if p.name.isdigit()]
        candidates += [p / "bin" for p in sorted(versions, key=lambda p: int(p.name), reverse=True)]
    if (initdb := shutil.which("initdb")) is not None:
        candidates.append(Path(initdb).resolve().parent)
    for bindir in candidates:
        if all((bindir / name).exists() for name in wanted):
            return bindir
    return None


def postgres_missing() -> str | None:
    """Why a throwaway PostgreSQL cluster cannot run here, or None."""
    if postgres_bindir() is None:
        return "PostgreSQL is not installed (scripts/bootstrap-test-tools installs Debian's postgresql)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root, and there is no `postgres` user to run PostgreSQL as (it refuses root)"
        if shutil.which("runuser") is None:
            return "running as root without `runuser` to start PostgreSQL as the `postgres` user"
    return None


class PgCluster:
    """A throwaway PostgreSQL cluster: initdb in a fresh temporary directory, a server on a free 127.0.0.1 port
    (trust authentication, no fsync: nothing here needs to survive), run as the `postgres` user when the tests run
    as root (PostgreSQL refuses root). `stop()` stops the server and removes the directory, and is always called
    (`pg_cluster()`)."""

    def __init__(self, keep_log_in: Path) -> None:
        bindir = postgres_bindir()
        assert bindir is not None, postgres_missing()
        self.bindir = bindir
        self.keep_log_in = keep_log_in
        self.port = free_port()
        self.user = "postgres"
        self.root = Path(tempfile.mkdtemp(prefix="btt-pg-"))
        self.data = self.root / "data"
        self.log_path = self.root / "postgres.log"
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            owner = pwd.getpwnam("postgres")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
        self.started = False

    def _run(self, *argv: str, limit: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bindir / argv[0]), *argv[1:]]
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=scaled(limit), cwd=self.root)
        if check and done.returncode != 0:
            raise AssertionError(f"{' '.join(argv[:2])} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}\n"
                                 f"{self.log_tail()}")
        return done

    def start(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", self.user, "--auth=trust", "-E", "UTF8", "--no-sync",
                  "--no-instructions", "--locale=C")
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100")
        self.started = True
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log_path), "-o", options, "-w", "-t",
                  str(int(scaled(60))), "start")

    def url(self, database: str) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def psql(self, database: str, sql: str) -> str:
        done = subprocess.run([str(self.bindir / "psql"), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
                               "-p", str(self.port), "-U", self.user, "-d", database, "-c", sql],
                              capture_output=True, text=True, timeout=scaled(60))
        if done.returncode != 0:
            raise PgError(done.stderr.strip() or done.stdout.strip())
        return done.stdout

    def create_database(self, name: str) -> None:
        self.psql("postgres", f'CREATE DATABASE "{name}"')

    def rows(self, database: str, sql: str) -> list[dict[str, Any]]:
        """The rows of `sql` as dicts (through json_agg)."""
        out = self.psql(database, f"SELECT coalesce(json_agg(q), '[]'::json) FROM ({sql}) q").strip()
        rows: list[dict[str, Any]] = json.loads(out or "[]")
        return rows

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        try:
            if self.started and (self.data / "postmaster.pid").exists():
                done = self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "-t", str(int(scaled(60))),
                                 "stop", check=False)
                if done.returncode != 0:
                    self._kill_postmaster()
        finally:
            with contextlib.suppress(OSError):
                self.keep_log_in.mkdir(parents=True, exist_ok=True)
                shutil.copy(self.log_path, self.keep_log_in / "postgres.log")
            shutil.rmtree(self.root, ignore_errors=True)

    def _kill_postmaster(self) -> None:
        with contextlib.suppress(OSError, ValueError, ProcessLookupError):
            pid = int((self.data / "postmaster.pid").read_text().splitlines()[0])
            os.kill(pid, signal.SIGKILL)


class PgError(Exception):
    """psql failed (a table not there yet counts as "not yet" while waiting)."""


@contextlib.contextmanager
def pg_cluster(keep_log_in: Path) -> Iterator[PgCluster]:
    cluster = PgCluster(keep_log_in)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


# ---------------------------------------------------------------------------------------------------------------
# a block with several calls, and the node's own view of it


@dataclass(frozen=True)
class NodeEvent:
    index: int
    """Its index among the block's events."""
    extrinsic: int | None
    """The index of the extrinsic that emitted it, None for events of the block's initialization or finalization."""
    phase: str
    """FRAME's phase: `ApplyExtrinsic`, `Initialization` or `Finalization`."""
    name: str
    """`pallet.Event` as the node names it (`balances.Transfer`)."""


@dataclass(frozen=True)
class NodeBlock:
    number: int
    hash: str
    timestamp_ms: int
    extrinsics: int
    events: list[NodeEvent]
    calls: list[str]
    """The btt calls made into this block, in the order they were sent (extrinsic 0, a timestamp inherent, is not
    one of them)."""


def name_key(pallet_and_event: str) -> tuple[str, str]:
    """A comparable `(pallet, event)`: pallets are named `transaction_payment` by btt, `TransactionPayment` in the
    metadata and by Subsquid, `transactionPayment` by SubQuery; events are named alike everywhere."""
    pallet, _, event = pallet_and_event.partition(".")
    return pallet.replace("_", "").lower(), event


def node_block_view(node: NodeProcess, block_hash: str, calls: list[str] | None = None) -> NodeBlock:
    """The block as the node itself reports it: chain_getBlock's extrinsics, btt_header's timestamp, btt_events."""
    block = node.call("chain_getBlock", block_hash)["block"]
    header = node.call("btt_header", block_hash)
    events: list[dict[str, Any]] = []
    while True:
        page = node.call("btt_events", block_hash, None, len(events), 500)
        events += page
        if len(page) < 500:
            break
    view = []
    for i, e in enumerate(events):
        phase = e.get("phase")
        extrinsic = phase if isinstance(phase, int) else None
        frame_phase = "ApplyExtrinsic" if extrinsic is not None else str(phase).capitalize()
        view.append(NodeEvent(i, extrinsic, frame_phase, f"{e['module']}.{e['event']}"))
    return NodeBlock(int(block["header"]["number"], 16), block_hash, int(header["timestamp"], 16),
                     len(block["extrinsics"]), view, calls or [])


def make_block_with_several_calls(node: NodeProcess, attempts: int = 5) -> NodeBlock:
    """Five calls of five modules signed by five dev accounts, sent together (one JSON-RPC batch) so that one block
    holds them all: bob's `balances.transfer_keep_alive` to alice, ferdie's `assets.register` (an X-ray machine),
    eve's `incentives.attest` (eve is the dev chain's health oracle) for charlie, charlie's `governance.propose` (a
    remark, at the minimum deposit) and alice's `compute.register_provider` (alice is the dev validator: its bond
    covers a provider's; or, if an earlier attempt registered it, `compute.deregister_provider`). Sent again (new
    nonces, new evidence) if a slot boundary fell between them; returns the block that holds them all as soon as it
    is included (an indexer that follows finality reaches it a finality lag later)."""
    import urllib.request

    from btt_chain.client.chain import ChainInfo
    from btt_chain.client.rpc import RpcClient
    from btt_chain.client.submit import sign_call
    from btt_chain.primitives.hashing import blake2b_256
    from btt_chain.primitives.keys import dev_keypair

    rpc = RpcClient(node.rpc.url, timeout=scaled(60))
    info = ChainInfo.fetch(rpc)
    alice, bob, ferdie, eve, charlie = (dev_keypair(n) for n in ("alice", "bob", "ferdie", "eve", "charlie"))
    min_deposit = next(int(row["value"]) for row in rpc.call("btt_params") if row["name"] == "governance.min_deposit")
    for attempt in range(attempts):
        tag = f"{time.time_ns()}/{attempt}".encode()
        provider = any(row["registered"] for row in rpc.call("btt_providers", "0x" + alice.public.hex()))
        names = ["balances.transfer_keep_alive", "assets.register", "incentives.attest", "governance.propose",
                 "compute.deregister_provider" if provider else "compute.register_provider"]
        remark = info.calls.build_call("system.remark", b"index me " + tag)
        xts = [
            sign_call(rpc, info, bob, info.calls.build_call(names[0], alice.public, 3 * UNIT)),
            sign_call(rpc, info, ferdie, info.calls.build_call(names[1], 0, blake2b_256(b"x-ray " + tag),
                                                               50_000 * UNIT)),
            sign_call(rpc, info, eve, info.calls.build_call(names[2], charlie.public, "preventive_visit",
                                                            blake2b_256(b"visit " + tag))),
            sign_call(rpc, info, charlie, info.calls.build_call(names[3], remark, blake2b_256(tag), min_deposit,
                                                                False)),
            sign_call(rpc, info, alice, info.calls.build_call(names[4]) if provider
                      else info.calls.build_call(names[4], 8, 0, 2)),
        ]
        batch = [{"jsonrpc": "2.0", "id": i, "method": "author_submitExtrinsic", "params": ["0x" + xt.encode().hex()]}
                 for i, xt in enumerate(xts)]
        req = urllib.request.Request(node.rpc.url, data=json.dumps(batch).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(req, timeout=scaled(60)) as resp:
            replies = json.loads(resp.read())
        errors = [r["error"] for r in replies if "error" in r]
        assert not errors, f"the node refused a call: {errors}"
        hashes = ["0x" + xt.hash().hex() for xt in xts]

        def included(hashes: list[str] = hashes) -> list[dict[str, Any]] | None:
            statuses = [node.call("btt_extrinsicStatus", h) for h in hashes]
            if all(s is not None and s.get("status") == "included" for s in statuses):
                return statuses
            return None

        statuses = wait_until(included, 60, 0.2, "the calls included")
        failed = [(n, s.get("error")) for n, s in zip(names, statuses, strict=True) if not s.get("success")]
        assert not failed, f"a call failed on chain: {failed}"
        blocks = {s["blockHash"] for s in statuses}
        if len(blocks) == 1:
            return node_block_view(node, blocks.pop(), names)
    raise AssertionError(f"the calls never landed in one block in {attempts} attempts")


# ---------------------------------------------------------------------------------------------------------------
# an indexer's rows against the node's view


def wait_for_indexer(pg: PgCluster, database: str, tool: ToolProcess, height_sql: str, number: int, what: str,
                     summarize: Callable[[str], str | None] = first_error, limit: float = 180) -> None:
    """Wait until the indexer's own progress row (`height_sql` returns one row with `height`) reaches block `number`;
    fail at once, with the first error it logged, if it exits first. The limit covers its start and the node's
    finality lag (about two epochs of 20 one-second slots on dev), on a busy machine."""

    def reached() -> bool:
        code = tool.exited()
        if code is not None:
            raise AssertionError(f"{what} exited with {code} before indexing block #{number}; first error: "
                                 f"{summarize(tool.output())}\n--- its output (tail) ---\n{tool.tail()}")
        try:
            rows = pg.rows(database, height_sql)
        except PgError:
            return False  # its tables are not made yet
        return bool(rows) and rows[0].get("height") is not None and int(rows[0]["height"]) >= number

    try:
        wait_until(reached, limit, 0.5, f"{what} to index block #{number}")
    except AssertionError as exc:
        if "timed out" in str(exc):
            raise AssertionError(f"{exc}\nfirst error it logged: {summarize(tool.output())}\n"
                                 f"--- its output (tail) ---\n{tool.tail()}") from None
        raise


def assert_rows_are_the_blocks_events(rows: list[dict[str, Any]], block: NodeBlock, node: NodeProcess,
                                      tool: str) -> None:
    """An indexer's rows for `block` (block_number, block_hash, block_timestamp, event_index, phase,
    extrinsic_index, name) are exactly the node's events of that block, in order, each with its extrinsic and phase,
    every extrinsic's events there (extrinsic 0's included), and every row carries the block's timestamp."""
    assert node.call("chain_getBlockHash", block.number) == block.hash, "the block left the canonical chain"
    expected = [(e.index, e.extrinsic, e.phase, name_key(e.name)) for e in block.events]
    got_rows = sorted(rows, key=lambda r: int(r["event_index"]))
    got = [(int(r["event_index"]), None if r["extrinsic_index"] is None else int(r["extrinsic_index"]), r["phase"],
            name_key(r["name"])) for r in got_rows]
    listing = "\n".join(f"  node: {e}\n  {tool}: {g}" for e, g in zip(expected, got, strict=False))
    assert got == expected, (f"{tool} recorded {len(got)} events of block #{block.number}, the node reports "
                             f"{len(expected)}:\n{listing}")
    assert {r["block_hash"] for r in rows} == {block.hash}, {r["block_hash"] for r in rows}
    assert {r["block_number"] for r in rows} == {block.number}
    stamps = {None if r["block_timestamp"] is None else int(r["block_timestamp"]) for r in rows}
    assert stamps == {block.timestamp_ms}, (f"{tool} recorded the block's timestamp as {stamps}, the node's header "
                                            f"says {block.timestamp_ms}")
    extrinsics = {g[1] for g in got} - {None}
    assert extrinsics == set(range(block.extrinsics)), (
        f"{tool} recorded events of extrinsics {sorted(extrinsics)}; the block has {block.extrinsics} extrinsics")
    names = {g[3] for g in got}
    for wanted in ("balances.Transfer", "assets.Registered", "incentives.Attested", "governance.Proposed",
                   "system.ExtrinsicSuccess"):
        assert name_key(wanted) in names, f"{wanted} is not among {tool}'s events of block #{block.number}"
    compute = {name_key("compute.ProviderRegistered"), name_key("compute.ProviderDeregistered")}
    assert names & compute, f"no compute event among {tool}'s events of block #{block.number}"
