"""The host's firewall between a testnet's nodes (issue 53). With br_netfilter loaded and
`net.bridge.bridge-nf-call-iptables` = 1, frames crossing a Linux bridge pass through iptables' FORWARD chain, and
Docker sets that chain's policy to DROP: the nodes on the testnet's bridge then never reach each other, and every
check fails without saying why.

`check_forward` says whether the host filters the bridge and drops what crosses it, reading the sysctl and the
FORWARD chain (`iptables -S FORWARD`; where there is no iptables, nft's base chains on the forward hook).
`open_bridge` inserts one rule that accepts what enters and leaves the run's own bridge
(`-I FORWARD -i BRIDGE -o BRIDGE -j ACCEPT`, as Docker does for its own bridges), `close_bridge` removes every
such rule again; `netns.remove_owned` calls it, so the run's cleanup, the reaper (a runner killed by SIGKILL) and
`testnet clean` remove it like the bridge itself. Where the rule cannot be added (nft's chains only, iptables
refusing), the run stops before any node starts with one line saying what blocks the bridge and how to change it.

Every command goes through a `Host` (a command runner and a reader of /proc files), so tests drive the same code
against a network namespace of their own or a fake.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from btt_chain.primitives.errors import ConfigError

BRIDGE_NF_CALL = "/proc/sys/net/bridge/bridge-nf-call-iptables"
RULE_RE = re.compile(r"^-A FORWARD -i (btn(\d+)b) -o \1 -j ACCEPT$")
"""A rule `open_bridge` added, as `iptables -S` prints it, with the runner's pid."""
MAX_RULES = 64
"""`close_bridge` deletes at most this many copies of the rule (a loop bound: one run adds one)."""

Runner = Callable[[Sequence[str]], "subprocess.CompletedProcess[str]"]


class BridgeBlocked(ConfigError):
    """The host's firewall drops the traffic on the testnet's bridge and the runner could not open it."""


