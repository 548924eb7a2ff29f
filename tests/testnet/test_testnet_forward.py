"""A testnet on a host whose firewall drops bridged traffic (issue 53): Docker sets iptables' FORWARD policy to DROP
and, with br_netfilter loaded, frames across the testnet's bridge go through it, so nodes never find a peer.
`btt_chain.testnet.forward` reads the condition precisely, lets the run's own bridge through with one rule (removed
however the run ends) or stops before any node starts with one line saying what blocks it and how to change it.

Three layers: the detection and the rule's add/remove against a fake iptables (everywhere); the same code against
a real kernel, in a network namespace of the test's own with FORWARD at DROP and two peers on a bridge (where root,
`ip netns` and iptables are here); and the wiring into `TestnetNetwork` and `TestnetRun` (a blocked bridge stops the
run before any node, and leaves nothing behind)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from btt_chain.testnet import forward, netns
from btt_chain.testnet.forward import BRIDGE_NF_CALL, BridgeBlocked, Host, check_forward, close_bridge, prepare_bridge
from btt_chain.testnet.netns import owned, unavailable_reason

BRIDGE = "btn4242b"
DOCKER_FORWARD = """-P FORWARD DROP
-A FORWARD -j DOCKER-USER
-A FORWARD -j DOCKER-FORWARD
"""
"""`iptables -S FORWARD` on a host where Docker 28 runs."""


@dataclass
class FakeIptables:
    """iptables' FORWARD chain and nft's chains as the fake host's commands see them; every command run is kept."""

    policy: str = "DROP"
    rules: list[str] = field(default_factory=lambda: ["-A FORWARD -j DOCKER-USER", "-A FORWARD -j DOCKER-FORWARD"])
    bridge_nf: str | None = "1"
    iptables: bool = True
    insert_refused: bool = False
    list_refused: bool = False
    nft_chains: str | None = None
    calls: list[list[str]] = field(default_factory=list)

    def host(self) -> Host:
        return Host(self.run, lambda path: self.bridge_nf if path == BRIDGE_NF_CALL else None)

    def listing(self) -> str:
        return "\n".join([f"-P FORWARD {self.policy}", *self.rules]) + "\n"

    def run(self, argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
        argv = list(argv)
        self.calls.append(argv)

        def done(code: int, out: str = "", err: str = "") -> subprocess.CompletedProcess[str]:
            return subprocess.CompletedProcess(argv, code, out, err)

        if argv[0] == "nft":
            return done(127, err="No such file") if self.nft_chains is None else done(0, self.nft_chains)
        if argv[0] != "iptables" or not self.iptables:
            return done(127, err="No such file or directory")
        if argv[1:] == ["-S", "FORWARD"]:
            return done(4, err="iptables v1.8.9 (nf_tables): Permission denied") if self.list_refused else \
                done(0, self.listing())
        rule = "-A FORWARD " + " ".join(argv[4:] if argv[1] == "-I" else argv[3:])  # -I FORWARD 1 ..., -D FORWARD
        if argv[1] == "-I":
            if self.insert_refused:
                return done(4, err="iptables: Permission denied")
            self.rules.insert(0, rule)
            return done(0)
        if argv[1] == "-D":
            if rule not in self.rules:
                return done(1, err="iptables: Bad rule (does a matching rule exist in that chain?).")
            self.rules.remove(rule)
            return done(0)
        return done(2, err=f"unexpected {argv}")


# --- detection and the rule, against a fake iptables -----------------------------------------------------------


@pytest.mark.parametrize("bridge_nf", [None, "0"])
def test_bridged_traffic_that_skips_iptables_is_open_without_asking_iptables(bridge_nf: str | None) -> None:
    fake = FakeIptables(bridge_nf=bridge_nf)
    assert check_forward(fake.host(), BRIDGE).state == "open"
    assert prepare_bridge(fake.host(), BRIDGE) == (False, None)
    assert fake.calls == []  # br_netfilter off: the FORWARD chain never sees the bridge, whatever its policy


def test_dockers_drop_policy_is_found_and_the_bridge_opened_then_closed() -> None:
    fake = FakeIptables()
    before = fake.listing()
    check = check_forward(fake.host(), BRIDGE)
    assert check.state == "blocked" and check.tool == "iptables" and "\n" not in check.line
    assert "its policy is DROP" in check.line and f"iptables -I FORWARD -i {BRIDGE} -o {BRIDGE} -j ACCEPT" in check.line
    assert "net.bridge.bridge-nf-call-iptables=0" in check.line
    added, note = prepare_bridge(fake.host(), BRIDGE)
    assert added and note is not None and "removed when the run ends" in note
    assert fake.rules[0] == f"-A FORWARD -i {BRIDGE} -o {BRIDGE} -j ACCEPT"  # before Docker's chains
    assert check_forward(fake.host(), BRIDGE).state == "open"
    assert forward.rule_owners(fake.host()) == {4242}
    assert close_bridge(fake.host(), BRIDGE) == 1
    assert fake.listing() == before and close_bridge(fake.host(), BRIDGE) == 0


def test_a_catch_all_reject_blocks_and_an_accept_policy_does_not() -> None:
    fake = FakeIptables(policy="ACCEPT", rules=["-A FORWARD -j REJECT --reject-with icmp-host-prohibited"])
    check = check_forward(fake.host(), BRIDGE)
    assert check.state == "blocked" and "-A FORWARD -j REJECT --reject-with icmp-host-prohibited" in check.line
    assert check_forward(FakeIptables(policy="ACCEPT", rules=["-A FORWARD -j DOCKER-USER"]).host(), BRIDGE).state \
        == "open"
    # a rule for another bridge does not open this one
    other = FakeIptables(rules=["-A FORWARD -i btn1b -o btn1b -j ACCEPT"])
    assert check_forward(other.host(), BRIDGE).state == "blocked"


def test_a_rule_iptables_refuses_stops_the_run_with_one_line_and_adds_nothing() -> None:
    fake = FakeIptables(insert_refused=True)
    before = fake.listing()
    with pytest.raises(BridgeBlocked) as raised:
        prepare_bridge(fake.host(), BRIDGE)
    assert "\n" not in str(raised.value) and "policy is DROP" in str(raised.value)
    assert fake.listing() == before


def test_nft_only_drop_chain_stops_the_run_saying_which_chain() -> None:
    chains = ('{"nftables": [{"metainfo": {}}, {"chain": {"family": "inet", "table": "filter", "name": "forward", '
              '"handle": 2, "type": "filter", "hook": "forward", "prio": 0, "policy": "drop"}}, {"chain": '
              '{"family": "ip", "table": "nat", "name": "POSTROUTING", "hook": "postrouting", "policy": "accept"}}]}')
    fake = FakeIptables(iptables=False, nft_chains=chains)
    with pytest.raises(BridgeBlocked, match="nft's chain `inet filter forward` .*nft insert rule inet filter forward "
                                            f"iifname {BRIDGE} oifname {BRIDGE} accept"):
        prepare_bridge(fake.host(), BRIDGE)
    accepting = FakeIptables(iptables=False, nft_chains=chains.replace('"policy": "drop"', '"policy": "accept"'))
    assert check_forward(accepting.host(), BRIDGE).state == "open"


def test_a_firewall_nothing_here_can_read_is_said_once_and_the_run_goes_on() -> None:
    nothing = FakeIptables(iptables=False, nft_chains=None)
    added, note = prepare_bridge(nothing.host(), BRIDGE)
    assert not added and note is not None and "neither iptables nor nft" in note
    refused = FakeIptables(list_refused=True)
    added, note = prepare_bridge(refused.host(), BRIDGE)
    assert not added and note is not None and "Permission denied" in note and refused.rules == FakeIptables().rules


# --- the same code against a real kernel, in the test's own namespaces ------------------------------------------


def sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(list(argv), capture_output=True, text=True, timeout=30)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(argv)}: {done.stderr.strip()}")
    return done


