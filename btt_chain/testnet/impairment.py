"""When the validators a run's perturbations impair hold a third of the stake or more, together, as the runner saw
it: the spans in which finality may stop without any one perturbation being at fault.

A manifest never takes two validators out at once by its schedule, but what the schedule cannot see still adds up:
- a restart (its own, or the one that applies or ends a clock skew) takes its node out until it answers again, which
  on a busy machine is 10-20 s, not the moment the schedule names;
- a kill, a pause or a cut link takes it out until it answers again after the window, not at the window's end;
- a validator whose clock is off by a slot or more authors every block outside its slot (late blocks fork the chain,
  early ones are held), so epochs whose checkpoint it authors split the others' votes.

`stalling_spans` puts these together, per validator, and returns the spans in which the impaired validators hold a
third of the stake or more. `check_finality_progress` counts such a span as a stall the network is entitled to, and
holds a window overlapping it to finality moving again within a bound after the span ends, as a stalling partition
is held to its resume bound."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from btt_chain.testnet.perturbations import Window

if TYPE_CHECKING:
    from btt_chain.testnet.checks import Sample


@dataclass(frozen=True)
class Impairment:
    """One validator impaired from `start_s` to `end_s` (math.inf: it never answered again), and why."""

    node: str
    start_s: float
    end_s: float
    why: str


@dataclass(frozen=True)
class StallingSpan:
    """A span in which the impaired validators held a third of the stake or more."""

    start_s: float
    end_s: float
    nodes: tuple[str, ...]

    def label(self) -> str:
        end = "the end of the run" if math.isinf(self.end_s) else f"{self.end_s:g} s"
        return f"{', '.join(self.nodes)} impaired together {self.start_s:g} s - {end}"


def answered_again(samples: Sequence[Sample], node: str, after_s: float, not_before_s: float) -> float:
    """The first moment after `after_s`, and not before `not_before_s`, at which `node` answered; math.inf if never."""
    times = [s.t_s for s in samples
             if s.node == node and s.head is not None and s.t_s > after_s and s.t_s >= not_before_s]
    return min(times, default=math.inf)


def impairments(samples: Sequence[Sample], windows: Sequence[Window], stake: Mapping[str, int],
                slot_s: float) -> list[Impairment]:
    """Each validator's impairments in the run (see the module's doc). A stalling partition is left out: it is held to
    its own bound, and it impairs nobody in particular."""
    out: list[Impairment] = []
    for w in windows:
        if w.stalls:
            continue
        for node in w.affected:
            if node not in stake:
                continue
            if w.sides:  # a partition's smaller side: out until the heal, answering throughout
                out.append(Impairment(node, w.start_s, w.end_s, w.label))
                continue
            back = answered_again(samples, node, w.start_s, w.end_s)
            out.append(Impairment(node, w.start_s, back, f"{w.label}, until it answered again"))
        for node in w.skewed:
            if node not in stake:
                continue
            for at, what in ((w.start_s, "the restart that applied its skew"),
                             (w.end_s, "the restart that ended its skew")):
                out.append(Impairment(node, at, answered_again(samples, node, at, at), f"{what}, until it answered"))
            if abs(w.skew_ms) >= slot_s * 1000:
                out.append(Impairment(node, w.start_s, w.end_s, f"{w.label}: a slot or more off"))
    return out


def stalling_spans(samples: Sequence[Sample], windows: Sequence[Window], stake: Mapping[str, int],
                   slot_s: float) -> list[StallingSpan]:
    """The spans, in time order, in which the impaired validators held a third of the total stake or more."""
    total = sum(stake.values())
    spans = impairments(samples, windows, stake, slot_s)
    moments = sorted({x for imp in spans for x in (imp.start_s, imp.end_s) if not math.isinf(x)})
    out: list[StallingSpan] = []
    for i, t in enumerate(moments):  # the impaired set is constant between consecutive moments
        following = moments[i + 1] if i + 1 < len(moments) else math.inf
        nodes = {imp.node for imp in spans if imp.start_s <= t < imp.end_s}
        if total == 0 or 3 * sum(stake[n] for n in nodes) < total:
            continue
        if out and out[-1].end_s == t:  # one span while a third or more stays impaired
            merged = tuple(sorted(set(out[-1].nodes) | nodes))
            out[-1] = StallingSpan(out[-1].start_s, following, merged)
        else:
            out.append(StallingSpan(t, following, tuple(sorted(nodes))))
    return out
