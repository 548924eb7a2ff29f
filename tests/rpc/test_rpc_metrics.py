"""Node metrics in-process: Substrate's names, types and labels (heights, leaves, pool, proposer, import, RPC calls
and sessions) and the chain's own (issuance, burns by source, compute events, slots missed); every figure checked
against what the node did, and a scraper that cannot make the node render more than once per interval."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import pytest
from prometheus_client.parser import text_string_to_metric_families

from btt_chain.node.metrics import (
    MetricsServer,
    NodeMetrics,
    SubstrateCounter,
    compute_burn_sources,
    get_compute_event_names,
    get_version,
    render_text,
)
from btt_chain.node.sync import PeerStatus
from btt_chain.primitives.extrinsic import sign_extrinsic
from btt_chain.primitives.keys import dev_keypair
from runtime.balances.events import Burned
from runtime.modules import RUNTIME
from runtime.system import storage as system

from .harness import UNIT, RpcCallError, RpcHarness

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


SAMPLE_LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def samples(metrics: NodeMetrics) -> Samples:
    """Every sample of a render as Prometheus reads it (names as written: the Python parser would rename counters),
    by (name, labels without `chain`); each one also carries `chain`, as Substrate's registry puts it on all."""
    text = metrics.render().decode()
    list(text_string_to_metric_families(text))  # the format parses
    found: Samples = {}
    for line in text.splitlines():
        if line.startswith("#") or not line:
            continue
        match = SAMPLE_LINE.match(line)
        assert match, line
        labels = dict(LABEL.findall(match.group(2) or ""))
        assert labels.pop("chain") == "dev", line
        found[(match.group(1), tuple(sorted(labels.items())))] = float(match.group(3))
    return found


def attach(rpc: RpcHarness) -> NodeMetrics:
    metrics = NodeMetrics()
    rpc.node.metrics = metrics
    metrics.attach(rpc.node)
    rpc.server.metrics = metrics  # what the server finds on a node started with metrics
    rpc.server.dispatcher.observer = metrics
    return metrics


def height(s: Samples, status: str) -> float:
    return s[("substrate_block_height", (("status", status),))]


async def test_heights_proposer_and_burns_follow_the_blocks(rpc: RpcHarness) -> None:
    metrics = attach(rpc)
    before = samples(metrics)
    assert height(before, "best") == height(before, "sync_target") == 0  # no peer: the target is our own best
    assert before[("substrate_node_roles", ())] == 4  # an authority, as alice validates
    assert before[("substrate_build_info", (("name", "btt-node"), ("version", get_version())))] == 1
    rpc.author_block()
    rpc.author_block()
    after = samples(metrics)
    assert height(after, "best") == height(after, "sync_target") == 2
    assert after[("btt_finality_lag_blocks", ())] == 2 - height(after, "finalized")
    assert after[("substrate_proposer_block_constructed_count", ())] == 2  # authored, not imported
    assert after[("substrate_block_verification_and_import_time_count", ())] == 0
    assert after[("substrate_number_leaves", ())] == 1

    await rpc.submit_in_block(rpc.alice, "balances.burn", 3 * UNIT, True)
    now = samples(metrics)
    # with the timestamp inherent, as Substrate counts them
    assert now[("substrate_proposer_number_of_transactions", ())] == 2
    assert now[("btt_burned_base_units_total", (("module", "balances"),))] == 3 * UNIT
    # Prometheus values are doubles: issuance in base units is exact to about 15 significant digits
    assert now[("btt_total_issuance", ())] == pytest.approx(system.total_issuance.get(rpc.node.chain.state()),
                                                            rel=1e-12)
    assert now[("process_resident_memory_bytes", ())] > 10 * 2**20  # the operator sees the node's memory and CPU
    assert ("process_cpu_seconds_total", ()) in now
    assert not any(name.endswith("_created") for name, _ in now)  # Substrate has no _created series


