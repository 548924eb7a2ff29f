"""A peer connection across a network outage: TCP's retransmission backoff must not keep a node deaf after its link
returns (p2p/tcp_backoff.py).

The `ci` testnet failed on 2026-11-27 on this: bob's link was cut for 10 s, and when it came back his connections
waited for their next retransmission (backed off to several seconds); eve restarted 5 s later, and with two of four
validators silent finality stood still for 20 s. Two real p2p processes in network namespaces of the test's own, one
publishing gossip to the other; the listener's link is cut until the kernel has backed the connection off five times
(read from `ss`, an event, not a time), then restored:
- with the node's cap (the default), the connection's retransmission timeout never exceeds 1 s, and gossip flows
  again once the link is back;
- without it, the same outage has backed the timeout off past 1 s, up to seconds of silence after the link's return:
  what the cap removes (this test fails if the cap is not applied)."""

from __future__ import annotations

import asyncio
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from btt_chain.testnet import netns
from p2p import generate_node_key
from p2p.tcp_backoff import RTO_MAX_RANGE_MS, kernel_can_cap
from tests.p2p.harness import wait_until
from tests.p2p.test_p2p_processes import PeerProcess

REASON = netns.unavailable_reason()
pytestmark = pytest.mark.skipif(REASON is not None, reason=f"needs network namespaces: {REASON}")

PORT = 30333
BACKOFFS = 5
"""Retransmissions the outage lasts for: uncapped, the timeout is then 0.2 s * 2^5 = 6.4 s at least."""


@dataclass(frozen=True)
class Connection:
    peer: str
    rto_ms: float
    backoff: int


def connections(network: netns.TestnetNetwork, i: int) -> list[Connection]:
    """Node i's established TCP connections as its kernel sees them (`ss -tin`: the retransmission timeout and how
    often it was backed off)."""
    out = subprocess.run([*network.exec_prefix(i), "ss", "-tinH", "state", "established"], capture_output=True,
                         text=True, check=True).stdout
    found: list[Connection] = []
    peer = None
    for line in out.splitlines():
        if not line.startswith((" ", "\t")):
            fields = line.split()
            peer = fields[-1] if fields else None
            continue
        match = re.search(r"\brto:([0-9.]+)", line)
        backoff = re.search(r"\bbackoff:(\d+)", line)
        if peer is not None and match:
            found.append(Connection(peer, float(match.group(1)), int(backoff.group(1)) if backoff else 0))
    return found


@pytest.fixture
def network() -> Iterator[netns.TestnetNetwork]:
    net = netns.TestnetNetwork(2)
    try:
        net.create()
        yield net
    finally:
        net.close()


async def _outage(network: netns.TestnetNetwork, tmp_path: Path, rto_max_ms: int) -> list[Connection]:
    """Cut node 1's link while node 0 publishes to it, until node 0's connection to it has backed off BACKOFFS times;
    restore it and wait for gossip to arrive again. Node 0's view of that connection at every sample of the outage."""
    keys = []
    for name in ("a", "b"):
        key = tmp_path / f"{name}.key"
        generate_node_key(key)
        keys.append(key)
    flags = ("--listen-host", "0.0.0.0", "--tcp-rto-max-ms", str(rto_max_ms))
    a = await PeerProcess.start(tmp_path, "a", PORT, keys[0], (), *flags, prefix=tuple(network.exec_prefix(0)))
    peers = [a]
    try:
        b = await PeerProcess.start(tmp_path, "b", PORT, keys[1], (f"/ip4/{network.address(0)}/tcp/{PORT}/p2p/"
                                    f"{a.peer_id}",), *flags, prefix=tuple(network.exec_prefix(1)))
        peers.append(b)
        await wait_until(lambda: a.find("connected", peer=b.peer_id), timeout=60, what="a and b connected")
        sent = 0

        async def publish_until(done: asyncio.Event) -> None:
            nonlocal sent
            while not done.is_set():
                sent += 1
                await a.send("publish", topic="blocks", data=sent.to_bytes(4, "big").hex())
                await asyncio.sleep(0.1)

        done = asyncio.Event()
        publisher = asyncio.ensure_future(publish_until(done))
        try:
            await wait_until(lambda: b.find("gossip"), timeout=60, what="gossip reaches b")
            b_address = network.address(1)
            network.set_link(1, False)
            seen: list[Connection] = []

            async def backed_off() -> bool:
                await asyncio.sleep(0.2)  # `ss` in the namespace is a process: five a second is plenty
                now = [c for c in connections(network, 0) if c.peer.startswith(f"{b_address}:")]
                seen.extend(now)
                return any(c.backoff >= BACKOFFS for c in now)

            await wait_until(backed_off, timeout=120, what=f"a's connection to b backed off {BACKOFFS} times")
            network.set_link(1, True)
            before = sum(1 for e in b.events if e["event"] == "gossip")
            await wait_until(lambda: sum(1 for e in b.events if e["event"] == "gossip") > before, timeout=60,
                             what="gossip reaches b again after the outage")
            return seen
        finally:
            done.set()
            await publisher
    finally:
        for peer in peers:
            await peer.kill()


@pytest.mark.skipif(not kernel_can_cap(), reason="this kernel cannot cap retransmissions (Linux 6.15+)")
async def test_a_capped_connection_retries_every_second_through_an_outage(network: netns.TestnetNetwork,
                                                                        tmp_path: Path) -> None:
    seen = await _outage(network, tmp_path, RTO_MAX_RANGE_MS[0])
    assert max(c.backoff for c in seen) >= BACKOFFS
    assert max(c.rto_ms for c in seen) <= RTO_MAX_RANGE_MS[0], seen


async def test_without_the_cap_the_same_outage_backs_the_connection_off_for_seconds(network: netns.TestnetNetwork,
                                                                                   tmp_path: Path) -> None:
    seen = await _outage(network, tmp_path, 0)
    backed = [c for c in seen if c.backoff >= BACKOFFS]
    assert backed and min(c.rto_ms for c in backed) > 4 * RTO_MAX_RANGE_MS[0], seen