def run_command(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
    """Run `argv`; a missing program or a hang is a failed run (exit 127, its reason on stderr), never an error."""
    try:
        return subprocess.run(list(argv), capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return subprocess.CompletedProcess(list(argv), 127, "", str(exc))


def read_proc(path: str) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


@dataclass(frozen=True)
class Host:
    """Where the commands run and the /proc files are read: this host by default."""

    run: Runner = run_command
    read: Callable[[str], str | None] = read_proc


@dataclass(frozen=True)
class ForwardCheck:
    """What the host does with traffic across a bridge: `open` (not filtered, or accepted), `blocked` (dropped;
    `line` says by what and how to change it; `tool` is "iptables" where the runner can add its rule), or `unknown`
    (filtered by a firewall no tool here can read; `line` says so)."""

    state: str
    line: str = ""
    tool: str | None = None


def _sysctl_fix() -> str:
    return "or stop bridged traffic going through iptables: `sysctl -w net.bridge.bridge-nf-call-iptables=0`"


def check_forward(host: Host, bridge: str) -> ForwardCheck:
    """Whether traffic between ports of `bridge` gets through the host's FORWARD chain."""
    filtered = host.read(BRIDGE_NF_CALL)
    if filtered is None or filtered.strip() != "1":
        return ForwardCheck("open")  # br_netfilter not loaded, or bridged frames skip iptables
    listed = host.run(["iptables", "-S", "FORWARD"])
    if listed.returncode == 0:
        return _check_iptables(listed.stdout, bridge)
    if listed.returncode != 127:  # iptables is there and refused: say what it said
        said = (listed.stderr or listed.stdout).strip().splitlines()
        return ForwardCheck("unknown", f"bridged traffic goes through iptables (net.bridge.bridge-nf-call-iptables=1) "
                                       f"and `iptables -S FORWARD` failed: {said[-1] if said else listed.returncode}; "
                                       "if the nodes find no peers, the FORWARD chain is why")
    return _check_nft(host, bridge)


def _check_iptables(listing: str, bridge: str) -> ForwardCheck:
    policy = next((line.split()[2] for line in listing.splitlines() if line.startswith("-P FORWARD ")), "ACCEPT")
    rules = [line for line in listing.splitlines() if line.startswith("-A FORWARD ")]
    if any(line == f"-A FORWARD -i {bridge} -o {bridge} -j ACCEPT" for line in rules):
        return ForwardCheck("open")
    catch_all = next((line for line in rules if re.fullmatch(r"-A FORWARD -j (DROP|REJECT)( .*)?", line)), None)
    if policy == "ACCEPT" and catch_all is None:
        return ForwardCheck("open")
    what = f"its policy is {policy}" if policy != "ACCEPT" else f"it ends in `{catch_all}`"
    line = (f"the host drops the testnet bridge's traffic: net.bridge.bridge-nf-call-iptables=1 sends it through "
            f"iptables' FORWARD chain, and {what} (Docker sets DROP); allow the bridge with "
            f"`iptables -I FORWARD -i {bridge} -o {bridge} -j ACCEPT`, {_sysctl_fix()}")
    return ForwardCheck("blocked", line, "iptables")


def _check_nft(host: Host, bridge: str) -> ForwardCheck:
    listed = host.run(["nft", "-j", "list", "chains"])
    if listed.returncode != 0:
        return ForwardCheck("unknown", "bridged traffic goes through the host's firewall "
                                       "(net.bridge.bridge-nf-call-iptables=1) and neither iptables nor nft is here "
                                       "to read it; if the nodes find no peers, its forward chain is why")
    try:
        items = json.loads(listed.stdout).get("nftables", [])
    except (ValueError, AttributeError):
        items = []
    dropping = [c for c in (item.get("chain") for item in items if isinstance(item, dict)) if isinstance(c, dict)
                and c.get("hook") == "forward" and c.get("policy") == "drop" and c.get("family") in ("ip", "inet")]
    if not dropping:
        return ForwardCheck("open")
    c = dropping[0]
    name = f"{c.get('family')} {c.get('table')} {c.get('name')}"
    line = (f"the host drops the testnet bridge's traffic: net.bridge.bridge-nf-call-iptables=1 sends it through "
            f"nft's chain `{name}` (hook forward, policy drop); allow the bridge with `nft insert rule {name} "
            f"iifname {bridge} oifname {bridge} accept` (and remove it after the run), {_sysctl_fix()}")
    return ForwardCheck("blocked", line, "nft")


def open_bridge(host: Host, bridge: str) -> bool:
    """Insert the rule accepting traffic within `bridge` at the top of FORWARD; whether iptables took it."""
    return host.run(["iptables", "-I", "FORWARD", "1", "-i", bridge, "-o", bridge, "-j", "ACCEPT"]).returncode == 0


def close_bridge(host: Host, bridge: str) -> int:
    """Delete every copy of `open_bridge`'s rule for `bridge`; how many were deleted (0 without iptables)."""
    deleted = 0
    while deleted < MAX_RULES:
        if host.run(["iptables", "-D", "FORWARD", "-i", bridge, "-o", bridge, "-j", "ACCEPT"]).returncode != 0:
            break
        deleted += 1
    return deleted


def rule_owners(host: Host) -> set[int]:
    """The runner pids whose rules are in FORWARD (a run killed before its cleanup leaves its rule behind)."""
    listed = host.run(["iptables", "-S", "FORWARD"])
    if listed.returncode != 0:
        return set()
    return {int(m[2]) for line in listed.stdout.splitlines() if (m := RULE_RE.match(line.strip()))}


def prepare_bridge(host: Host, bridge: str) -> tuple[bool, str | None]:
    """Make `bridge`'s traffic pass the host's FORWARD chain before nodes start: (whether a rule was added, a line
    to tell the user, or None). Raises BridgeBlocked, with the one line, where the traffic is dropped and cannot be
    let through here."""
    check = check_forward(host, bridge)
    if check.state == "open":
        return False, None
    if check.state == "unknown":
        return False, check.line
    if check.tool == "iptables" and open_bridge(host, bridge):
        return True, (f"the host's iptables FORWARD chain drops bridged traffic (Docker's DROP policy, "
                      f"net.bridge.bridge-nf-call-iptables=1): added `iptables -I FORWARD -i {bridge} -o {bridge} "
                      "-j ACCEPT` for this run; it is removed when the run ends")
    raise BridgeBlocked(check.line)
