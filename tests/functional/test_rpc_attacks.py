"""RPC attacks against a real dev node (issue 25): each runs in a process of its own (`tests.support.rpc_attacker`)
while a wallet in this process probes `system_health` every 100 ms. Each asserts that the node still leads and
fills its slots (a one-validator dev chain: every slot) with none lost behind RPC work
(`btt_slots_missed_behind_rpc`: a slot it led that went by while an RPC unit was running at its start or started in
its first half; a slot lost because the whole machine is busy is printed, and at most a quarter of them may be),
answers every wallet call and is
not stalled by the attack (the wallet's 95th percentile under a generous bound: see P95_LIMIT_S), keeps its memory
bounded, throttles or drops the attacker, and still serves an honest transfer. The figures (the wallet's p95 and
max latency among them, which depend on the machine and what else runs on it) are printed (run with `-s` to see
them); `btt-chain bench rpc-flood` measures the latency figures on their own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from btt_chain.client.rpc import RpcClient, RpcError
from btt_chain.primitives.extrinsic import sign_extrinsic
from btt_chain.primitives.keys import Keypair, dev_keypair
from runtime.modules import RUNTIME
from tests.functional.framework import REPO, Harness, NodeProcess, wait_until
from tests.support.wait_limits import scaled

UNIT = 10**18
SENDERS = 8
PER_SENDER = 300
"""2,400 transfers to fresh accounts, submitted as fast as the node admits them: blocks of a few hundred extrinsics
for the explorer attacks (blocks of 10,000 are covered by the method bounds tests, tests/rpc)."""
ATTACK_S = 10.0
"""Each attack's length: ten one-second slots the node must fill while it runs."""
P95_LIMIT_S = 2.0
"""The wallet's 95th-percentile latency under an attack may not exceed this (times BTT_TEST_TIMEOUT_SCALE): a net
for an attack that stalls the node, not a speed figure. Measured: 50 ms on a quiet machine (bench rpc-flood), about
0.2 s beside two CPU-bound processes, 0.74 s with the whole functional suite running two at a time beside them."""
RSS_GROWTH_LIMIT_MB = 300.0
IDLE_TIMEOUT_S = 4
"""The node's `--rpc-idle-timeout`: the idle attack's sockets are closed as idle well inside its ATTACK_S, even when
connecting its 100 sockets takes seconds on a busy machine."""


@dataclass
class Probe:
    """A wallet calling `system_health` every 100 ms over HTTP while an attack runs."""

    url: str
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Probe:
        client = RpcClient(self.url, timeout=scaled(60))

        def run() -> None:
            while not self._stop.is_set():
                t = time.perf_counter()
                try:
                    client.call("system_health")
                    self.latencies.append(time.perf_counter() - t)
                except RpcError as exc:
                    self.failures.append(str(exc))
                self._stop.wait(0.1)

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join(scaled(60))

    def p95(self) -> float:
        ordered = sorted(self.latencies)
        return ordered[max(0, int(len(ordered) * 0.95) - 1)]


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def metric(node: NodeProcess, name: str) -> float:
    return node.metric(name)


def missed_slots(node: NodeProcess, first: int, last: int) -> list[int]:
    """Slots between blocks `first` and `last` that have no block (on a one-validator chain: missed)."""
    slots = []
    for n in range(first, last + 1):
        header = node.call("btt_header", node.call("chain_getBlockHash", n))
        slots.append(int(header["slot"], 16))
    return [s for a, b in zip(slots, slots[1:], strict=False) for s in range(a + 1, b)]


def attacker(node: NodeProcess, attack: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.support.rpc_attacker", attack, "--url", f"http://127.0.0.1:{node.rpc_port}",
         "--seconds", str(ATTACK_S), *args],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def finish(proc: subprocess.Popen[str]) -> dict[str, Any]:
    out, _ = proc.communicate(timeout=ATTACK_S + scaled(240))
    lines = [line for line in out.splitlines() if line.startswith("{")]
    assert proc.returncode == 0 and lines, f"the attacker failed:\n{out[-3000:]}"
    return dict(json.loads(lines[-1]))


