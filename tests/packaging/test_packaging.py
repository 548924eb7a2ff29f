"""packaging/ read as docker, compose and systemd would (issue 43, item 3), without them: the Dockerfile builds on
Debian's official Python 3.11 slim image and installs the `node` extra only; the compose file names four validators
with distinct ports, addresses, keys and bootnodes, and its commands are valid `btt-chain` command lines (the spec
service's script is run here, writing a spec the four nodes accept); the systemd unit has its dedicated user,
hardening and writable base path, passes `systemd-analyze verify` where that tool exists, and starts a valid
`btt-chain node`. tests/functional/test_feature_docker_image.py builds and runs the image where docker works."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import click
import pytest

from genesis.loader import load_chain_spec

REPO = Path(__file__).resolve().parents[2]
PACKAGING = REPO / "packaging"
DOCKERFILE = PACKAGING / "Dockerfile"
COMPOSE = PACKAGING / "compose.yaml"
UNIT = PACKAGING / "btt-chain.service"
VALIDATORS = ("alice", "bob", "charlie", "eve")
"""The four validators of `btt-chain devnet --nodes 4`, in its order."""


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments left out."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        text = pending + line
        pending = ""
        word, _, rest = text.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def cli_args(command: str, node: str) -> None:
    """Parse `btt-chain ...` as the CLI would (no command runs): a bad option fails here."""
    from cli.main import cli

    argv = shlex.split(command)
    assert argv[0].endswith("btt-chain") and argv[1] == node, command
    parent = click.Context(cli, info_name="btt-chain")
    sub = cli.get_command(parent, node)
    assert sub is not None
    sub.make_context(node, argv[2:], parent=parent)


# --- Dockerfile --------------------------------------------------------------------------------------------------


def test_the_image_is_debian_python_311_slim_with_the_node_extra_only() -> None:
    steps = instructions(DOCKERFILE)
    bases = [args.split()[0] for op, args in steps if op == "FROM"]
    assert bases and all(b in ("python:3.11-slim-bookworm", "python:3.11-slim") for b in bases), bases
    installs = [args for op, args in steps if op == "RUN" and "pip install" in args]
    assert len(installs) == 1 and '".[node]"' in installs[0], installs
    assert not re.search(r"\[(?:[^]]*,)?(dev|models|client)", installs[0]), installs[0]
    # every package the project installs is copied in (pyproject's setuptools include), and its metadata
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    packages = {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    copied = {args.split()[0] for op, args in steps if op == "COPY" and "--from" not in args}
    assert packages <= copied, packages - copied
    assert {"pyproject.toml", "setup.py", "README.md"} <= {w for op, a in steps if op == "COPY" for w in a.split()}
    final = steps[max(i for i, (op, _) in enumerate(steps) if op == "FROM"):]
    user = [args for op, args in final if op == "USER"]
    assert user and user[-1] not in ("root", "0"), user
    assert ("ENTRYPOINT", '["btt-chain"]') in final
    assert {p for op, a in final if op == "EXPOSE" for p in a.split()} == {"9944", "30333", "9615"}
    cmd = next(args for op, args in final if op == "CMD")
    cli_args("btt-chain " + " ".join(json.loads(cmd)), "node")  # the default: a dev node, RPC on all interfaces


def test_the_build_context_leaves_out_the_venv_and_tests() -> None:
    ignored = {line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    assert {".venv", ".git", "tests", "test-data"} <= ignored


# --- compose -----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    yaml = pytest.importorskip("yaml")
    return dict(yaml.safe_load(COMPOSE.read_text()))


def unescaped(text: str) -> str:
    """What compose hands the container: `$$` is a literal `$`."""
    return text.replace("$$", "$")


def test_compose_runs_four_validators_with_distinct_ports_and_bootnodes(compose: dict[str, Any]) -> None:
    services = compose["services"]
    names = [n for n in services if n.startswith("validator")]
    assert names == [f"validator{i}" for i in range(4)], list(services)
    addresses, host_ports, keys = [], [], []
    for i, name in enumerate(names):
        s = services[name]
        command = unescaped(s["command"][0])
        assert s["entrypoint"] == ["sh", "-c"] and command.startswith("exec btt-chain node "), command
        assert s["depends_on"]["spec"]["condition"] == "service_completed_successfully"
        ip = s["networks"]["devnet"]["ipv4_address"]
        addresses.append(ip)
        host_ports += [p.rsplit(":", 1)[0] for p in s["ports"]]
        assert all(p.startswith("127.0.0.1:") for p in s["ports"]), s["ports"]  # RPC on the host's loopback only
        keys.append(re.search(r"--key (\S+)", command)[1])  # type: ignore[index]
        assert f"--node-key-file /spec/node{i}.key" in command
        boots = re.findall(r"--bootnodes /ip4/([\d.]+)/tcp/30333/p2p/\$\(cat /spec/node(\d)\.peer\)", command)
        assert boots == [(addresses[j], str(j)) for j in range(i)], (name, boots)  # every earlier node, as devnet
        assert {"spec:/spec:ro", f"{name}:/data"} == set(s["volumes"])
    assert keys == list(VALIDATORS)
    assert len(set(host_ports)) == len(host_ports) == 8, host_ports
    assert len(set(addresses)) == 4 and all(a.startswith("172.28.0.") for a in addresses)
    assert compose["networks"]["devnet"]["ipam"]["config"][0]["subnet"] == "172.28.0.0/24"
    spec = services["spec"]
    assert spec["build"] == {"context": "..", "dockerfile": "packaging/Dockerfile"}
    assert spec["image"] == services["validator0"]["image"]


PORT_RE = re.compile(r"^127\.0\.0\.1:\$\{(BTT_[A-Z0-9_]+):-(\d+)\}:(\d+)$")
"""A published port: loopback only, the host port from a variable with a default (issue 53)."""


def test_compose_reads_in_compose_v2_and_docker_compose_1_29(compose: dict[str, Any]) -> None:
    """No top-level `name:` (1.29 refuses it) and no `version:` (v2 calls it obsolete); only keys both know."""
    top = {k for k in compose if not k.startswith("x-")}
    assert top <= {"services", "networks", "volumes"}, top
    assert "name" not in compose and "version" not in compose


def test_compose_host_ports_are_variables_with_the_old_defaults(compose: dict[str, Any]) -> None:
    found: dict[str, tuple[int, int]] = {}
    for i in range(4):
        ports = compose["services"][f"validator{i}"]["ports"]
        parsed = [PORT_RE.match(p) for p in ports]
        assert all(parsed), ports  # nothing fixed: every host port can be moved
        for m in parsed:
            assert m is not None and m[1] not in found, (m, found)
            found[m[1]] = (int(m[2]), int(m[3]))
        assert [found[m[1]] for m in parsed if m is not None] == [(9944 + i, 9944), (9615 + i, 9615)], ports
    assert sorted(found) == sorted([f"BTT_RPC_PORT_{i}" for i in range(4)] +
                                   [f"BTT_PROMETHEUS_PORT_{i}" for i in range(4)])
    assert "ports" not in compose["services"]["spec"]


def compose_tools() -> list[tuple[list[str], str]]:
    """The Compose commands installed here, each with its version: `docker compose` (v2) and `docker-compose`."""
    tools = []
    for argv in (["docker", "compose"], ["docker-compose"]):
        if shutil.which(argv[0]) is None:
            continue
        try:
            done = subprocess.run([*argv, "version", "--short"], capture_output=True, text=True, timeout=60)
        except subprocess.TimeoutExpired:
            continue
        if done.returncode == 0 and done.stdout.strip():
            tools.append((argv, done.stdout.strip().lstrip("v")))
    return tools


def compose_config(argv: list[str], path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*argv, "-p", "btt-devnet", "-f", str(path), "config"], cwd=REPO, capture_output=True,
                          text=True, timeout=120, env={"PATH": "/usr/local/bin:/usr/bin:/bin", **env})


def test_compose_config_validates_with_every_compose_installed_here() -> None:
    """`config` of each Compose installed here accepts the file, the ports at their defaults or moved by their
    variables; and Compose 1.x refuses the file with a top-level `name:` added back (the check would see it)."""
    tools = compose_tools()
    if not tools:
        pytest.skip("neither `docker compose` nor `docker-compose` is installed here: the file is read statically only")
    for argv, version in tools:
        plain = compose_config(argv, COMPOSE, {})
        assert plain.returncode == 0, (argv, version, plain.stderr)
        assert "127.0.0.1:9944:9944" in plain.stdout and "127.0.0.1:9618:9615" in plain.stdout, plain.stdout
        moved = compose_config(argv, COMPOSE, {"BTT_RPC_PORT_1": "19945", "BTT_PROMETHEUS_PORT_3": "19618"})
        assert moved.returncode == 0, (argv, version, moved.stderr)
        assert "127.0.0.1:19945:9944" in moved.stdout and "127.0.0.1:19618:9615" in moved.stdout
        assert "127.0.0.1:9945:9944" not in moved.stdout and "127.0.0.1:9944:9944" in moved.stdout
        if version.startswith("1."):
            named = PACKAGING / f".compose-named-{os.getpid()}.yaml"  # beside the original: `context: ..` holds
            try:
                named.write_text("name: btt-devnet\n" + COMPOSE.read_text())
                refused = compose_config(argv, named, {})
            finally:
                named.unlink(missing_ok=True)
            assert refused.returncode != 0 and "name" in refused.stderr, (version, refused.stderr)


def test_the_compose_commands_are_valid_and_make_a_spec_the_nodes_accept(compose: dict[str, Any],
                                                                         tmp_path: Path) -> None:
    """The spec service's script, run here with /spec a temporary directory and `btt-chain` this checkout's; then
    each validator's command line, its peer ids filled in, parsed as the CLI parses it."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "btt-chain"
    shim.write_text(f"#!/bin/sh\nPYTHONPATH='{REPO}' exec '{sys.executable}' -m cli \"$@\"\n")
    shim.chmod(0o755)
    spec_dir = tmp_path / "spec"
    spec_dir.mkdir()
    script = unescaped(compose["services"]["spec"]["command"][0]).replace("/spec/", f"{spec_dir}/")
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    spec = load_chain_spec(spec_dir / "devnet.json")
    assert spec.chain_type == "local" and spec.consensus.epoch_slots == 5 and spec.genesis_time_ms > 0
    from btt_chain.primitives.keys import dev_keypair

    assert [v.session_key for v in spec.validators] == [dev_keypair(n).public for n in VALIDATORS]
    peers = [(spec_dir / f"node{i}.peer").read_text().strip() for i in range(4)]
    assert all(p.startswith("12D3KooW") for p in peers) and len(set(peers)) == 4
    # a second run leaves the spec as it is (a restarted stack keeps its chain)
    before = (spec_dir / "devnet.json").read_bytes()
    assert subprocess.run(["sh", "-c", script], env=env, timeout=60).returncode == 0
    assert (spec_dir / "devnet.json").read_bytes() == before
    for i in range(4):
        command = unescaped(compose["services"][f"validator{i}"]["command"][0]).removeprefix("exec ")
        for j, peer in enumerate(peers):
            command = command.replace(f"$(cat /spec/node{j}.peer)", peer)
        cli_args(command, "node")


