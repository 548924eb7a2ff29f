"""Serving warp sync costs the server bounded work (issue 44): a state chunk is read in steps with the event loop
running between them, read again whole when a block is imported meanwhile (never a mix of two states), refused
beyond the depth an honest client asks, and the time all peers' requests take is held to a share of the loop
(`ServeBudget`)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

import btt_chain.node.warp_serve as warp_serve
from btt_chain.node.serve_throttle import ServeBudget, ServeRefused
from btt_chain.node.warp_serve import BUSY, OK, UNAVAILABLE
from btt_chain.primitives.codec import pack, unpack
from storage.smt import verify_prefix_chunk
from tests.node.test_warp_sync import VALIDATORS, finalized_chain
from tests.support.node_builder import author_as_leader


def chunk_request(block_hash: bytes, depth: int = 0, index: int = 0) -> bytes:
    return pack([block_hash, depth, index])


def verified(raw: bytes, root: bytes, depth: int = 0, index: int = 0) -> list[list[bytes]]:
    value = unpack(raw, max_size=1 << 26)
    assert value[0] == OK, value
    entries = [(k, v) for k, v in value[1]]
    siblings = [(h, kind) for h, kind in value[2]]
    lone = (value[3][0], value[3][1]) if value[3] else None
    assert verify_prefix_chunk(root, depth, index, entries, siblings, lone) is None
    return value[1]


def test_a_chunk_is_read_in_steps_and_the_loop_runs_between_them(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    served = finalized_chain(tmp_path, epochs=4)
    monkeypatch.setattr(warp_serve, "STEP_KEYS", 4)
    target = served.chain.finalized

    async def go() -> tuple[bytes, int]:
        ticks = 0
        done = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not done.is_set():
                ticks += 1
                await asyncio.sleep(0)

        task = asyncio.create_task(ticker())
        raw = await served.server.serve_state("peer", chunk_request(target.hash()))
        done.set()
        await task
        return raw, ticks

    raw, ticks = asyncio.run(go())
    entries = verified(raw, target.state_root)
    assert len(entries) > 40
    assert ticks >= len(entries) // 4  # the loop ran at least once a step: no request holds it for the whole chunk
    assert served.server.budget.spent_s > 0


def test_a_block_imported_while_a_chunk_is_read_makes_it_read_again_whole(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    served = finalized_chain(tmp_path, epochs=4)
    monkeypatch.setattr(warp_serve, "STEP_KEYS", 4)
    chain = served.chain
    target = chain.finalized
    reads = []
    inner = served.server._read_chunk

    async def counted(*args: object) -> bytes | None:
        raw = await inner(*args)  # type: ignore[arg-type]
        reads.append(raw is not None)
        return raw

    monkeypatch.setattr(served.server, "_read_chunk", counted)

    async def go(blocks: int) -> bytes:
        done = asyncio.Event()

        async def importer() -> None:
            for _ in range(blocks):
                await asyncio.sleep(0)
                if done.is_set():
                    return
                author_as_leader(chain, VALIDATORS)

        task = asyncio.create_task(importer())
        raw = await served.server.serve_state("peer", chunk_request(target.hash()))
        done.set()
        await task
        return raw

    head = chain.head.number
    raw = asyncio.run(go(1))
    assert chain.head.number == head + 1
    assert reads == [False, True]  # the first read saw the head move and was dropped; the second is whole
    verified(raw, target.state_root)

    reads.clear()  # blocks imported all the time: it gives up after READ_ATTEMPTS reads, with the reason
    raw = asyncio.run(go(1_000))
    value = unpack(raw)
    assert value[0] == UNAVAILABLE and "imported while the chunk was read" in value[1]
    assert reads == [False] * warp_serve.READ_ATTEMPTS


def test_a_prefix_deeper_than_an_honest_client_asks_is_refused(tmp_path: Path) -> None:
    served = finalized_chain(tmp_path, epochs=4)
    server = served.server
    deepest = min(served.chain.tree.bucket_bits, server.plan_depth() + warp_serve.DEEPER_THAN_PLAN)
    target = served.chain.finalized
    ok = unpack(asyncio.run(server.serve_state("peer", chunk_request(target.hash(), deepest, 0))), max_size=1 << 26)
    assert ok[0] == OK
    if deepest < warp_serve.MAX_DEPTH:
        value = unpack(asyncio.run(server.serve_state("peer", chunk_request(target.hash(), deepest + 1, 0))))
        assert value[0] == UNAVAILABLE and f"down to depth {deepest}" in value[1]


def test_an_unknown_or_side_block_is_not_served(tmp_path: Path) -> None:
    served = finalized_chain(tmp_path, epochs=4)
    value = unpack(asyncio.run(served.server.serve_state("peer", chunk_request(bytes(32)))))
    assert value[0] == UNAVAILABLE and "canonical chain" in value[1]
    plan = unpack(asyncio.run(served.server.serve_plan("peer", pack([bytes(32)]))))
    assert plan[0] == UNAVAILABLE


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_serving_budget_holds_serving_to_its_share_of_the_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    budget = ServeBudget("warp sync", share=0.25, burst_s=0.5, max_wait_s=2.0, clock=clock)
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.now += seconds

    monkeypatch.setattr(asyncio, "sleep", sleep)
    asyncio.run(budget.acquire())  # the burst is there
    assert slept == []
    budget.charge(0.7)  # 0.2 s overdrawn: the next request waits until a quarter of the wall time paid it back
    asyncio.run(budget.acquire())
    assert slept == [pytest.approx(0.8)]
    budget.charge(1.0)  # 1 s overdrawn: 4 s away, more than the 2 s a request may wait
    with pytest.raises(ServeRefused, match="serving as much as it may"):
        asyncio.run(budget.acquire())
    clock.now += 4.0
    asyncio.run(budget.acquire())  # paid back: served again
    assert budget.spent_s == pytest.approx(1.7)
    with pytest.raises(ValueError):
        ServeBudget("x", share=0, burst_s=1, max_wait_s=1)


def test_a_server_past_its_budget_says_busy_instead_of_queueing(tmp_path: Path) -> None:
    served = finalized_chain(tmp_path, epochs=4)
    server = served.server
    server.budget.charge(60.0)  # a minute of serving owed: far more than a request may wait
    target = served.chain.finalized
    value = unpack(asyncio.run(server.serve_state("peer", chunk_request(target.hash()))))
    assert value[0] == BUSY and "serving as much as it may" in value[1]
    assert server.served["chunks"] == 0


def test_serving_chunks_leaves_the_mapped_table_pages_to_the_import(tmp_path: Path) -> None:
    # releasing the mapped table pages after each chunk made a warp join at ten million accounts 28% slower (over
    # five minutes): serving never reopens the database, and the chunks stay what they were
    served = finalized_chain(tmp_path, epochs=4)
    asked: list[int] = []

    def release(budget: int) -> bool:
        asked.append(budget)
        return True

    served.chain.db.kv.release_mapped_pages_over = release  # type: ignore[attr-defined]
    target = served.chain.finalized
    first = verified(asyncio.run(served.server.serve_state("peer", chunk_request(target.hash()))), target.state_root)
    again = verified(asyncio.run(served.server.serve_state("peer", chunk_request(target.hash()))), target.state_root)
    assert again == first and asked == []
