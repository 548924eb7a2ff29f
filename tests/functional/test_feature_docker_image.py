"""feature_docker_image: packaging/Dockerfile built and run where docker works (issue 43, item 3): the image's default
command (a dev node, RPC on all interfaces) answers `system_health` on a published loopback port and stops on
SIGTERM. Skipped, with what `docker info` said, where there is no docker daemon, and with docker's own words where
a daemon answers but the base image cannot be pulled for want of a network or a registry (issue 53; a machine
that reaches package registries only): the base images are pulled first, each on its own, so that a pull that
cannot reach the registry is told apart from a build that fails; a base image that does not exist, or any failure
of our Dockerfile's own steps, fails the test. tests/packaging reads the Dockerfile, the compose file and the
systemd unit statically everywhere."""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path

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


NETWORK_FAILURES = re.compile(
    r"dial tcp|no such host|i/o timeout|TLS handshake timeout|connection refused|connection reset|network is "
    r"unreachable|no route to host|server misbehaving|Client\.Timeout exceeded|request canceled|Temporary failure "
    r"(in name )?resolution|temporary failure resolving|Could not resolve|toomanyrequests|503 Service Unavailable|"
    r"502 Bad Gateway|Failed to establish a new connection", re.IGNORECASE)
"""What docker (and apt or pip inside a build step) says when it cannot reach a registry: no network, no DNS, a
proxy or firewall in the way, or the registry refusing for now (Docker Hub's rate limit). Not in it: `manifest
unknown`, `not found`, `pull access denied` (a base image that does not exist is our Dockerfile's error)."""


TAIL_LINES = 40
"""Only the end of a failed command's output says why it failed: pip prints a retried connection's warning and
goes on, so a network word far above the error is not its cause."""


def network_failure(output: str) -> str | None:
    """The line near the end of docker's `output` that says a registry could not be reached, or None."""
    for line in output.splitlines()[-TAIL_LINES:]:
        if NETWORK_FAILURES.search(line):
            return line.strip()[:300]
    return None


def base_images(dockerfile: Path) -> list[str]:
    """The images the Dockerfile's stages start FROM, in order, without its own stages (`FROM build`)."""
    stages: set[str] = set()
    bases: list[str] = []
    for line in dockerfile.read_text().splitlines():
        words = line.split()
        if len(words) >= 2 and words[0].upper() == "FROM":
            image = next(w for w in words[1:] if not w.startswith("--"))
            if image not in stages and image not in bases:
                bases.append(image)
            if len(words) >= 4 and words[-2].upper() == "AS":
                stages.add(words[-1])
    return bases


def pull_verdict(image: str, pulled: subprocess.CompletedProcess[str]) -> str | None:
    """None when `docker pull image` worked; the reason to skip when it could not reach the registry; an
    AssertionError for any other failure (an image that does not exist, a daemon error)."""
    if pulled.returncode == 0:
        return None
    said = pulled.stderr + pulled.stdout
    line = network_failure(said)
    if line is not None:
        return f"docker cannot pull the base image {image} (no network or registry here): {line}"
    raise AssertionError(f"`docker pull {image}` failed, and not for want of a network:\n{said[-3000:]}")


def build_verdict(built: subprocess.CompletedProcess[str]) -> str | None:
    """None when the build worked; the reason to skip when a step could not reach a registry (Debian's mirror or
    PyPI); an AssertionError for any other failure: our Dockerfile's own error."""
    if built.returncode == 0:
        return None
    line = network_failure(built.stdout + built.stderr)
    if line is not None:
        return f"the image's build could not reach a package registry (no network here): {line}"
    raise AssertionError(f"`docker build` failed:\n{built.stdout[-3000:]}{built.stderr[-3000:]}")


def pull_bases_or_skip(log: Callable[[str], None], dockerfile: Path = REPO / "packaging" / "Dockerfile") -> None:
    """Pull every base image that is not here yet; skip, with docker's reason, when the registry is out of reach."""
    for image in base_images(dockerfile):
        if subprocess.run(["docker", "image", "inspect", image], capture_output=True, timeout=60).returncode == 0:
            continue
        log(f"pulling {image}")
        pulled = subprocess.run(["docker", "pull", image], capture_output=True, text=True, timeout=scaled(900))
        why = pull_verdict(image, pulled)
        if why is not None:
            pytest.skip(why)


def test_the_image_builds_and_runs_a_dev_node(harness: Harness) -> None:
    why = docker_unavailable()
    if why is not None:
        pytest.skip(why)
    pull_bases_or_skip(harness.log)
    tag = f"btt-chain-test:{uuid.uuid4().hex[:12]}"
    name = f"btt-chain-test-{uuid.uuid4().hex[:12]}"
    harness.log(f"building {tag}")
    built = subprocess.run(["docker", "build", "-f", "packaging/Dockerfile", "-t", tag, "."], cwd=REPO,
                           capture_output=True, text=True, timeout=scaled(1800))
    why = build_verdict(built)
    if why is not None:
        pytest.skip(why)
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