# --- systemd -----------------------------------------------------------------------------------------------------


def unit_settings() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            out.setdefault(key.strip(), []).append(value.strip())
    return out


def test_the_unit_runs_a_hardened_node_as_its_own_user() -> None:
    s = unit_settings()
    one = {k: v[-1] for k, v in s.items()}
    assert one["User"] == one["Group"] == "btt-chain"
    for key, value in {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "PrivateTmp": "yes",
                       "ProtectHome": "yes", "PrivateDevices": "yes", "ProtectKernelTunables": "yes",
                       "ProtectKernelModules": "yes", "ProtectControlGroups": "yes", "RestrictSUIDSGID": "yes",
                       "LockPersonality": "yes", "RestrictNamespaces": "yes", "CapabilityBoundingSet": "",
                       "SystemCallArchitectures": "native", "UMask": "0077", "KillSignal": "SIGTERM",
                       "PrivateMounts": "yes", "PrivateUsers": "yes"}.items():
        assert one.get(key) == value, (key, one.get(key))
    assert "MemoryDenyWriteExecute" not in one  # cffi callbacks need it off
    exec_start = one["ExecStart"]
    base = re.search(r"--base-path (\S+)", exec_start)[1]  # type: ignore[index]
    assert one["ReadWritePaths"] == base == "/var/lib/btt-chain" and one["StateDirectory"] == "btt-chain"
    assert "validator.key:/etc/btt-chain/validator.key" in s["LoadCredential"]
    assert one["Environment"] == "BTT_PASSWORD_FILE=%d/password"
    # the command line the node gets: %d the credentials directory, $BTT_NODE_ARGS from node.env (empty here)
    cli_args(exec_start.replace("%d", "/run/credentials/btt-chain.service").replace("$BTT_NODE_ARGS", ""), "node")


