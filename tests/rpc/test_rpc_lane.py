"""The RPC lane and connection admission, tried as a flooding client would: one unit at a time, the loop handed
back after each, a cheap newcomer served before a heavy queue, work of a departed client never run, and a few
addresses unable to lock others out."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from btt_chain.rpc.admission import ConnectionTable
from btt_chain.rpc.scheduler import CallLane, ClientGone, FairQueue, LaneBusy


class FakeClock:
    """Each unit 'takes' the time the test says, so fairness is checked without timing anything."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_fair_queue_serves_a_newcomer_before_flows_that_had_service() -> None:
    q: FairQueue[str] = FairQueue()
    for i in range(5):
        q.push("heavy", f"h{i}")
    key, item = q.pop()  # type: ignore[misc]
    q.charge(key, 1.0)
    q.push("light", "l0")
    assert q.pop() == ("light", "l0")


def test_fair_queue_shares_by_cost_not_by_count() -> None:
    q: FairQueue[str] = FairQueue()
    for i in range(20):
        q.push("costly", f"c{i}")
        q.push("cheap", f"k{i}")
    served = {"costly": 0, "cheap": 0}
    for _ in range(22):
        popped = q.pop()
        assert popped is not None
        key, _ = popped
        served[key] += 1
        q.charge(key, 10.0 if key == "costly" else 1.0)
    assert served["cheap"] >= 5 * served["costly"]


@pytest.mark.asyncio
async def test_lane_runs_one_unit_at_a_time_and_hands_the_loop_back_between_units() -> None:
    lane = CallLane(share=1.0)
    lane.start()
    order: list[str] = []
    running = 0

    def unit(name: str) -> str:
        nonlocal running
        running += 1
        assert running == 1, "two units on the loop at once"
        order.append(name)
        running -= 1
        return name

    async def ticker() -> None:  # stands for the slot loop: it must run between any two units
        for _ in range(30):
            order.append("tick")
            await asyncio.sleep(0)

    tick = asyncio.create_task(ticker())
    results = await asyncio.gather(*(lane.run("10.0.0.1", "c", lambda i=i: unit(f"u{i}")) for i in range(10)))
    await tick
    await lane.stop()
    assert results == [f"u{i}" for i in range(10)]
    units = [i for i, name in enumerate(order) if name != "tick"]
    assert all(b - a > 1 for a, b in zip(units, units[1:], strict=False)), order


@pytest.mark.asyncio
async def test_lane_serves_a_cheap_client_before_a_flooding_address() -> None:
    clock = FakeClock()
    lane = CallLane(share=1.0, clock=clock)
    lane.start()
    done: list[str] = []

    def heavy(i: int) -> None:
        clock.now += 0.05
        done.append(f"flood{i}")

    def cheap() -> None:
        clock.now += 0.001
        done.append("wallet")

    flood = [asyncio.ensure_future(lane.run("127.0.0.2", f"ws{i % 25}", lambda i=i: heavy(i))) for i in range(100)]
    await asyncio.sleep(0)
    while len(done) < 3:
        await asyncio.sleep(0)
    await lane.run("127.0.0.1", "wallet-http", cheap)
    waited = done.index("wallet")
    await asyncio.gather(*flood)
    await lane.stop()
    assert waited <= 5, f"the wallet waited for {waited} flood units"


@pytest.mark.asyncio
async def test_lane_never_runs_the_work_of_a_client_that_left() -> None:
    lane = CallLane(share=1.0)
    lane.start()
    ran: list[int] = []
    connected = {"gone": True}
    first = asyncio.ensure_future(lane.run("10.0.0.9", "ws", lambda: ran.append(0)))
    rest = [asyncio.ensure_future(lane.run("10.0.0.9", "ws", lambda i=i: ran.append(i),
                                           alive=lambda: connected["gone"])) for i in range(1, 50)]
    await first
    connected["gone"] = False
    results = await asyncio.gather(*rest, return_exceptions=True)
    await lane.stop()
    assert ran == [0] or len(ran) <= 2
    assert all(isinstance(r, ClientGone) for r in results[1:])
    assert lane.skipped_gone >= 48


@pytest.mark.asyncio
async def test_lane_refuses_past_its_queue_bound_and_keeps_serving() -> None:
    lane = CallLane(share=1.0, max_queued=8)
    lane.start()
    calls = [asyncio.ensure_future(lane.run("10.0.0.1", "c", lambda: None)) for _ in range(20)]
    results = await asyncio.gather(*calls, return_exceptions=True)
    busy = [r for r in results if isinstance(r, LaneBusy)]
    assert len(busy) == 12 and all("try again later" in str(b) for b in busy)
    assert await lane.run("10.0.0.2", "d", lambda: 42) == 42
    await lane.stop()


@pytest.mark.asyncio
async def test_lane_rests_to_keep_its_share_of_the_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    lane = CallLane(share=0.5, clock=clock)
    rests: list[float] = []
    real_sleep = asyncio.sleep

    async def spy(delay: float, *args: object) -> None:
        rests.append(delay)
        await real_sleep(0)

    def unit() -> None:
        clock.now += 0.02

    monkeypatch.setattr(asyncio, "sleep", spy)
    lane.start()
    await asyncio.gather(*(lane.run("10.0.0.1", "c", unit) for _ in range(5)))
    await lane.stop()
    assert len(rests) >= 5 and all(abs(r - 0.02) < 1e-9 for r in rests[:5])  # 20 ms of work, 20 ms of rest


