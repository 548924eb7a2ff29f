"""`btt-chain devnet`: N validator nodes on loopback with a shared dev genesis, a live status line, Ctrl-C stops all."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import click

from btt_chain.client.rpc import RpcClient, RpcError
from btt_chain.primitives.errors import ConfigError
from btt_chain.process_supervision import die_with_parent
from genesis.devnet import DEVNET_VALIDATORS, devnet_spec_doc
from genesis.loader import canonical_json


@dataclass
class DevnetNode:
    index: int
    name: str
    datadir: Path
    p2p_port: int
    rpc_port: int
    peer_id: str
    process: subprocess.Popen[bytes] | None = None

    @property
    def rpc_url(self) -> str:
        return f"http://127.0.0.1:{self.rpc_port}"

    @property
    def multiaddr(self) -> str:
        return f"/ip4/127.0.0.1/tcp/{self.p2p_port}/p2p/{self.peer_id}"


def busy_ports(nodes: int, base_port: int, base_rpc_port: int) -> list[str]:
    """Each port the devnet needs that something on 127.0.0.1 already holds, named by its node and use. Bound as
    the nodes bind (SO_REUSEADDR): the closed connections of a devnet stopped a moment ago (TIME_WAIT) do not
    count, a listening socket does."""
    from p2p.ports import bind_error

    return [f"{port} (node{i} {use})" for i in range(nodes)
            for port, use in ((base_port + i, "libp2p"), (base_rpc_port + i, "RPC")) if bind_error("127.0.0.1", port)]


def plan_devnet(base: Path, nodes: int, base_port: int, base_rpc_port: int, epoch_slots: int | None,
                slot_ms: int | None) -> tuple[Path, list[DevnetNode]]:
    """Write the shared chain spec and each node's key; return the spec path and the node plan."""
    from p2p.node_key import load_or_create_node_key

    base.mkdir(parents=True, exist_ok=True)
    start = (time.time_ns() // 1_000_000_000 + 2) * 1000
    spec_path = base / "devnet-spec.json"
    spec_path.write_bytes(canonical_json(devnet_spec_doc(nodes, start, epoch_slots, slot_ms)) + b"\n")
    plan = []
    for i in range(nodes):
        datadir = base / f"node{i}"
        node_key = load_or_create_node_key(datadir / "node-key")
        plan.append(DevnetNode(i, DEVNET_VALIDATORS[i], datadir, base_port + i, base_rpc_port + i, node_key.peer_id))
    return spec_path, plan


def node_args(node: DevnetNode, spec_path: Path, bootnodes: list[DevnetNode], extra: tuple[str, ...]) -> list[str]:
    args = [
        sys.executable, "-m", "cli", "node", "--chain", str(spec_path), "--base-path", str(node.datadir),
        "--validator", "--key", node.name, "--port", str(node.p2p_port), "--rpc-port", str(node.rpc_port),
        "--node-key-file", str(node.datadir / "node-key"), "--name", f"node{node.index}-{node.name}",
        "--prometheus-port", "0",  # metrics on a free port (each node's log names it): nodes never clash on 9615
    ]
    for boot in bootnodes:
        args += ["--bootnodes", boot.multiaddr]
    return args + list(extra)


def demo_args(node: DevnetNode) -> tuple[str, ...]:
    """--demo-economy on a devnet: each validator mines with its own key; only node0 runs the clinic."""
    return ("--demo-economy",) if node.index == 0 else ("--demo-economy", "--demo-clinic", "none")


def stop_processes(nodes: list[DevnetNode], timeout: float = 20) -> None:
    """SIGTERM every running node, then wait for each (SIGKILL after `timeout`)."""
    for n in nodes:
        if n.process is not None and n.process.poll() is None:
            n.process.send_signal(signal.SIGTERM)
    for n in nodes:
        if n.process is not None:
            try:
                n.process.wait(timeout)
            except subprocess.TimeoutExpired:
                n.process.kill()


@dataclass(frozen=True)
class NodeStatus:
    head: int
    finalized: int
    peers: int


def poll_status(node: DevnetNode) -> NodeStatus | None:
    """The node's head, finalized height and peer count from its RPC; None while it does not answer."""
    try:
        client = RpcClient(node.rpc_url, timeout=1)
        head = int(client.call("chain_getHeader")["number"], 16)
        fin_hash = client.call("chain_getFinalizedHead")
        fin = int(client.call("chain_getHeader", fin_hash)["number"], 16)
        return NodeStatus(head, fin, int(client.call("system_health")["peers"]))
    except (RpcError, KeyError, TypeError, ValueError):
        return None


def _status_line(nodes: list[DevnetNode], statuses: list[NodeStatus | None]) -> str:
    parts = [f"n{n.index} #{s.head}/{s.finalized} ({s.peers})" if s is not None else f"n{n.index} down"
             for n, s in zip(nodes, statuses, strict=True)]
    return " ".join(parts)[:STATUS_WIDTH]


def ready_line(nodes: list[DevnetNode], statuses: list[NodeStatus | None], elapsed_s: float, command: str,
               default_rpc_port: int) -> str | None:
    """The one line saying the devnet is usable, once every node has finalized a block past genesis (None before):
    how long it took, where its RPC and explorer are, and a first command to run against it."""
    if not nodes or any(s is None or s.finalized < 1 for s in statuses):
        return None
    least = min(s.finalized for s in statuses if s is not None)
    first, last = nodes[0], nodes[-1]
    rpc = first.rpc_url if len(nodes) == 1 else f"{first.rpc_url} (node0) to {last.rpc_url} (node{last.index})"
    target = "" if first.rpc_port == default_rpc_port else f" --rpc {first.rpc_url}"
    return (f"devnet ready: every node has finalized block #{least} ({elapsed_s:.0f} s after start). RPC {rpc}, "
            f"explorer {first.rpc_url}/ in a browser; in another terminal: {command} query account bob{target}")


def cli_command() -> str:
    """How this command was invoked (`.venv/bin/btt-chain` from ./scripts/devnet), else `btt-chain`."""
    return sys.argv[0] if Path(sys.argv[0]).name == "btt-chain" else "btt-chain"


LOG_TAIL_BYTES = 64 * 1024
"""How much of a stopped node's log is read for its last `error:` line."""


def last_error_line(log: Path) -> str | None:
    """The last `error: ...` line a node printed before it stopped (the one line a failed start says: a bad setting,
    a taken port, a database another process holds), from the end of its log; None if it printed none."""
    try:
        with log.open("rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - LOG_TAIL_BYTES))
            tail = f.read().decode(errors="replace")
    except OSError:
        return None
    found = [line.strip() for line in tail.splitlines() if line.startswith("error: ")]
    return found[-1][:500] if found else None


STATUS_WIDTH = 79
DEFAULT_RPC_PORT = 9944
STATUS_LEGEND = "status: n<node> #<head>/<finalized> (<peers>), refreshed every second"


@click.command()
@click.option("--nodes", type=click.IntRange(1, len(DEVNET_VALIDATORS)), default=4, show_default=True)
@click.option("--base-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Keep node data here (default: a temporary directory removed on exit).")
@click.option("--port", "base_port", type=click.IntRange(1024, 65000), default=30333, show_default=True,
              help="First node's libp2p port; node i uses port + i.")
@click.option("--rpc-port", "base_rpc_port", type=click.IntRange(1024, 65000), default=DEFAULT_RPC_PORT,
              show_default=True,
              help="First node's RPC port; node i uses rpc-port + i.")
@click.option("--epoch-slots", type=click.IntRange(2, 10_000), default=5, show_default=True,
              help="Epoch length in slots (finality moves once per epoch).")
@click.option("--demo-economy", is_flag=True,
              help="Every validator also runs a miner; node0 also runs a demo clinic (ferdie) posting jobs.")
@click.option("--json", "as_json", is_flag=True, help="Print the node table as JSON, then run without a status line.")
def devnet(nodes: int, base_dir: Path | None, base_port: int, base_rpc_port: int, epoch_slots: int | None,
           demo_economy: bool, as_json: bool) -> None:
    """Start N validator nodes on 127.0.0.1 with a shared dev genesis; Ctrl-C stops them all. The nodes die
    with this command however it dies (even SIGKILL), so none keeps its ports."""
    started = time.monotonic()
    announced = False
    from storage.leveldb import check_environment

    check_environment()  # what every node would refuse at its start, said once here and before the ports
    taken = busy_ports(nodes, base_port, base_rpc_port)
    if taken:
        raise ConfigError(
            f"port {', '.join(taken)} is already in use (another devnet or node?): stop it, or choose other ports "
            "with --port and --rpc-port"
        )
    tmp = None
    if base_dir is None:
        tmp = tempfile.mkdtemp(prefix="btt-devnet-")
        base_dir = Path(tmp)
    spec_path, plan = plan_devnet(base_dir, nodes, base_port, base_rpc_port, epoch_slots, None)
    procs: list[DevnetNode] = []
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    try:
        for node in plan:
            log = open(node.datadir / "node.log", "ab")
            node.process = subprocess.Popen(
                # every node dials all earlier ones: a full mesh, so no single node carries the network
                node_args(node, spec_path, plan[: node.index], demo_args(node) if demo_economy else ()),
                stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
                start_new_session=True, preexec_fn=die_with_parent(),
            )
            log.close()
            procs.append(node)
        table = [
            {"node": n.index, "validator": n.name, "rpc": n.rpc_url, "explorer": f"{n.rpc_url}/", "peer_id": n.peer_id,
             "p2p": n.multiaddr, "log": str(n.datadir / "node.log")}
            for n in plan
        ]
        if as_json:
            click.echo(json.dumps({"spec": str(spec_path), "nodes": table}, indent=2))
        else:
            click.echo(f"devnet of {nodes} validators, chain spec {spec_path}")
            for row in table:
                click.echo(
                    f"  node{row['node']} {row['validator']:<8} RPC {row['rpc']}  explorer {row['explorer']}  "
                    f"{row['peer_id']}  log {row['log']}"
                )
            if demo_economy:
                click.echo("demo economy: every validator runs a miner, node0 a clinic (ferdie); their progress "
                           "is in the node logs")
            click.echo("Ctrl-C stops every node.")
            click.echo(STATUS_LEGEND)
        while not stopping:
            time.sleep(1)
            dead = [n for n in procs if n.process is not None and n.process.poll() is not None]
            if dead:
                for n in dead:
                    said = last_error_line(n.datadir / "node.log")
                    click.echo(f"\nnode{n.index} exited with {n.process.returncode if n.process else '?'}"
                               f"{': ' + said if said else ''}; see {n.datadir / 'node.log'}", err=True)
                raise ConfigError("a devnet node stopped")
            if as_json and announced:
                continue  # no status line to keep: the nodes are asked nothing more
            statuses = [poll_status(n) for n in procs]
            ready = None if announced else ready_line(procs, statuses, time.monotonic() - started, cli_command(),
                                                      DEFAULT_RPC_PORT)
            if ready is not None:
                announced = True
                if as_json:
                    click.echo(ready, err=True)  # stdout stays the JSON table
                else:
                    click.echo("\r" + ready.ljust(STATUS_WIDTH))
            if not as_json:
                click.echo("\r" + _status_line(procs, statuses).ljust(STATUS_WIDTH), nl=False)
    except KeyboardInterrupt:
        pass
    finally:
        click.echo("\nstopping the devnet ...", err=True)
        stop_processes(procs)
        if tmp is not None:
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
        click.echo("devnet stopped", err=True)
