"""`btt-chain node --dev` on a taken port (issue 43, item 4): the error is the first and only line the node prints,
before any INFO line, with no traceback, and nothing is written (the ports are checked before the database is
opened). RPC, libp2p and Prometheus ports alike, and one port given to two of them. A port whose last server
closed a moment ago (its connections in TIME_WAIT) is free, to the node and to `btt-chain devnet` alike."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.functional.framework import REPO, free_port
from tests.support.wait_limits import scaled


@contextmanager
def taken_port() -> Iterator[int]:
    """A port another process listens on, for the length of the block."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield int(holder.getsockname()[1])


def start_node(*args: str) -> tuple[int, list[str]]:
    """Run `btt-chain node ARGS` to its end; (exit code, the lines it printed on stdout and stderr together)."""
    done = subprocess.run([sys.executable, "-m", "cli", "node", *args], cwd=REPO, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=scaled(120), stdin=subprocess.DEVNULL)
    return done.returncode, [line for line in done.stdout.splitlines() if line.strip()]


@pytest.mark.parametrize("option, error", [
    ("--rpc-port", "cannot serve RPC on 127.0.0.1:{port}: Address already in use (another node? choose another "
                   "port with --rpc-port)"),
    ("--port", "cannot listen for peers on 127.0.0.1:{port}: Address already in use (another node? choose another "
               "port with --port, or --no-p2p)"),
    ("--prometheus-port", "cannot serve Prometheus metrics on 127.0.0.1:{port}: Address already in use (choose "
                          "another with --prometheus-port, or --no-prometheus)"),
])
def test_a_taken_port_is_the_first_and_only_line(tmp_path: Path, option: str, error: str) -> None:
    ports = {"--rpc-port": free_port(), "--port": free_port(), "--prometheus-port": free_port()}
    base = tmp_path / "node"
    with taken_port() as port:
        ports[option] = port
        argv = [a for k, v in ports.items() for a in (k, str(v))]
        code, lines = start_node("--dev", *argv)
        assert code == 1 and lines == [f"error: {error.format(port=port)}"], lines
        code, lines = start_node("--dev", "--base-path", str(base), *argv)
        assert code == 1 and lines == [f"error: {error.format(port=port)}"], lines
    assert not base.exists(), "the node wrote its data before it said the port was taken"


def test_one_port_given_to_two_servers(tmp_path: Path) -> None:
    port = free_port()
    code, lines = start_node("--dev", "--rpc-port", str(port), "--port", str(port), "--no-prometheus")
    assert code == 1 and lines == [f"error: port {port} is given both to serve RPC and to listen for peers: give "
                                   "each its own"], lines


def test_a_port_whose_connections_wait_out_their_close_is_free() -> None:
    """The server closes first, so the kernel keeps the connection in TIME_WAIT on the server's port for a minute:
    a plain bind fails there, but the servers bind with SO_REUSEADDR, and so do the checks."""
    from cli.devnet_cmd import busy_ports
    from p2p.ports import bind_error

    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = int(server.getsockname()[1])
        with socket.create_connection(("127.0.0.1", port)) as client:
            conn, _ = server.accept()
            conn.close()  # the server's side closes first: TIME_WAIT on `port`
            client.recv(1)
    with socket.socket() as plain:
        try:
            plain.bind(("127.0.0.1", port))
        except OSError:
            pass
        else:
            pytest.skip("this kernel left no TIME_WAIT socket on the port")
    assert bind_error("127.0.0.1", port) is None
    assert busy_ports(1, port, free_port()) == []


@pytest.mark.parametrize("args, error", [
    (["--dev"], "--sync warp needs --base-path DIR (a --tmp node's database would be gone when it stops)"),
    (["--dev", "--base-path", "{base}"], "--sync warp joins a network's chain: give the chain spec it shares (with "
                                         "its genesis time), not a spec whose genesis is set when a node first starts"),
    (["--chain", "{spec}", "--base-path", "{base}", "--no-p2p"], "--sync warp fetches from peers: drop --no-p2p"),
])
def test_sync_warp_without_what_it_needs_is_one_line(tmp_path: Path, args: list[str], error: str) -> None:
    from genesis.devnet import devnet_spec_doc
    from genesis.loader import canonical_json

    spec = tmp_path / "spec.json"
    spec.write_bytes(canonical_json(devnet_spec_doc(2, 1_800_000_000_000, 5)))
    base = tmp_path / "node"
    argv = [a.format(base=base, spec=spec) for a in args]
    code, lines = start_node(*argv, "--sync", "warp", "--rpc-port", str(free_port()), "--prometheus-port",
                             str(free_port()))
    assert code == 1 and lines == [f"error: {error}"], lines
    assert not base.exists(), "the node wrote its data before it said what warp sync lacks"
