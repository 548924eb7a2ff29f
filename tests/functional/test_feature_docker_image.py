"""feature_docker_image: packaging/Dockerfile built and run where docker works (issue 43, item 3): the image's default
command (a dev node, RPC on all interfaces) answers `system_health` on a published loopback port and stops on
SIGTERM. Skipped, with what `docker info` said, where there is no docker daemon; tests/packaging reads the
Dockerfile, the compose file and the systemd unit statically everywhere."""

from __future__ import annotations

import shutil
import subprocess
import uuid

import pytest

from btt_chain.client.rpc import RpcClient
from tests.functional.framework import REPO, RPC_TIMEOUT_S, Harness, free_port, wait_until
from tests.support.wait_limits import scaled


def docker_unavailable() -> str | None:
    """Why docker cannot build and run images here, or None when it can."""
    if shutil.which("docker") is None:
        return "no docker command on this machine"
    try:
        done = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return "`docker info` did not answer within 60 s"
    if done.returncode != 0:
        said = [line.strip() for line in (done.stderr or done.stdout).splitlines() if line.strip()]
        return f"no docker daemon: `docker info` says: {said[-1] if said else 'exit ' + str(done.returncode)}"
    return None


def test_the_image_builds_and_runs_a_dev_node(harness: Harness) -> None:
    why = docker_unavailable()
    if why is not None:
        pytest.skip(why)
    tag = f"btt-chain-test:{uuid.uuid4().hex[:12]}"
    name = f"btt-chain-test-{uuid.uuid4().hex[:12]}"
    harness.log(f"building {tag}")
    built = subprocess.run(["docker", "build", "-f", "packaging/Dockerfile", "-t", tag, "."], cwd=REPO,
                           capture_output=True, text=True, timeout=scaled(1800))
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    port = free_port()
    try:
        started = subprocess.run(["docker", "run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:9944", tag],
                                 capture_output=True, text=True, timeout=scaled(120))
        assert started.returncode == 0, started.stderr
        rpc = RpcClient(f"http://127.0.0.1:{port}", timeout=scaled(RPC_TIMEOUT_S))

        def producing() -> bool:
            running = subprocess.run(["docker", "inspect", "-f", "{{.State.Running}}", name], capture_output=True,
                                     text=True, timeout=60).stdout.strip()
            assert running == "true", subprocess.run(["docker", "logs", name], capture_output=True, text=True).stderr
            return rpc.call("system_health") is not None and int(rpc.call("chain_getHeader")["number"], 16) >= 2

        wait_until(producing, 180, 0.5, "the container's dev node answers system_health at #2")
        stopped = subprocess.run(["docker", "stop", "-t", "60", name], capture_output=True, text=True,
                                 timeout=scaled(120))
        assert stopped.returncode == 0, stopped.stderr
        code = subprocess.run(["docker", "inspect", "-f", "{{.State.ExitCode}}", name], capture_output=True,
                              text=True, timeout=60).stdout.strip()
        logs = subprocess.run(["docker", "logs", name], capture_output=True, text=True, timeout=60)
        assert code == "0" and "Traceback" not in logs.stdout + logs.stderr, logs.stderr[-3000:]
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, timeout=120)
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True, timeout=120)
