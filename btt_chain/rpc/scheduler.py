"""The RPC lane: every piece of RPC work (parsing a message, one call, rendering a block for subscribers) runs
here, one at a time, fair between clients, under a share of the event loop.

RPC handlers read the node synchronously on the event loop that also authors and imports blocks. The lane is
what makes "authoring and import never wait on RPC" hold by construction rather than by each method's good
manners:

- Only the lane's one task runs RPC work, so at most one unit is on the loop at any moment. After each unit
  the lane hands the loop back, so a slot that starts, a block that arrives or a vote waits for at most one
  unit; every method has a cost bound (pages, items scanned), so that unit is short.
- When clients keep it busy, the lane takes at most `share` of the loop's time: after a unit that took d
  seconds it rests d·(1 − share)/share before the next, leaving the rest to the node and the p2p thread.
- Clients are served by start-time fair queuing, first between client addresses, then between the
  connections of one address: a client's next unit starts after the work it has already had, so a wallet
  that sends one cheap call goes before an address that keeps a hundred expensive ones queued.
- Around this node's own slots the lane holds (`hold`, `release`): the author loop asks it to start no unit from
  a little before its slot (the longest of the last units, up to half a slot, so that one already running ends in
  time) until its block is authored. On a busy machine a unit takes several times its CPU time, and a unit that
  started just before the slot held the author past the slot's first half (the explorer's heaviest calls in a loop
  made a node miss five slots in a row that way).
- A unit whose client has gone away is never run (`alive()` is asked first), and a connection's queue holds
  one message at a time (the server reads the next message only after answering the last), so a client that
  leaves costs nothing more.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")

DEFAULT_SHARE = 0.6
"""Largest share of the event loop's time the lane takes while clients keep it busy."""
MAX_REST_S = 0.25
"""Longest rest after one unit (a unit should never be that long; this keeps a slow one from idling the lane)."""
RECENT_UNITS = 32
"""The last units whose longest wall time is the lead before a held slot."""
MAX_QUEUED = 4096
"""Units queued at once over all clients; past it a new unit is refused (the client gets a server-busy error)."""


class ClientGone(Exception):
    """The client that queued this unit went away before it ran."""


class LaneBusy(Exception):
    """The lane's queue is full: try again later."""


@dataclass
class _Flow:
    """One client's queue with its start-time fair queuing tags."""

    key: Any
    items: list[Any] = field(default_factory=list)
    start: float = 0.0
    finish: float = 0.0


class FairQueue(Generic[T]):
    """Start-time fair queuing over flows: `pop` takes the head of the backlogged flow with the smallest start
    tag; `charge(key, cost)` after serving it moves that flow's tags on by what it cost.

    A flow that was idle starts at the current virtual time, never earlier, so idling earns no credit and a
    newcomer waits for at most the flows that are exactly as far along as it is."""

    def __init__(self) -> None:
        self._flows: dict[Any, _Flow] = {}
        self._virtual = 0.0
        self._order = 0

    def __len__(self) -> int:
        return sum(len(f.items) for f in self._flows.values())

    def push(self, key: Any, item: T) -> None:
        flow = self._flows.get(key)
        if flow is None:
            flow = self._flows[key] = _Flow(key, finish=self._virtual)
        if not flow.items:
            flow.start = max(self._virtual, flow.finish)
        flow.items.append(item)

    def pop(self) -> tuple[Any, T] | None:
        best: _Flow | None = None
        for flow in self._flows.values():
            if flow.items and (best is None or flow.start < best.start):
                best = flow
        if best is None:
            return None
        self._virtual = best.start
        return best.key, best.items.pop(0)

    def charge(self, key: Any, cost: float) -> None:
        flow = self._flows.get(key)
        if flow is None:
            return
        flow.finish = flow.start + cost
        flow.start = flow.finish
        if not flow.items and flow.finish <= self._virtual:
            del self._flows[key]  # caught up: nothing to remember

    def flows(self) -> int:
        return len(self._flows)

    def purge(self) -> None:
        """Forget idle flows that the virtual time has passed (they would start at the virtual time anyway)."""
        for key in [k for k, f in self._flows.items() if not f.items and f.finish <= self._virtual]:
            del self._flows[key]


@dataclass(eq=False)
class _Unit:
    fn: Callable[[], Any]
    future: asyncio.Future[Any]
    alive: Callable[[], bool]
    connection: Any


