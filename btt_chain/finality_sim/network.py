"""The simulated network and clock: an event queue in ticks, and when (or whether) a message arrives.

Before GST a message between honest nodes is lost when a partition separates them or with the schedule's drop rate,
and otherwise arrives after 1..max_delay ticks, so messages overtake one another; from GST on nothing is lost and every
message arrives within one slot (1..slot_ticks - 1 ticks), and a message sent before GST arrives by GST plus one slot
at the latest. Scripted delay rules hold messages until a given tick instead. The Byzantine validators' own messages
are never lost and arrive 1..slot_ticks - 1 ticks after they choose to send them.

Every draw hashes the schedule's seed with the message's identity (block hash, vote signature, or the puller and the
tick of a sync) and its two ends, so removing one event from a schedule does not reshuffle the delays of the others.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable

from btt_chain.finality_sim.draws import draw
from btt_chain.finality_sim.schedule import Schedule

# event priorities within one tick: deliveries, node restarts, leaders, pulls, then the Byzantine validators (rushing)
DELIVER, RESTART, LEAD, PULL, ADVERSARY = range(5)


class Network:
    def __init__(self, schedule: Schedule) -> None:
        self.schedule = schedule
        self.now = 0
        self._queue: list[tuple[int, int, int, Callable[[], None]]] = []
        self._seq = 0
        self._group: list[tuple[int, int, dict[int, int]]] = [
            (p.start, p.end, {n: g for g, members in enumerate(p.groups) for n in members})
            for p in schedule.partitions
        ]

    # the clock ---------------------------------------------------------------------------------------------
    def at(self, tick: int, priority: int, action: Callable[[], None]) -> None:
        self._seq += 1
        heapq.heappush(self._queue, (tick, priority, self._seq, action))

    def run(self, until: int) -> None:
        """Run the events of ticks below `until`."""
        queue = self._queue
        while queue and queue[0][0] < until:
            tick, _, _, action = heapq.heappop(queue)
            self.now = tick
            action()

    # messages ----------------------------------------------------------------------------------------------
    def draw(self, *parts: bytes | int | str) -> int:
        """A 64-bit number fixed by the seed and `parts`."""
        return draw(self.schedule.seed, *parts)

    def reachable(self, a: int, b: int, tick: int) -> bool:
        """No partition separates nodes `a` and `b` at `tick` (a node in no group of a partition is alone)."""
        for start, end, group in self._group:
            if start <= tick < end and (group.get(a, -1 - a) != group.get(b, -1 - b)):
                return False
        return True

    def arrival(self, kind: str, uid: bytes, src: int, dst: int) -> int | None:
        """When a message from honest node `src` sent now reaches `dst`; None: it is lost."""
        s, now = self.schedule, self.now
        if not self.reachable(src, dst, now):
            return None
        for rule in s.delays:
            if rule.kind == kind and src in rule.senders and dst in rule.receivers and rule.start <= now <= rule.end:
                return max(now + 1, rule.arrive)
        x = self.draw(kind, uid, src, dst)
        if now >= s.gst_tick:
            return now + 1 + x % (s.slot_ticks - 1)
        if x % 1000 < s.drop_permille:
            return None
        return min(now + 1 + (x >> 16) % s.max_delay, s.gst_tick + s.slot_ticks - 1)

    def adversary_arrival(self, uid: bytes, dst: int, send: int) -> int:
        """When a Byzantine message sent at tick `send` (now or later) reaches `dst`."""
        return send + 1 + self.draw("byzantine", uid, dst, send) % (self.schedule.slot_ticks - 1)