def kernel_unavailable() -> str | None:
    reason = unavailable_reason()
    if reason is not None:
        return reason
    if forward.run_command(["iptables", "--version"]).returncode != 0:
        return "no iptables here: the fake iptables above stands in for it"
    return None


@dataclass
class Sim:
    """Namespace `host` with a bridge and FORWARD at DROP; peers `a` and `b` on it at 10.253.77.1 and .2."""

    host: str
    a: str
    b: str
    bridge: str

    def on_host(self) -> Host:
        def run(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
            return forward.run_command(["ip", "netns", "exec", self.host, *argv])

        def read(path: str) -> str | None:
            got = forward.run_command(["ip", "netns", "exec", self.host, "cat", path])
            return got.stdout.strip() if got.returncode == 0 else None

        return Host(run, read)

    def reaches(self) -> bool:
        """Whether a TCP SYN from a to b gets an answer (a refusal counts: the packet crossed the bridge both ways)."""
        probe = ("import socket, sys\ns = socket.socket(); s.settimeout(1.0)\n"
                 "try:\n    s.connect(('10.253.77.2', 9))\nexcept ConnectionRefusedError:\n    sys.exit(0)\n"
                 "except OSError:\n    sys.exit(1)\nsys.exit(0)\n")
        return sh("ip", "netns", "exec", self.a, sys.executable, "-c", probe, check=False).returncode == 0


@pytest.fixture
def sim() -> Iterator[Sim]:
    why = kernel_unavailable()
    if why is not None:
        pytest.skip(f"a simulated host needs root, `ip netns` and iptables: {why}")
    pid = os.getpid()
    s = Sim(f"btt-fw{pid}-h", f"btt-fw{pid}-a", f"btt-fw{pid}-b", f"btn{pid}b")
    try:
        for ns in (s.host, s.a, s.b):
            sh("ip", "netns", "add", ns)
        sh("ip", "-n", s.host, "link", "add", s.bridge, "type", "bridge")
        sh("ip", "-n", s.host, "link", "set", s.bridge, "up")
        for i, peer in enumerate((s.a, s.b)):
            sh("ip", "-n", s.host, "link", "add", f"fw{pid}h{i}", "type", "veth", "peer", "name", f"fw{pid}p{i}")
            sh("ip", "-n", s.host, "link", "set", f"fw{pid}p{i}", "netns", peer)
            sh("ip", "-n", s.host, "link", "set", f"fw{pid}h{i}", "master", s.bridge, "up")
            sh("ip", "-n", peer, "addr", "add", f"10.253.77.{i + 1}/24", "dev", f"fw{pid}p{i}")
            sh("ip", "-n", peer, "link", "set", f"fw{pid}p{i}", "up")
        host_sysctl = sh("ip", "netns", "exec", s.host, "sysctl", "-w", "net.bridge.bridge-nf-call-iptables=1",
                         check=False)
        if host_sysctl.returncode != 0:
            pytest.skip(f"br_netfilter is not loaded here: {host_sysctl.stderr.strip()}")
        sh("ip", "netns", "exec", s.host, "iptables", "-P", "FORWARD", "DROP")  # what Docker does
        yield s
    finally:
        for ns in (s.a, s.b, s.host):  # the host namespace's bridge, veths and iptables go with it
            sh("ip", "netns", "del", ns, check=False)
        left = [n for n in sh("ip", "netns", "list").stdout.split() if n.startswith(f"btt-fw{pid}-")]
        assert not left, f"left behind: {left}"


def test_a_real_drop_policy_is_found_opened_for_the_bridge_and_closed(sim: Sim) -> None:
    host = sim.on_host()
    before = host.run(["iptables", "-S", "FORWARD"]).stdout
    assert before.startswith("-P FORWARD DROP") and not sim.reaches()  # the condition: peers cannot talk
    check = check_forward(host, sim.bridge)
    assert check.state == "blocked" and check.tool == "iptables", check
    added, note = prepare_bridge(host, sim.bridge)
    assert added and note is not None
    assert sim.reaches()  # the one rule lets the bridge's own traffic through
    assert forward.rule_owners(host) == {os.getpid()}
    assert close_bridge(host, sim.bridge) == 1
    assert host.run(["iptables", "-S", "FORWARD"]).stdout == before and not sim.reaches()
    # the same host with bridged frames kept out of iptables: open, and no rule is needed
    sh("ip", "netns", "exec", sim.host, "sysctl", "-w", "net.bridge.bridge-nf-call-iptables=0")
    assert check_forward(host, sim.bridge).state == "open" and sim.reaches()


# --- the wiring: TestnetNetwork and TestnetRun ------------------------------------------------------------------


def net_or_skip(size: int) -> netns.TestnetNetwork:
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(f"testnet needs network namespaces: {reason}")
    return netns.TestnetNetwork(size)


def test_the_network_opens_its_bridge_and_removes_the_rule_with_it() -> None:
    net = net_or_skip(1)
    fake = FakeIptables()
    net.host = fake.host()
    try:
        net.create()
        assert net.forward_note is not None and fake.rules[0].startswith(f"-A FORWARD -i {net.bridge} ")
    finally:
        removed = net.close()
    assert f"iptables FORWARD rule for {net.bridge}" in removed
    assert fake.rules == FakeIptables().rules and owned(os.getpid()) == ([], [])


def test_a_blocked_bridge_stops_the_run_before_any_node_and_leaves_nothing(tmp_path: Path) -> None:
    from btt_chain.testnet.manifest import load_manifest
    from btt_chain.testnet.runner import TestnetRun

    net_or_skip(1)
    manifest = tmp_path / "tiny.toml"
    manifest.write_text('name = "tiny"\nduration_s = 60\nslot_ms = 1000\nepoch_slots = 5\n'
                        '[[node]]\nname = "v0"\nvalidator = "alice"\n[[node]]\nname = "f0"\n')
    lines: list[str] = []
    run = TestnetRun(load_manifest(str(manifest)), tmp_path / "base", echo=lines.append)
    fake = FakeIptables(insert_refused=True)
    run.net.host = fake.host()
    with pytest.raises(BridgeBlocked, match="policy is DROP"):
        run.run()
    assert run.nodes == [] and owned(os.getpid()) == ([], [])  # stopped before preparing nodes; bridge removed
    assert not any(line.startswith("testnet tiny:") for line in lines)
    assert fake.rules == FakeIptables().rules