def test_private_users_fits_the_units_other_settings() -> None:
    """PrivateUsers=yes (issue 53, as polkadot's unit) maps root and the unit's user only and makes capabilities count
    inside its namespace only: the node must run as its own named user, need no capability, and own what it writes."""
    one = {k: v[-1] for k, v in unit_settings().items()}
    assert one["PrivateUsers"] == "yes" and one["User"] not in ("root", "0") and "DynamicUser" not in one
    assert one["CapabilityBoundingSet"] == "" and one.get("AmbientCapabilities", "") == ""
    assert one["StateDirectory"] == "btt-chain"  # created and chowned to User= by systemd, outside the namespace
    ports = [int(p) for p in re.findall(r"--(?:rpc|p2p|prometheus)-port (\d+)", one["ExecStart"])]
    assert all(p >= 1024 for p in ports)  # binding below 1024 would need CAP_NET_BIND_SERVICE
    # the chain spec is read by the node itself: its directory must let btt-chain through (the secrets are 0600
    # root's inside it, handed over by LoadCredential)
    made = re.search(r"install -d -m (\d+) /etc/btt-chain", UNIT.read_text())
    assert made is not None and int(made[1], 8) & 0o001, made


def systemd_security(tool: str, unit: Path, threshold: int) -> tuple[subprocess.CompletedProcess[str], dict[str, bool]]:
    """`systemd-analyze security --offline` of `unit` failing above `threshold` (of 100): the run, and each
    setting's name -> whether the unit sets it."""
    done = subprocess.run([tool, "security", "--offline=true", f"--threshold={threshold}", "--json=short", str(unit)],
                          capture_output=True, text=True, timeout=120)
    start = done.stdout.find("[")
    rows = json.loads(done.stdout[start:]) if start >= 0 else []
    return done, {r["name"].rstrip("="): bool(r["set"]) for r in rows}