# --- what counts as "no network" (everywhere: no docker needed) ------------------------------------------------

NO_NETWORK_PULLS = (
    'Error response from daemon: Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io on '
    "127.0.0.53:53: server misbehaving",
    'Error response from daemon: Get "https://registry-1.docker.io/v2/": net/http: request canceled while waiting '
    "for connection (Client.Timeout exceeded while awaiting headers)",
    'Error response from daemon: Get "https://registry-1.docker.io/v2/": dial tcp 54.227.20.253:443: connect: '
    "network is unreachable",
    "Error response from daemon: toomanyrequests: You have reached your pull rate limit.",
)
OUR_ERRORS = (
    "Error response from daemon: manifest for python:3.11-slim-bookwrm not found: manifest unknown: manifest unknown",
    "Error response from daemon: pull access denied for pyhton, repository does not exist or may require "
    "'docker login': denied: requested access to the resource is denied",
)


def done(code: int, stderr: str, stdout: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.CompletedProcess(["docker"], code, stdout, stderr)


def test_the_base_images_are_the_dockerfiles_froms_without_its_own_stages(tmp_path: Path) -> None:
    assert base_images(REPO / "packaging" / "Dockerfile") == ["python:3.11-slim-bookworm"]
    other = tmp_path / "Dockerfile"
    other.write_text("FROM --platform=linux/amd64 debian:bookworm AS build\nRUN true\nfrom build AS two\n"
                     "FROM two\nFROM alpine:3.20\n")
    assert base_images(other) == ["debian:bookworm", "alpine:3.20"]


@pytest.mark.parametrize("said", NO_NETWORK_PULLS)
def test_a_pull_that_cannot_reach_the_registry_skips_with_dockers_words(said: str) -> None:
    why = pull_verdict("python:3.11-slim-bookworm", done(1, said + "\n"))
    assert why is not None and why.startswith("docker cannot pull the base image python:3.11-slim-bookworm")
    assert said[-40:] in why


@pytest.mark.parametrize("said", OUR_ERRORS)
def test_a_base_image_that_does_not_exist_fails(said: str) -> None:
    with pytest.raises(AssertionError, match="not for want of a network"):
        pull_verdict("python:3.11-slim-bookwrm", done(1, said))
    assert pull_verdict("python:3.11-slim-bookworm", done(0, "", "Status: Image is up to date")) is None


def test_a_build_step_without_network_skips_and_our_own_error_fails() -> None:
    apt = ("#6 [build 2/9] RUN apt-get update\n#6 0.51 Err:1 http://deb.debian.org/debian bookworm InRelease\n"
           "#6 0.51   Temporary failure resolving 'deb.debian.org'\n#6 ERROR: process \"/bin/sh -c apt-get update\" "
           "did not complete successfully: exit code: 100\n")
    why = build_verdict(done(1, apt))
    assert why is not None and "Temporary failure resolving 'deb.debian.org'" in why
    ours = ('#9 [build 5/9] COPY btt_chain ./btt_chain\n'
            '#9 ERROR: failed to calculate checksum: "/btt_chain": not found\n')
    with pytest.raises(AssertionError, match="not found"):
        build_verdict(done(1, ours))
    # a retried connection far above the real error is not its cause
    retried = ("WARNING: Retrying (Retry(total=4)) after connection broken by 'NewConnectionError(Failed to "
               "establish a new connection)'\n" + "#10 building wheel\n" * TAIL_LINES +
               "error: command 'gcc' failed with exit code 1\n")
    with pytest.raises(AssertionError, match="gcc"):
        build_verdict(done(1, retried))
    assert build_verdict(done(0, "")) is None


def fake_docker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pull_says: str) -> Path:
    """A `docker` on PATH whose daemon answers, holds no image, and whose `pull` fails saying `pull_says`."""
    calls = tmp_path / "calls"
    script = tmp_path / "bin" / "docker"
    script.parent.mkdir()
    script.write_text(f"#!/bin/sh\necho \"$*\" >> '{calls}'\ncase \"$1\" in\n  info) exit 0 ;;\n"
                      f"  image) exit 1 ;;\n  pull) echo '{pull_says}' >&2; exit 1 ;;\nesac\nexit 2\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{script.parent}:/usr/bin:/bin")
    return calls


def test_the_image_test_skips_when_the_daemon_answers_and_the_pull_cannot(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    calls = fake_docker(tmp_path, monkeypatch, NO_NETWORK_PULLS[0])
    assert docker_unavailable() is None
    with pytest.raises(pytest.skip.Exception, match="server misbehaving"):
        pull_bases_or_skip(lambda _line: None)
    assert calls.read_text().splitlines() == ["info", "image inspect python:3.11-slim-bookworm",
                                              "pull python:3.11-slim-bookworm"]  # and no build was tried


def test_the_image_test_fails_when_the_base_image_does_not_exist(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    fake_docker(tmp_path, monkeypatch, OUR_ERRORS[0])
    with pytest.raises(AssertionError, match="manifest unknown"):
        pull_bases_or_skip(lambda _line: None)