async def test_import_time_and_leaves_count_a_fork_once(rpc: RpcHarness) -> None:
    metrics = attach(rpc)
    chain = rpc.node.chain
    slot = chain.head.slot
    a = chain.build_block(slot + 1, rpc.alice, [])
    b = chain.build_block(slot + 2, rpc.alice, [])  # a sibling of a: two leaves
    late = chain.clock.slot_start_ms(slot + 3)
    chain.import_block(a.encode(), late)
    chain.import_block(b.encode(), late)
    s = samples(metrics)
    assert s[("substrate_block_verification_and_import_time_count", ())] == 2
    assert s[("substrate_number_leaves", ())] == 2
    assert height(s, "best") == 1
    chain.import_block(a.encode(), late)  # known already: not verified again, not timed
    assert samples(metrics)[("substrate_block_verification_and_import_time_count", ())] == 2
    assert s[("substrate_proposer_block_constructed_count", ())] == 0  # built and imported, never authored here


async def test_rpc_calls_by_protocol_method_and_error(rpc: RpcHarness) -> None:
    metrics = attach(rpc)
    await rpc.call("chain_getHeader")
    await rpc.post([{"jsonrpc": "2.0", "id": i, "method": "system_health", "params": []} for i in range(3)])
    for _ in range(2):
        await rpc.post({"jsonrpc": "2.0", "id": 1, "method": "no_suchMethod", "params": []})
    await rpc.post({"jsonrpc": "2.0", "id": 2, "method": "chain_getHeader", "params": ["0x12"]})  # bad params
    await rpc.post({"jsonrpc": "2.0", "method": "system_health", "params": []})  # a notification is a call too
    await rpc.post({"jsonrpc": "2.0", "id": 3, "params": []})  # no method: no call to count
    s = samples(metrics)
    started = {labels: v for (name, labels), v in s.items() if name == "substrate_rpc_calls_started"}
    finished = {labels: v for (name, labels), v in s.items() if name == "substrate_rpc_calls_finished"}
    assert started == {
        (("method", "chain_getHeader"), ("protocol", "http")): 2,
        (("method", "system_health"), ("protocol", "http")): 4,
        (("method", "unknown"), ("protocol", "http")): 2,
    }
    assert finished == {
        (("is_error", "false"), ("method", "chain_getHeader"), ("protocol", "http")): 1,
        (("is_error", "true"), ("method", "chain_getHeader"), ("protocol", "http")): 1,
        (("is_error", "false"), ("method", "system_health"), ("protocol", "http")): 4,
        (("is_error", "true"), ("method", "unknown"), ("protocol", "http")): 2,
    }
    # a caller cannot grow the label set: names no method is registered under all count as `unknown`
    assert not any(("method", "no_suchMethod") in labels for _, labels in s)
    assert s[("substrate_rpc_calls_time_count", (("method", "system_health"), ("protocol", "http")))] == 4
    assert s[("substrate_rpc_calls_time_sum", (("method", "system_health"), ("protocol", "http")))] > 0  # μs

    async with rpc.session.ws_connect(rpc.url) as ws:
        await ws.send_str(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "chain_getHeader", "params": []}))
        assert "result" in json.loads((await ws.receive()).data)
        s = samples(metrics)
        assert s[("substrate_rpc_sessions_opened", ())] == 1 and s[("substrate_rpc_sessions_closed", ())] == 0
        assert s[("substrate_rpc_calls_started", (("method", "chain_getHeader"), ("protocol", "ws")))] == 1
    for _ in range(100):  # the server closes its side after the client's close frame
        if samples(metrics)[("substrate_rpc_sessions_closed", ())] == 1:
            break
        await rpc.call("system_health")
    s = samples(metrics)
    assert s[("substrate_rpc_sessions_closed", ())] == 1
    assert s[("substrate_rpc_sessions_time_count", (("protocol", "ws"),))] == 1