def honest_transfer(node: NodeProcess) -> None:
    """`btt-chain transfer` from the CLI, waited for until it is in a block."""
    done = subprocess.run(
        [sys.executable, "-m", "cli", "transfer", "--from", "bob", "--to", "dave", "--amount", "1",
         "--rpc", f"http://127.0.0.1:{node.rpc_port}"],
        cwd=REPO, capture_output=True, text=True, timeout=scaled(240),
    )
    assert done.returncode == 0, done.stdout + done.stderr


@dataclass
class Attacked:
    """The node under attack and what the attacks need to know about its chain."""

    node: NodeProcess
    big_block: int
    big_count: int
    account: str


@pytest.fixture(scope="module")
def attacked() -> Iterator[Attacked]:
    h = Harness("rpc_attacks")
    node = h.add_node(extra_args=["--rpc-idle-timeout", str(IDLE_TIMEOUT_S)])
    failed = True
    try:
        node.start()
        big_block, count = _fill_a_big_block(node)
        h.log(f"block #{big_block} holds {count} transfers")
        failed = False
        yield Attacked(node, big_block, count, "0x" + _senders()[0].public.hex())
    finally:
        h.teardown(failed)


def _senders() -> list[Keypair]:
    return [Keypair((7000 + i).to_bytes(32, "big")) for i in range(SENDERS)]


def _submit(node: NodeProcess, encoded: list[str]) -> None:
    body = json.dumps([{"jsonrpc": "2.0", "id": i, "method": "author_submitExtrinsic", "params": [x]}
                       for i, x in enumerate(encoded)]).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{node.rpc_port}", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=scaled(120)) as resp:
        answers = json.loads(resp.read())
    refused = [a for a in answers if "error" in a]
    assert not refused, refused[:3]


def _fill_a_big_block(node: NodeProcess) -> tuple[int, int]:
    genesis = bytes.fromhex(node.call("chain_getBlockHash", 0)[2:])
    alice = dev_keypair("alice")
    senders = _senders()
    nonce = int(node.call("system_accountNextIndex", "0x" + alice.public.hex()))
    _submit(node, ["0x" + sign_extrinsic(alice, RUNTIME.call("balances.transfer_allow_death",
                                                             s.public, 1000 * UNIT), nonce + i,
                                         genesis, RUNTIME.spec_version).encode().hex() for i, s in enumerate(senders)])
    wait_until(lambda: all(int(node.call("btt_account", "0x" + s.public.hex())["free"]) > 0 for s in senders), 60,
               0.3, "senders funded")
    start = node.height()
    transfers = [
        "0x" + sign_extrinsic(s, RUNTIME.call("balances.transfer_allow_death",
                                              Keypair((90_000 + i * PER_SENDER + k).to_bytes(
            32, "big")).public, UNIT), k, genesis, RUNTIME.spec_version).encode().hex()
        for k in range(PER_SENDER) for i, s in enumerate(senders)
    ]
    for at in range(0, len(transfers), 100):
        _submit(node, transfers[at:at + 100])
    wait_until(lambda: not node.call("author_pendingExtrinsics"), 120, 0.5, "the transfers included")
    # the attacks count the slots the node misses from their start: they start once the node has authored two light
    # blocks after the heavy ones, not while it still works through them
    last = node.height()
    wait_until(lambda: node.height() >= last + 2, 60, 0.2, "two blocks after the transfers")
    best, count = start, 0
    for n in range(start, last + 1):
        block = node.call("chain_getBlock", node.call("chain_getBlockHash", n))
        if len(block["block"]["extrinsics"]) > count:
            best, count = n, len(block["block"]["extrinsics"])
    assert count >= 150, f"the largest block holds only {count} extrinsics"
    return best, count


def _report(name: str, probe: Probe, missed: list[int], blocks: int, rss: tuple[float, float],
            extra: dict[str, Any]) -> None:
    print(f"\n[{name}] blocks {blocks}, missed slots {len(missed)}, system_health p95 {probe.p95() * 1000:.0f} ms "
          f"max {max(probe.latencies) * 1000:.0f} ms over {len(probe.latencies)} calls, RSS {rss[0]:.0f} -> "
          f"{rss[1]:.0f} MB, attacker {extra}", flush=True)


