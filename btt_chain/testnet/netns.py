"""Linux network namespaces for a testnet: one bridge, one veth pair and one namespace per node, each node with
its own address on the bridge's /24, so nodes talk over real host addresses rather than loopback ports.

Every name carries the runner's pid: namespaces `btt-tn<pid>-<i>`, links `btn<pid>b` (bridge) and
`btn<pid>v<i>` (the host end of node i's veth; its other end is `eth0` inside the namespace). So a run
removes exactly its own objects, and leftovers of a runner that died (its pid gone) are recognised and removed
by the next run, or at once by the reaper: a small process the runner starts that outlives it, waits for it to
exit however it exits (SIGKILL included), then kills whatever still runs in its namespaces and deletes them.

The host's firewall: where bridged traffic goes through iptables and its FORWARD chain drops it (Docker's
policy), `create` adds one rule accepting the run's own bridge (`forward.prepare_bridge`) or stops with one line
saying what blocks it; `remove_owned` deletes that rule with the bridge, so the reaper removes it too.

Perturbations at this level: a node's link down and up (`disconnect`), and a partition as `prohibit` routes
inside each namespace towards the other group's addresses (the runner on the host still reaches every node).
"""

from __future__ import annotations

import ipaddress
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

from btt_chain.primitives.errors import ConfigError
from btt_chain.testnet import forward

NS_RE = re.compile(r"^btt-tn(\d+)-(\d+)$")
LINK_RE = re.compile(r"^btn(\d+)(b|v\d+)$")


class NetnsUnavailable(ConfigError):
    """This machine or user cannot create network namespaces (the runner needs root and `ip netns`)."""


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=20)
    if check and proc.returncode != 0:
        raise ConfigError(f"`ip {' '.join(args)}` failed: {proc.stderr.strip() or proc.returncode}")
    return proc