async def test_txpool_counters_and_ready_count_are_the_pools(rpc: RpcHarness) -> None:
    metrics = attach(rpc)
    pool = rpc.node.pool
    bob = dev_keypair("bob").public
    nonce = rpc.node.next_account_index(rpc.alice.public)
    future = rpc.sign(rpc.alice, "balances.transfer_allow_death", bob, UNIT, nonce=nonce + 2)
    await rpc.call("author_submitExtrinsic", "0x" + future.encode().hex())
    s = samples(metrics)
    assert s[("substrate_ready_transactions_number", ())] == 0 and s[("btt_txpool_future_transactions", ())] == 1
    for n in (nonce, nonce + 1):
        xt = rpc.sign(rpc.alice, "balances.transfer_allow_death", bob, UNIT, nonce=n)
        await rpc.call("author_submitExtrinsic", "0x" + xt.encode().hex())
    s = samples(metrics)
    assert s[("substrate_ready_transactions_number", ())] == 3 == sum(1 for _ in pool.ready())
    assert s[("btt_txpool_future_transactions", ())] == 0
    assert s[("btt_txpool_bytes", ())] == pool.total_bytes > 0
    assert s[("substrate_sub_txpool_submitted_transactions", ())] == 3
    assert s[("substrate_sub_txpool_validations_scheduled", ())] == 3
    assert s[("substrate_sub_txpool_validations_finished", ())] == 3

    with rpc.unchanged():  # refused submissions change nothing in the pool, but are counted as what they were
        with pytest.raises(RpcCallError, match="malformed"):
            await rpc.call("author_submitExtrinsic", "0x00ff")  # undecodable: never validated
        other_chain = sign_extrinsic(dev_keypair("bob"), RUNTIME.call("balances.transfer_allow_death", bob, UNIT), 0,
                                     bytes(32), RUNTIME.spec_version)  # signed for another genesis: invalid here
        with pytest.raises(RpcCallError):
            await rpc.call("author_submitExtrinsic", "0x" + other_chain.encode().hex())
    s = samples(metrics)
    assert s[("substrate_sub_txpool_submitted_transactions", ())] == 5
    assert s[("substrate_sub_txpool_validations_scheduled", ())] == 4  # the forged one was checked and refused
    assert s[("substrate_sub_txpool_validations_finished", ())] == 4
    assert s[("substrate_ready_transactions_number", ())] == 3

    imported = rpc.author_block()
    s = samples(metrics)
    assert s[("substrate_sub_txpool_block_transactions_pruned", ())] == len(imported.block.transactions) == 3
    assert s[("substrate_ready_transactions_number", ())] == 0
    assert s[("substrate_sub_txpool_validations_invalid", ())] == 0
    # a retracted block's transaction offered back: counted as resubmitted, refused (already included), pool unchanged
    with rpc.unchanged():
        pool.resubmit(imported.block.transactions[0].encode())
    assert samples(metrics)[("substrate_sub_txpool_block_transactions_resubmitted", ())] == 1


async def test_caches_database_and_compute_events(rpc: RpcHarness) -> None:
    metrics = attach(rpc)
    rpc.author_block()
    rpc.node.kv.flush()  # the authored block is written behind: LevelDB's memory moves until its batch has landed
    metrics.measure_disk()
    s = samples(metrics)
    tree_leaves = s[("btt_state_cache_entries", (("cache", "state_tree"),))]
    assert tree_leaves == rpc.node.chain.tree.stats()["resident_leaves"] > 0
    assert s[("substrate_state_cache_bytes", ())] == rpc.node.chain.tree.memory_bytes() > tree_leaves * 64
    assert s[("btt_state_cache_entries", (("cache", "flat_state"),))] == rpc.node.chain.db.state.cached()
    assert s[("substrate_database_cache_bytes", ())] == rpc.node.kv.memory_bytes() > 0
    files = sum(p.stat().st_size for p in rpc.node.kv.path.rglob("*") if p.is_file())
    assert 0 < s[("btt_database_disk_bytes", ())] <= files  # written before the scan; LevelDB only grows here
    names = get_compute_event_names()
    assert {"JobPosted", "JobReceipt", "FraudDetected"} <= set(names)
    assert all(s[("btt_compute_events_total", (("event", n),))] == 0 for n in names)  # there from the start


