"""`btt_explorerBurns` on an in-process dev node: the sources plus what genesis burned add up to the chain's own
`System.total_burned`, over the whole chain and over a window, and an old state is read only close to the head
(the explorer polls this method: a far `from` must not cost one undo journal per block back to it)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from btt_chain.rpc import methods_explorer
from runtime.system import storage as system
from tests.rpc.conftest import dev_harness
from tests.rpc.harness import RpcHarness

UNIT = 10**18


@pytest_asyncio.fixture
async def rpc() -> AsyncIterator[RpcHarness]:
    async for harness in dev_harness():
        yield harness


def total_burned(rpc: RpcHarness) -> int:
    return int(system.total_burned.get(rpc.node.chain.state()))


@pytest.mark.asyncio
async def test_the_rows_add_up_to_the_chains_total_and_old_states_stay_unread(
    rpc: RpcHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    genesis_burned = total_burned(rpc)
    assert genesis_burned > 0, "the dev chain burns milestones at genesis"
    await rpc.submit_in_block(rpc.alice, "balances.burn", 3 * UNIT, True)
    await rpc.submit_in_block(rpc.alice, "balances.burn", 2 * UNIT + 1, True)

    whole = await rpc.call("btt_explorerBurns", 2000, 10)
    assert whole["from"] == 0 and whole["burnedBefore"] == "0" and whole["genesis"] == str(genesis_burned)
    assert whole["totals"] == {"balances": str(5 * UNIT + 1)}
    assert int(whole["burnedAt"]) == total_burned(rpc) == genesis_burned + 5 * UNIT + 1
    assert whole["labels"]["balances"] == "balances.burn calls"

    head = rpc.node.chain.head.number
    last = await rpc.call("btt_explorerBurns", 1, 1, head)
    assert last["from"] == last["to"] == head and last["genesis"] is None
    assert last["totals"] == {"balances": str(2 * UNIT + 1)}
    assert int(last["burnedAt"]) - int(last["burnedBefore"]) == 2 * UNIT + 1

    for _ in range(methods_explorer.BURNED_STATE_BACK + 2):
        rpc.author_block()
    opened: list[int] = []
    real = methods_explorer.state_view
    monkeypatch.setattr(methods_explorer, "state_view",
                        lambda ctx, at: opened.append(1) or real(ctx, at))  # type: ignore[func-returns-value]
    far = await rpc.call("btt_explorerBurns", 1, 1, head)
    assert far["totals"] == {"balances": str(2 * UNIT + 1)}
    assert far["burnedAt"] is None and far["burnedBefore"] is None and opened == [], "no old state read"
    whole = await rpc.call("btt_explorerBurns", 2000, 10)
    assert whole["genesis"] == str(genesis_burned), "genesis from the chain spec once block 0 is far"
    assert sum(int(v) for v in whole["totals"].values()) + genesis_burned == int(whole["burnedAt"]) == total_burned(rpc)
    assert opened == [1], "only the head's state (burnedAt) was read"