def unavailable_reason() -> str | None:
    """Why namespaces cannot be used here, or None if they can."""
    if sys.platform != "linux":
        return "network namespaces need Linux"
    if os.geteuid() != 0:
        return "creating network namespaces needs root (run as root, or in CI's root container)"
    try:
        probe = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"`ip` (iproute2) is not usable: {exc}"
    if probe.returncode != 0:
        return f"`ip netns` does not work here: {probe.stderr.strip()}"
    name = f"btt-tn{os.getpid()}-probe"
    made = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True, timeout=10)
    if made.returncode != 0:
        return f"cannot create a network namespace: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)
    return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def list_namespaces() -> list[str]:
    out = _ip("netns", "list", check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def list_links() -> list[str]:
    out = _ip("-o", "link", "show", check=False).stdout
    names = []
    for line in out.splitlines():
        parts = line.split(":", 2)
        if len(parts) >= 2:
            names.append(parts[1].strip().split("@")[0])
    return names


def owned(owner_pid: int | None = None) -> tuple[list[str], list[str]]:
    """(namespaces, links) of testnets: of runner `owner_pid`, or of every runner when None."""
    namespaces = [n for n in list_namespaces() if (m := NS_RE.match(n)) and owner_pid in (None, int(m.group(1)))]
    links = [n for n in list_links() if (m := LINK_RE.match(n)) and owner_pid in (None, int(m.group(1)))]
    return namespaces, links


def kill_namespace_processes(namespace: str) -> None:
    pids = _ip("netns", "pids", namespace, check=False).stdout.split()
    for pid in pids:
        try:
            os.kill(int(pid), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass


def remove_owned(owner_pid: int, host: forward.Host = forward.Host()) -> list[str]:
    """Kill every process in runner `owner_pid`'s namespaces, delete them, its links and its FORWARD rule (`host`:
    where iptables runs); the names removed."""
    namespaces, links = owned(owner_pid)
    for ns in namespaces:
        kill_namespace_processes(ns)
    if namespaces:
        time.sleep(0.2)
    removed = []
    for ns in namespaces:
        if _ip("netns", "del", ns, check=False).returncode == 0:
            removed.append(ns)
    for link in sorted(links, key=lambda n: n.endswith("b")):  # veths first, the bridge last
        if _ip("link", "del", link, check=False).returncode == 0:
            removed.append(link)
    bridge = f"btn{owner_pid}b"
    if forward.close_bridge(host, bridge):
        removed.append(f"iptables FORWARD rule for {bridge}")
    return removed


def remove_stale() -> list[str]:
    """Remove the namespaces and links of runners that no longer run (a run killed before its cleanup)."""
    namespaces, links = owned(None)
    owners = forward.rule_owners(forward.Host())  # a rule left by a runner that died after its bridge went
    for name in namespaces + links:
        m = NS_RE.match(name) or LINK_RE.match(name)
        if m:
            owners.add(int(m.group(1)))
    removed = []
    for owner in sorted(owners):
        if owner != os.getpid() and not _pid_alive(owner):
            removed += remove_owned(owner)
    return removed


def _pick_subnet(owner: int) -> ipaddress.IPv4Network:
    out = _ip("-4", "-o", "addr", "show", check=False).stdout
    used = [ipaddress.IPv4Interface(a).network for a in re.findall(r"inet (\S+)", out)]
    for attempt in range(250):
        candidate = ipaddress.IPv4Network(f"10.{200 + (owner // 250 + attempt) % 50}.{(owner + attempt) % 250}.0/24")
        if not any(candidate.overlaps(net) for net in used):
            return candidate
    raise ConfigError("no free 10.x.y.0/24 subnet for the testnet bridge")


@dataclass
class TestnetNetwork:
    """The bridge and the namespaces of one run. `create()`, then `close()` (idempotent) at the end."""

    size: int
    owner: int = 0
    subnet: ipaddress.IPv4Network | None = None
    created: bool = False
    host: forward.Host = forward.Host()
    """Where the host's firewall is read and changed (this host; a test's own namespace or a fake in tests)."""
    forward_note: str | None = None
    """What `create` found or did about the host's FORWARD chain, one line to show the user (None: nothing)."""

    def __post_init__(self) -> None:
        self.owner = self.owner or os.getpid()
        if not 1 <= self.size <= 250:
            raise ConfigError("a testnet has 1 to 250 nodes")

    @property
    def bridge(self) -> str:
        return f"btn{self.owner}b"

    def namespace(self, i: int) -> str:
        return f"btt-tn{self.owner}-{i}"

    def host_veth(self, i: int) -> str:
        return f"btn{self.owner}v{i}"

    def address(self, i: int) -> str:
        assert self.subnet is not None
        return str(self.subnet.network_address + 1 + i)

    @property
    def host_address(self) -> str:
        assert self.subnet is not None
        return str(self.subnet.network_address + 254)

    def exec_prefix(self, i: int) -> list[str]:
        """Run a command inside node i's namespace: prefix + argv (`ip netns exec` execs it: same pid)."""
        return ["ip", "netns", "exec", self.namespace(i)]

    def create(self) -> None:
        reason = unavailable_reason()
        if reason is not None:
            raise NetnsUnavailable(reason)
        self.subnet = _pick_subnet(self.owner)
        self.created = True  # from here on, close() removes whatever exists
        prefix = self.subnet.prefixlen
        _ip("link", "add", self.bridge, "type", "bridge")
        _ip("addr", "add", f"{self.host_address}/{prefix}", "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")
        # before any node: a bridge the host's firewall drops is opened for the run, or the run stops here
        _added, self.forward_note = forward.prepare_bridge(self.host, self.bridge)
        for i in range(self.size):
            ns, veth, peer = self.namespace(i), self.host_veth(i), f"btn{self.owner}p{i}"
            _ip("netns", "add", ns)
            _ip("link", "add", veth, "type", "veth", "peer", "name", peer)
            _ip("link", "set", peer, "netns", ns)
            _ip("link", "set", veth, "master", self.bridge)
            _ip("link", "set", veth, "up")
            _ip("-n", ns, "link", "set", peer, "name", "eth0")
            _ip("-n", ns, "addr", "add", f"{self.address(i)}/{prefix}", "dev", "eth0")
            _ip("-n", ns, "link", "set", "eth0", "up")
            _ip("-n", ns, "link", "set", "lo", "up")

    # perturbations
    def set_link(self, i: int, up: bool) -> None:
        _ip("link", "set", self.host_veth(i), "up" if up else "down")

    def partition(self, group_a: list[int], group_b: list[int], heal: bool = False) -> None:
        """Block (or unblock) traffic between the groups with `prohibit` routes inside every namespace: one `ip -batch`
        per namespace, all at once, so the cut lands within a few milliseconds everywhere (a partition may be timed to
        an epoch boundary)."""
        verb = "del" if heal else "add"
        procs = []
        for side, other in ((group_a, group_b), (group_b, group_a)):
            for i in side:
                script = "".join(f"route {verb} prohibit {self.address(j)}/32\n" for j in other)
                args = ["ip", "-n", self.namespace(i), *(["-force"] if heal else []), "-batch", "-"]
                proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True)
                procs.append((args, script, proc))
        failures = []
        for args, script, proc in procs:
            try:
                _out, err = proc.communicate(script, timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                _out, err = proc.communicate()
            if proc.returncode != 0 and not heal:
                failures.append(f"`{' '.join(args)}` failed: {err.strip() or proc.returncode}")
        if failures:
            raise ConfigError("; ".join(failures))

    def close(self) -> list[str]:
        if not self.created:
            return []
        self.created = False
        return remove_owned(self.owner, self.host)


def spawn_reaper(owner: int) -> subprocess.Popen[bytes]:
    """A detached process that removes `owner`'s namespaces once `owner` has exited, however it exited."""
    return subprocess.Popen(
        [sys.executable, "-m", "btt_chain.testnet.netns", "--reap", str(owner)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )


def _reap(owner: int) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    while _pid_alive(owner):
        time.sleep(0.5)
    remove_owned(owner)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--reap":
        _reap(int(sys.argv[2]))