def test_systemd_analyze_security_scores_the_private_namespaces(tmp_path: Path) -> None:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed here: the unit's keys are checked statically only")
    if subprocess.run([tool, "security", "--help"], capture_output=True, text=True, timeout=60).stdout.find(
            "--offline") < 0:
        pytest.skip("this systemd-analyze has no `security --offline` (systemd < 250)")
    program = str(Path(sys.executable).parent / "btt-chain")
    unit = tmp_path / "btt-chain.service"
    unit.write_text(UNIT.read_text().replace("/opt/btt-chain/bin/btt-chain", program))
    done, found = systemd_security(tool, unit, 13)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr  # overall exposure at most 1.3 (of 10)
    assert found["PrivateUsers"] and found["PrivateMounts"], found
    # the same unit without them: the tool sees it (they are not scored as set by something else) and the
    # exposure goes over the threshold
    bare = tmp_path / "bare" / "btt-chain.service"
    bare.parent.mkdir()
    bare.write_text("".join(line for line in unit.read_text().splitlines(keepends=True)
                            if not line.startswith(("PrivateUsers=", "PrivateMounts="))))
    done, found = systemd_security(tool, bare, 13)
    assert done.returncode != 0 and not found["PrivateUsers"] and not found["PrivateMounts"], found


def test_systemd_analyze_verifies_the_unit(tmp_path: Path) -> None:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed here: the unit's keys are checked statically only")
    # verify checks that ExecStart's program exists: point it at this checkout's CLI, nothing else changed
    unit = tmp_path / "btt-chain.service"
    unit.write_text(UNIT.read_text().replace("/opt/btt-chain/bin/btt-chain", str(Path(sys.executable).parent /
                                                                                "btt-chain")))
    done = subprocess.run([tool, "verify", str(unit)], capture_output=True, text=True, timeout=120)
    problems = [line for line in (done.stdout + done.stderr).splitlines() if "btt-chain.service" in line]
    assert done.returncode == 0 and not problems, done.stdout + done.stderr


def test_cli_args_refuses_a_bad_option() -> None:
    with pytest.raises(click.UsageError):
        cli_args("btt-chain node --no-such-option", "node")