class CallLane:
    """Runs RPC work units one at a time, fair between client addresses and their connections."""

    def __init__(self, share: float = DEFAULT_SHARE, max_queued: int = MAX_QUEUED,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        if not 0.05 <= share <= 1.0:
            raise ValueError(f"share must be from 0.05 to 1, got {share}")
        self.share = share
        self.max_queued = max_queued
        self.clock = clock
        self._addresses: FairQueue[FairQueue[_Unit]] = FairQueue()
        self._per_address: dict[str, FairQueue[_Unit]] = {}
        self._scheduled: set[str] = set()
        """Addresses with units waiting in `_addresses` (an address being served is not in it)."""
        self._queued = 0
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self.units_run = 0
        self.busy_seconds = 0.0
        self.longest_unit_s = 0.0
        self.skipped_gone = 0
        self.held_seconds = 0.0
        self._recent: deque[float] = deque(maxlen=RECENT_UNITS)
        self._hold: tuple[float, float] | None = None
        """(from, until) on `clock`: no unit starts in that span unless released first."""
        self._released: asyncio.Event | None = None
        self._unit_started: float | None = None
        self._spans: deque[tuple[float, float]] = deque(maxlen=RECENT_UNITS)

    def __len__(self) -> int:
        return self._queued

    # lifecycle ---------------------------------------------------------------------------------------
    def start(self) -> None:
        if self._task is None:
            self._wake = asyncio.Event()
            self._released = asyncio.Event()
            self._task = asyncio.create_task(self._serve(), name="rpc-lane")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        for queue in self._per_address.values():
            while (popped := queue.pop()) is not None:
                unit = popped[1]
                if not unit.future.done():
                    unit.future.set_exception(ClientGone("the node is stopping"))
        self._per_address.clear()
        self._scheduled.clear()
        self._addresses = FairQueue()
        self._queued = 0

    # the node's own slots ----------------------------------------------------------------------------
    def lead(self, most: float) -> float:
        """How long before a held time the lane stops starting units: the longest of its last units (one that
        starts then ends about in time; on a busy machine a unit takes several times its CPU time), at most
        `most`."""
        return min(max(self._recent, default=0.0), most)

    def hold(self, at: float, until: float) -> None:
        """Start no unit from `at` - `lead()` until `release()`, or `until` at the latest (times on `clock`): the
        node needs the event loop at `at` (its slot's start) and gives it back when done. The lead is at most
        `until` - `at` (half a slot: the node's own work comes first, and RPC keeps the rest of the slot)."""
        self._hold = (at - self.lead(until - at), until)

    def held_up(self, start: float, end: float) -> bool:
        """Whether a unit kept the event loop from the node at a moment `start` (on `clock`), or started between
        `start` and `end`: one running at `start` (now or among the last units), or one started within."""
        if self._unit_started is not None and self._unit_started <= end:
            return True
        return any(a <= start < b or start <= a < end for a, b in self._spans)

    def release(self) -> None:
        self._hold = None
        if self._released is not None:
            self._released.set()

    async def _wait_for_release(self) -> None:
        while self._hold is not None:
            begin, until = self._hold
            now = self.clock()
            if now >= until:
                self._hold = None
                return
            if now < begin:
                return
            assert self._released is not None
            self._released.clear()
            try:
                await asyncio.wait_for(self._released.wait(), until - now)
            except TimeoutError:
                pass
            self.held_seconds += self.clock() - now

    # submitting --------------------------------------------------------------------------------------
    async def run(self, address: str, connection: Any, fn: Callable[[], T],
                  alive: Callable[[], bool] = lambda: True) -> T:
        """Queue `fn` for the client at `address` on `connection` and wait for its result (or its exception).

        Raises ClientGone if `alive()` says the client left before its turn, LaneBusy if the queue is full.
        Without a started lane (tests, tools) the unit runs at once."""
        if self._task is None:
            return fn()
        if self._queued >= self.max_queued:
            raise LaneBusy(f"the node's RPC queue is full ({self.max_queued} calls waiting): try again later")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        unit = _Unit(fn, future, alive, connection)
        queue = self._per_address.get(address)
        if queue is None:
            queue = self._per_address[address] = FairQueue()
        queue.push(connection, unit)
        if address not in self._scheduled:
            self._scheduled.add(address)
            self._addresses.push(address, queue)
        self._queued += 1
        assert self._wake is not None
        self._wake.set()
        try:
            return await future
        finally:
            if not future.done():  # the caller was cancelled (its connection closed): never run the unit
                future.cancel()

    def _purge(self) -> None:
        self._addresses.purge()
        for address, queue in list(self._per_address.items()):
            queue.purge()
            if queue.flows() == 0 and address not in self._scheduled:
                del self._per_address[address]

    # serving -----------------------------------------------------------------------------------------
    def _next(self) -> tuple[str, FairQueue[_Unit], Any, _Unit] | None:
        popped = self._addresses.pop()
        if popped is None:
            return None
        address, queue = popped
        self._scheduled.discard(address)
        inner = queue.pop()
        if inner is None:  # pragma: no cover - an address is queued only while it has units
            return None
        self._queued -= 1
        connection, unit = inner
        return address, queue, connection, unit

    async def _serve(self) -> None:
        assert self._wake is not None
        served = 0
        while True:
            picked = self._next()
            if picked is None:
                self._wake.clear()
                await self._wake.wait()
                continue
            address, queue, connection, unit = picked
            if self._hold is not None:
                await self._wait_for_release()
            cost = 0.0
            if unit.future.done():
                pass  # cancelled by its caller
            elif not unit.alive():
                self.skipped_gone += 1
                unit.future.set_exception(ClientGone("the client went away"))
            else:
                started = self._unit_started = self.clock()
                try:
                    result = unit.fn()
                except BaseException as exc:  # handed to the caller, whatever it is
                    if not unit.future.done():
                        unit.future.set_exception(exc)
                else:
                    if not unit.future.done():
                        unit.future.set_result(result)
                ended = self.clock()
                self._spans.append((started, ended))
                self._unit_started = None
                cost = ended - started
                self.units_run += 1
                self.busy_seconds += cost
                self.longest_unit_s = max(self.longest_unit_s, cost)
                self._recent.append(cost)
            queue.charge(connection, cost)
            self._addresses.charge(address, cost)
            if len(queue) and address not in self._scheduled:
                self._scheduled.add(address)
                self._addresses.push(address, queue)
            elif queue.flows() == 0:
                self._per_address.pop(address, None)
            served += 1
            if served % 1024 == 0:
                self._purge()
            rest = min(cost * (1 - self.share) / self.share, MAX_REST_S)
            await asyncio.sleep(rest if rest >= 0.0005 else 0)
