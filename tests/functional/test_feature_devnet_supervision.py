"""`btt-chain devnet` supervision (issue 13): nodes die with their supervisor however it dies, and a devnet
that cannot bind a port says which and stops."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from btt_chain.process_supervision import die_with_parent
from tests.functional.framework import free_port
from tests.support.wait_limits import scaled


def free_run(n: int) -> int:
    """A first port of `n` consecutive free ports on 127.0.0.1 (a devnet takes base + i for each node)."""
    for _ in range(200):
        base = free_port()
        if base + n > 65_000:
            continue
        held = []
        try:
            for i in range(n):
                s = socket.socket()
                s.bind(("127.0.0.1", base + i))
                held.append(s)
            return base
        except OSError:
            continue
        finally:
            for s in held:
                s.close()
    raise AssertionError("no run of free ports")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie waiting for a reaper is dead for our purpose
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _node_pids(supervisor: int) -> list[int]:
    out = subprocess.run(["ps", "-eo", "pid,ppid"], capture_output=True, text=True, check=True).stdout
    return [int(line.split()[0]) for line in out.splitlines()[1:] if int(line.split()[1]) == supervisor]


def test_devnet_nodes_die_when_the_supervisor_is_killed(tmp_path: Path) -> None:
    port, rpc_port = free_run(2), free_run(2)
    cmd = [sys.executable, "-m", "cli", "devnet", "--nodes", "2", "--port", str(port), "--rpc-port", str(rpc_port),
           "--base-dir", str(tmp_path / "devnet"), "--json"]
    sup = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True,
                           preexec_fn=die_with_parent())
    try:
        header = b""
        deadline = time.monotonic() + scaled(120)  # limits against a hang, never reached on a busy machine
        while b"\n}" not in header and time.monotonic() < deadline:
            chunk = sup.stdout.read1(4096) if sup.stdout else b""  # type: ignore[union-attr]
            assert chunk, f"the supervisor closed its output before its node table: {header!r}"
            header += chunk
        table = json.loads(header[: header.index(b"\n}") + 2])
        assert len(table["nodes"]) == 2
        nodes = []
        while len(nodes) < 2 and time.monotonic() < deadline:
            nodes = _node_pids(sup.pid)
            time.sleep(0.2)
        assert len(nodes) == 2
        sup.send_signal(signal.SIGKILL)  # no chance to clean up
        sup.wait(scaled(30))
        deadline = time.monotonic() + scaled(60)
        while any(_alive(p) for p in nodes) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(_alive(p) for p in nodes), "devnet nodes outlived their supervisor"
    finally:
        for p in _node_pids(sup.pid):
            os.kill(p, signal.SIGKILL)
        if sup.poll() is None:
            sup.kill()


def test_a_devnet_on_a_taken_port_names_it_and_stops(tmp_path: Path) -> None:
    rpc_port = free_run(2)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", rpc_port + 1))
        holder.listen()
        run = subprocess.run(
            [sys.executable, "-m", "cli", "devnet", "--nodes", "2", "--port", str(free_run(2)), "--rpc-port",
             str(rpc_port), "--base-dir", str(tmp_path / "devnet")],
            capture_output=True, text=True, timeout=scaled(120),
        )
    assert run.returncode != 0
    assert f"{rpc_port + 1} (node1 RPC)" in run.stderr and "is already in use" in run.stderr
    assert "Traceback" not in run.stderr and not (tmp_path / "devnet").exists()