def _run_attack(a: Attacked, name: str, attack: str, *args: str) -> tuple[dict[str, Any], Probe]:
    node = a.node
    assert node.process is not None
    pid = node.process.pid
    rss_before = rss_mb(pid)
    first = node.height()
    behind_before = metric(node, "btt_slots_missed_behind_rpc_total")
    proc = attacker(node, attack, *args)
    with Probe(f"http://127.0.0.1:{node.rpc_port}") as probe:
        honest_transfer(node)
        stats = finish(proc)
        rss_peak = rss_mb(pid)
    last = node.height()
    missed = missed_slots(node, first, last)
    _report(name, probe, missed, last - first, (rss_before, rss_peak), stats)
    assert not probe.failures, probe.failures[:3]
    # the property: RPC never holds the author (no slot of the node's went unauthored while an RPC unit was running
    # at its start or started in its first half); a slot lost because the machine is busy (every process starved
    # alike) is reported above, and only bounded: at most a quarter of the slots
    assert metric(node, "btt_slots_missed_behind_rpc_total") == behind_before, \
        f"slots missed behind RPC under {name} (missed: {missed})"
    assert len(missed) * 4 <= last - first + len(missed), f"slots missed under {name}: {missed}"
    assert probe.p95() < scaled(P95_LIMIT_S), f"system_health p95 {probe.p95():.3f} s under {name}"
    assert rss_peak - rss_before < RSS_GROWTH_LIMIT_MB, f"memory grew {rss_peak - rss_before:.0f} MB under {name}"
    return stats, probe


def test_explorer_calls_in_a_loop_do_not_stall_the_node(attacked: Attacked) -> None:
    stats, _ = _run_attack(attacked, "explorer loop", "explorer-loop", "--clients", "4",
                           "--block", str(attacked.big_block), "--account", attacked.account)
    assert stats.get("answered", 0) > 0, stats  # served, but only its share


def test_ws_batches_stop_when_their_clients_leave(attacked: Attacked) -> None:
    stats, _ = _run_attack(attacked, "ws batches", "ws-batches", "--clients", "20",
                           "--block", str(attacked.big_block), "--account", attacked.account)
    assert stats.get("left_with_work_queued", 0) + stats.get("batches_answered", 0) > 0, stats
    node = attacked.node
    # the clients are gone: their queued calls are never run, so the lane empties
    wait_until(lambda: metric(node, "btt_rpc_queued_units") == 0, 60, 0.2, "the RPC lane empty after they left")
    assert node.call("system_health") is not None


def test_thousands_of_event_subscriptions_are_served_from_one_rendering(attacked: Attacked) -> None:
    stats, _ = _run_attack(attacked, "event subscriptions", "subscribe", "--clients", "100", "--addresses", "4",
                           "--subs", "64")
    assert stats.get("notifications", 0) > 0, stats


def test_idle_sockets_from_a_few_addresses_cannot_lock_others_out(attacked: Attacked) -> None:
    node = attacked.node
    proc = attacker(node, "idle", "--clients", "100", "--addresses", "4")
    wait_until(lambda: metric(node, "btt_rpc_websockets") >= 75, 60, 0.2, "the idle sockets connected")
    # a wallet from the node's own machine, and a client from a fifth address, both get a WebSocket
    import asyncio

    import aiohttp

    async def connect(local: str) -> str:
        connector = aiohttp.TCPConnector(local_addr=(local, 0))
        async with aiohttp.ClientSession(connector=connector) as session, \
                session.ws_connect(f"http://127.0.0.1:{node.rpc_port}") as ws:
            await ws.send_json({"jsonrpc": "2.0", "id": 1, "method": "system_name"})
            return str((await ws.receive_json(timeout=scaled(60)))["result"])

    assert asyncio.run(connect("127.0.0.1")) == "btt-chain"
    assert asyncio.run(connect("127.0.0.99")) == "btt-chain"
    honest_transfer(node)
    stats = finish(proc)
    print(f"\n[idle sockets] attacker {stats}", flush=True)
    closed = sum(v for k, v in stats.items() if k.startswith("closed:"))
    idle_closed = sum(v for k, v in stats.items() if k.startswith("closed:") and "idle" in k)
    assert closed >= 50 and idle_closed > 0, stats  # evicted to admit others, then timed out as idle
    wait_until(lambda: metric(node, "btt_rpc_websockets") == 0, 60, 0.2, "the idle sockets gone")


