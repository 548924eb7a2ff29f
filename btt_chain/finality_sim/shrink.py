"""Shrinking: from a failing schedule, a smaller one that still fails the same way, to replay and read.

Greedy: try shorter runs, then drop chunks of every event list (halves first, then smaller, down to single events),
then whole validators (with every event naming them), observers, and the drop rate and delays; keep any candidate
that is still well formed and still fails, and start over, until nothing smaller fails or the budget of runs is
spent. The draws hash the seed with each event's identity, so what is left keeps its delays and leaders.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace

from btt_chain.finality_sim.schedule import OBSERVER_BASE, Schedule

LISTS = ("partitions", "restarts", "rotations", "delays", "block_actions", "vote_actions", "set_changes", "leaders")


def shrink(schedule: Schedule, fails: Callable[[Schedule], bool], budget: int = 400) -> Schedule:
    """The smallest schedule found that `fails` (`schedule` itself must)."""
    runs = 0
    improved = True
    while improved and runs < budget:
        improved = False
        for candidate in _candidates(schedule):
            if candidate.problems():
                continue
            runs += 1
            if fails(candidate):
                schedule, improved = candidate, True
                break
            if runs >= budget:
                break
    return schedule


def size(s: Schedule) -> int:
    """What shrinking reduces: events, validators, observers and epochs."""
    return sum(len(getattr(s, name)) for name in LISTS) + len(s.validators) + s.observers + s.epochs


def _candidates(s: Schedule) -> Iterator[Schedule]:
    for epochs in (s.gst_epoch + 1, (s.epochs + s.gst_epoch) // 2, s.epochs - 1):
        if s.gst_epoch < epochs < s.epochs:
            yield replace(s, epochs=epochs)
    for name in LISTS:
        items = getattr(s, name)
        chunk = len(items) // 2
        while chunk >= 1:
            for start in range(0, len(items), chunk):
                yield replace(s, **{name: items[:start] + items[start + chunk:]})
            chunk //= 2
    for v in sorted((v.index for v in s.validators), reverse=True):
        yield s.without_validator(v)
    if s.observers > 1:
        gone = OBSERVER_BASE + s.observers - 1
        yield replace(
            s, observers=s.observers - 1,
            restarts=tuple(r for r in s.restarts if r.node != gone),
            partitions=tuple(replace(p, groups=tuple(tuple(n for n in g if n != gone) for g in p.groups))
                             for p in s.partitions),
        )
    if s.drop_permille:
        yield replace(s, drop_permille=0)
    if s.max_delay > 1:
        yield replace(s, max_delay=max(1, s.max_delay // 2))
