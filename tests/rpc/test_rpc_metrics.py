"""Node metrics in-process: heights, issuance, burns by source, slots missed, RPC calls by method, import time."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from btt_chain.node.metrics import NodeMetrics, compute_burn_sources
from runtime.balances.events import Burned
from runtime.system import storage as system

from .harness import UNIT, RpcHarness


def samples(metrics: NodeMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = metrics.render().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def attach(rpc: RpcHarness) -> NodeMetrics:
    metrics = NodeMetrics()
    metrics.attach(rpc.node)
    rpc.server.dispatcher.on_call = metrics.on_rpc_call
    return metrics


async def test_metrics_follow_blocks_burns_and_rpc(rpc: RpcHarness) -> None:
    metrics = attach(rpc)
    before = samples(metrics)
    assert before[("substrate_block_height", (("status", "best"),))] == 0
    rpc.author_block()
    rpc.author_block()
    after = samples(metrics)
    assert after[("substrate_block_height", (("status", "best"),))] == 2
    assert after[("substrate_block_verification_and_import_time_count", ())] == 2
    lag = after[("btt_finality_lag_blocks", ())]
    assert lag == 2 - after[("substrate_block_height", (("status", "finalized"),))]

    await rpc.submit_in_block(rpc.alice, "balances.burn", 3 * UNIT, True)
    now = samples(metrics)
    assert now[("btt_burned_base_units_total", (("module", "balances"),))] == 3 * UNIT
    # Prometheus values are doubles: issuance in base units is exact to about 15 significant digits
    assert now[("btt_total_issuance", ())] == pytest.approx(system.total_issuance.get(rpc.node.chain.state()),
                                                            rel=1e-12)

    await rpc.call("chain_getHeader")
    await rpc.post({"jsonrpc": "2.0", "id": 1, "method": "no_suchMethod", "params": []})
    now = samples(metrics)
    assert now[("substrate_rpc_calls_total", (("method", "chain_getHeader"),))] >= 1
    assert now[("substrate_rpc_calls_total", (("method", "unknown"),))] == 1
    assert not any(labels == (("method", "no_suchMethod"),) for _, labels in now)
    assert now[("process_resident_memory_bytes", ())] > 10 * 2**20  # the operator sees the node's memory and CPU
    assert ("process_cpu_seconds_total", ()) in now


async def test_slots_without_a_block_count_as_missed(rpc: RpcHarness) -> None:
    metrics = attach(rpc)
    rpc.author_block()
    chain = rpc.node.chain
    rpc.author_at_time(chain.clock.slot_start_ms(chain.head.slot + 4))  # three empty slots between
    assert samples(metrics)[("btt_slots_missed_total", ())] == 3


def test_burn_source_is_the_calls_module_or_the_hooks_event() -> None:
    class FakeCall:
        module = 0

    class FakeXt:
        call = FakeCall()

    class FakeBlock:
        extrinsics = (FakeXt(),)

    from runtime.modules import RUNTIME
    from runtime.treasury.events import MilestoneBurned

    first = RUNTIME.modules[0].name
    who = bytes(32)
    events = [(0, Burned(who, 5)), (-1, Burned(who, 7)), (-2, Burned(who, 9)), (-2, MilestoneBurned("m", 9))]
    # the treasury's own MilestoneBurned reports the same burn: counted once, under treasury
    assert compute_burn_sources(FakeBlock(), events) == [(first, 5), ("runtime", 7), ("treasury", 9)]