async def test_sync_target_and_sync_peers_count_connected_peers_only(rpc: RpcHarness) -> None:
    metrics = attach(rpc)

    @dataclass
    class Info:
        peer_id: str

    @dataclass
    class Exchange:
        started: int = 0
        completed: int = 0
        failed: int = 0
        bad_data: int = 0

    class Unmeasured:  # what other parts of the node may read from the network: nothing known
        offset_ms = None

        def estimate(self) -> Unmeasured:
            return self

    @dataclass
    class FakeNetwork:
        peer_best: dict[str, PeerStatus]
        is_syncing: bool = True
        weights: Exchange = field(default_factory=Exchange)
        clock_watch: Unmeasured = field(default_factory=Unmeasured)

    class FakeP2P:
        def peers(self) -> list[Info]:
            return [Info("honest"), Info("behind")]

        def ban_totals(self) -> dict[str, int]:
            return {}

    h = bytes(32)
    node = rpc.node
    node.p2p = FakeP2P()  # type: ignore[assignment]
    # a peer that claimed a huge height and left must not move the target
    node.network = FakeNetwork({"honest": PeerStatus(40, h, 30, h), "behind": PeerStatus(3, h, 0, h),  # type: ignore[assignment]
                                "gone": PeerStatus(10**12, h, 0, h)})
    try:
        s = samples(metrics)
    finally:
        node.p2p = node.network = None
    assert height(s, "sync_target") == 40
    assert s[("substrate_sync_peers", ())] == 2
    assert s[("substrate_sub_libp2p_peers_count", ())] == 2
    assert s[("substrate_sub_libp2p_is_major_syncing", ())] == 1


async def test_slots_without_a_block_count_as_missed(rpc: RpcHarness) -> None:
    metrics = attach(rpc)
    rpc.author_block()
    chain = rpc.node.chain
    rpc.author_at_time(chain.clock.slot_start_ms(chain.head.slot + 4))  # three empty slots between
    assert samples(metrics)[("btt_slots_missed_total", ())] == 3


async def test_a_scraper_in_a_loop_gets_one_render_per_interval(rpc: RpcHarness) -> None:
    metrics = attach(rpc)
    cached = MetricsServer(metrics, "127.0.0.1", 0, min_interval_s=3600)
    bodies = {await cached.body() for _ in range(50)}
    assert cached.renders == 1 and len(bodies) == 1
    rpc.author_block()
    assert await cached.body() in bodies  # the block shows at the next interval, not at the scraper's will
    fresh = MetricsServer(metrics, "127.0.0.1", 0, min_interval_s=0)
    for _ in range(3):
        await fresh.body()
    assert fresh.renders == 3
    assert metrics.disk_measured_at is not None  # measured once, off the loop, and not again within the interval


def test_substrate_counters_are_exposed_without_total() -> None:
    counter = SubstrateCounter("substrate_rpc_calls_started", "calls", ["protocol", "method"])
    counter.inc("http", "system_health")
    counter.inc("http", "system_health", amount=2)
    text = render_text(counter.collect(), {"chain": "dev"}).decode()
    assert text.splitlines() == [
        "# HELP substrate_rpc_calls_started calls",
        "# TYPE substrate_rpc_calls_started counter",
        'substrate_rpc_calls_started{method="system_health",protocol="http",chain="dev"} 3.0',
    ]
    with pytest.raises(ValueError):
        counter.inc("http")  # a missing label
    with pytest.raises(ValueError):
        counter.inc("http", "x", amount=-1)  # a counter never goes down
    counter.set_total(1, "http", "system_health")  # a mirrored total lower than the counter: ignored
    assert counter.get("http", "system_health") == 3


def test_burn_source_is_the_calls_module_or_the_hooks_event() -> None:
    class FakeCall:
        module = 0

    class FakeXt:
        call = FakeCall()

    class FakeBlock:
        extrinsics = (FakeXt(),)

    from runtime.treasury.events import MilestoneBurned

    first = RUNTIME.modules[0].name
    who = bytes(32)
    events = [(0, Burned(who, 5)), (-1, Burned(who, 7)), (-2, Burned(who, 9)), (-2, MilestoneBurned("m", 9))]
    # the treasury's own MilestoneBurned reports the same burn: counted once, under treasury
    assert compute_burn_sources(FakeBlock(), events) == [(first, 5), ("runtime", 7), ("treasury", 9)]