def test_lane_share_is_bounded() -> None:
    with pytest.raises(ValueError):
        CallLane(share=0.0)
    with pytest.raises(ValueError):
        CallLane(share=1.5)


# admission --------------------------------------------------------------------------------------------


@dataclass(eq=False)
class Conn:
    ip: str
    local: bool
    last_active: float


def test_a_few_addresses_holding_every_slot_give_one_up_to_a_newcomer() -> None:
    table = ConnectionTable(max_connections=100, max_per_ip=32, reserved_local=20)
    held = [Conn(f"203.0.113.{a}", False, float(i)) for a in range(1, 5) for i in range(20)]
    verdict = table.consider("198.51.100.7", False, held, 0)
    assert verdict.admitted and verdict.evict is not None
    assert verdict.evict.ip.startswith("203.0.113.") and verdict.evict.last_active == 0.0


def test_an_address_as_busy_as_the_busiest_is_refused_rather_than_evicting() -> None:
    table = ConnectionTable(max_connections=10, max_per_ip=32, reserved_local=0)
    held = [Conn(f"203.0.113.{a}", False, 0.0) for a in range(5) for _ in range(2)]
    verdict = table.consider("203.0.113.1", False, held, 2)
    assert not verdict.admitted and "share" in verdict.reason


def test_loopback_keeps_its_reserved_share() -> None:
    table = ConnectionTable(max_connections=100, max_per_ip=100, reserved_local=20)
    remote = [Conn("203.0.113.1", False, 0.0) for _ in range(80)]
    verdict = table.consider("127.0.0.1", True, remote, 0)
    assert verdict.admitted and verdict.evict is None
    other = table.consider("198.51.100.2", False, remote, 0)
    assert other.admitted and other.evict is not None  # the remote share is full: the busiest address gives one up


def test_per_address_cap_comes_first() -> None:
    table = ConnectionTable(max_connections=100, max_per_ip=4, reserved_local=10)
    verdict = table.consider("10.1.1.1", False, [], 4)
    assert not verdict.admitted and "limit 4" in verdict.reason


# parsing ----------------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_message_too_costly_to_parse_is_refused_before_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    import json as json_module

    from btt_chain.rpc import protocol
    from btt_chain.rpc.registry import RpcContext

    parsed: list[int] = []
    real_loads = json_module.loads

    def counting_loads(raw: object, **kw: object) -> object:
        parsed.append(1)
        return real_loads(raw, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(protocol.json, "loads", counting_loads)
    bomb = "[" + "0," * (4 * 1024 * 1024 - 2) + "0]"
    reply = await protocol.Dispatcher().handle_async(bomb, RpcContext(None))  # type: ignore[arg-type]
    assert reply is not None
    error = real_loads(reply)["error"]
    assert error["code"] == -32600 and "separators" in error["message"] and parsed == []
    # the largest legitimate shape (a 100-call batch of 1,000 block numbers each) still parses
    numbers = json_module.dumps([{"jsonrpc": "2.0", "id": 0, "method": "x", "params": [list(range(1000))]}] * 100)
    assert numbers.count(",") < protocol.MAX_TOKENS
    assert isinstance(protocol._parse(numbers), list)


@pytest.mark.asyncio
async def test_a_held_slot_starts_no_unit_until_released_however_many_are_queued() -> None:
    """A node's own slot: the lane starts nothing from a unit's length before it until the block is authored, so
    an attacker's queue of heavy calls cannot have one running when the slot begins."""
    clock = FakeClock()
    lane = CallLane(share=1.0, clock=clock)
    lane.start()
    ran: list[int] = []

    def unit(i: int) -> int:
        clock.now += 0.05  # each unit "takes" 50 ms
        ran.append(i)
        return i

    try:
        assert await lane.run("a", "c", lambda: unit(0)) == 0
        assert lane.lead(1.0) == pytest.approx(0.05)
        lane.hold(at=clock.now + 0.04, until=clock.now + 10)  # the slot starts in 40 ms: within a unit's length
        tasks = [asyncio.create_task(lane.run("attacker", "c", lambda i=i: unit(i))) for i in range(1, 6)]
        for _ in range(20):
            await asyncio.sleep(0)
        assert ran == [0], "a unit started within a unit's length of the held slot"
        lane.release()  # authored
        assert await asyncio.gather(*tasks) == [1, 2, 3, 4, 5]
    finally:
        await lane.stop()


@pytest.mark.asyncio
async def test_a_hold_far_ahead_does_not_stop_the_lane_and_an_unreleased_hold_ends_at_its_limit() -> None:
    clock = FakeClock()
    lane = CallLane(share=1.0, clock=clock)
    lane.start()
    try:
        lane.hold(at=clock.now + 5, until=clock.now + 6)  # a slot 5 s away: units run meanwhile
        assert await lane.run("a", "c", lambda: 1) == 1
        lane.hold(at=clock.now, until=clock.now + 0.01)  # never released (an author that failed): real time limit
        clock.now += 0.02
        assert await asyncio.wait_for(lane.run("a", "c", lambda: 2), 5) == 2
    finally:
        await lane.stop()


def test_the_lead_before_a_slot_is_bounded_by_the_hold() -> None:
    lane = CallLane()
    lane._recent.extend([30.0, 0.01])  # one pathological unit does not hold the lane for 30 s before every slot
    assert lane.lead(0.5) == 0.5
    lane.hold(at=100.0, until=100.5)
    assert lane._hold == (99.5, 100.5)