def _signed(pair: Keypair, call: str, *args: Any, nonce: int, tip: int = 0) -> str:
    genesis = bytes.fromhex(_GENESIS[0])
    return "0x" + sign_extrinsic(pair, RUNTIME.call(call, *args), nonce, genesis, RUNTIME.spec_version,
                                 tip=tip).encode().hex()


_GENESIS: list[str] = []


def _submit_each(node: NodeProcess, encoded: list[str]) -> list[dict[str, Any]]:
    """Each extrinsic's answer, in order (batches of 100, the node's limit)."""
    answers: list[dict[str, Any]] = []
    for at in range(0, len(encoded), 100):
        body = json.dumps([{"jsonrpc": "2.0", "id": at + i, "method": "author_submitExtrinsic", "params": [x]}
                           for i, x in enumerate(encoded[at:at + 100])]).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{node.rpc_port}", body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=scaled(120)) as resp:
            answers += sorted(json.loads(resp.read()), key=lambda r: r["id"])
    return answers


def test_promised_money_cannot_be_moved_out_from_under_pooled_transactions(attacked: Attacked) -> None:
    """17 accounts pool 60 future transactions each with 1.56 BTT tips, then try to move their whole balance
    away; and chains drained by their own first transaction. Each is refused at admission (nothing pooled, no
    fee), the future slots never hold unpayable transactions, and honest wallets are served throughout."""
    node = attacked.node
    _GENESIS[:] = [node.call("chain_getBlockHash", 0)[2:]]
    alice = dev_keypair("alice")
    squatters = [Keypair((8000 + i).to_bytes(32, "big")) for i in range(17)]
    drainer = Keypair((8100).to_bytes(32, "big"))
    nonce = int(node.call("system_accountNextIndex", "0x" + alice.public.hex()))
    funded = _submit_each(node, [_signed(alice, "balances.transfer_allow_death", p.public, 100 * UNIT, nonce=nonce + i)
                                 for i, p in enumerate([*squatters, drainer])])
    assert all("result" in r for r in funded), funded[:2]
    wait_until(lambda: int(node.call("btt_account", "0x" + drainer.public.hex())["free"]) > 0, 60, 0.3, "funded")
    tip = 156 * UNIT // 100
    sink = dev_keypair("eve").public
    with Probe(f"http://127.0.0.1:{node.rpc_port}") as probe:
        futures = [_signed(p, "balances.transfer_allow_death", sink, UNIT // 100, nonce=k, tip=tip)
                   for p in squatters for k in range(1, 61)]
        answers = _submit_each(node, futures)
        pooled = sum(1 for r in answers if "result" in r)
        assert pooled >= 1000, [r for r in answers if "error" in r][:2]
        # now move the promised money away: refused, the pool keeps what it can be paid for
        moves = _submit_each(node, [_signed(p, "balances.transfer_all", sink, False, nonce=0) for p in squatters])
        assert all("error" in r and "pay" in json.dumps(r["error"]) for r in moves), moves[:2]
        # a ready chain drained by its own first transaction gets no further
        drain = _submit_each(node, [_signed(drainer, "balances.transfer_all", sink, False, nonce=0)] +
                             [_signed(drainer, "balances.transfer_allow_death",
                                      sink, UNIT, nonce=k) for k in range(1, 101)])
        assert "result" in drain[0] and all("error" in r for r in drain[1:]), drain[1:3]
        honest_transfer(node)
    print(f"\n[pool] {pooled} future transactions pooled of {len(futures)}, {len(moves)} moves refused, "
          f"{len(drain) - 1} drained-chain transactions refused, system_health p95 {probe.p95() * 1000:.0f} ms",
          flush=True)
    assert probe.p95() < scaled(P95_LIMIT_S) and not probe.failures
    for p in squatters[:3]:  # what stays pooled is still payable
        free = int(node.call("btt_account", "0x" + p.public.hex())["free"])
        assert free >= 60 * tip
