"""The perturbation schedule: a manifest's perturbations as timed actions on nodes and on the network.

Each perturbation becomes a window (label, start, end, nodes it takes out) and one or two actions:
- kill:       SIGKILL at `at`, start again at `at + for`
- pause:      SIGSTOP at `at`, SIGCONT at `at + for`
- disconnect: the node's link down at `at`, up at `at + for`
- restart:    SIGTERM, wait for a clean exit, start again (at once)
- clock:      restart with the clock skewed by `skew_ms` at `at`; restart with the true clock at `at + for`. The
              node is not taken out: a skewed clock must cost it neither its peers nor its votes (checks.py holds
              it to that), so its window names it as `skewed`, not `affected`.
- partition:  `prohibit` routes between the two groups at `at`, removed at `at + for`; an aligned one (`align =
              "epoch"`) at the first epoch boundary, less `lead_ms`, at or after `at`: placed once the runner knows
              how long after the chain's genesis the run started (`build_schedule(manifest, genesis_offset_s)`).
              A partition that leaves neither side 2/3 of the stake `stalls` finality: its window takes nobody out
              (the outage rule and the progress check skip it; the resume check holds the network to the manifest's
              bound after the heal).

A node with `join_at` is no perturbation: its `join` action (no window: `window = -1`) starts it mid-run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from btt_chain.testnet.manifest import Manifest, Partition

ACTIONS = ("kill", "start", "stop", "cont", "link_down", "link_up", "restart", "skew", "unskew", "partition", "heal",
           "join")


@dataclass(frozen=True)
class Action:
    at_s: float
    action: str
    """One of ACTIONS."""
    nodes: tuple[str, ...]
    """The node acted on; for partition/heal the first group."""
    other: tuple[str, ...] = ()
    """partition/heal: the second group."""
    skew_ms: int = 0
    window: int = 0
    """Index of the window this action opens or closes; -1: none (join)."""
    precise: bool = False
    """Placed at an epoch boundary (an aligned partition's start): the runner sleeps to it exactly and takes no
    sample just before it."""


@dataclass(frozen=True)
class Window:
    label: str
    """e.g. `kill v0` or `partition v0,v1 | v2,v3`."""
    start_s: float
    end_s: float
    affected: tuple[str, ...]
    """Nodes out of the network (or, for a partition, the smaller side) while it lasts."""
    skewed: tuple[str, ...] = ()
    """clock: the node whose clock is off (it stays in the network)."""
    skew_ms: int = 0
    sides: tuple[tuple[str, ...], ...] = ()
    """partition: its two groups."""
    stalls: bool = False
    """partition: neither side holds 2/3 of the stake, so finality stops until the heal."""
    epoch: int | None = None
    """aligned partition, once placed: the epoch at whose first slot it is aimed (it starts `lead_ms` before)."""
    lead_ms: int = 0


def place_partition(part: Partition, epoch_ms: int, genesis_offset_s: float | None) -> tuple[float, int | None]:
    """(start in run seconds, aligned epoch) of a partition. Aligned, with the run's start `genesis_offset_s` after the
    chain's genesis: the first epoch K whose boundary, less `lead_ms`, is at or after `at`; unplaced (offset None): at
    `at`, epoch None."""
    if not part.align_epoch or genesis_offset_s is None:
        return part.at_s, None
    offset_ms = round(genesis_offset_s * 1000)
    earliest_ms = round(part.at_s * 1000) + part.lead_ms + offset_ms  # since genesis
    epoch = max(1, math.ceil(earliest_ms / epoch_ms))
    return (epoch * epoch_ms - part.lead_ms - offset_ms) / 1000, epoch


def build_schedule(manifest: Manifest, genesis_offset_s: float | None = None) -> tuple[list[Action], list[Window]]:
    """Every action in time order (ties keep closing actions first), and the windows they belong to.

    `genesis_offset_s`: how long after the chain's genesis the run started (run second 0), which places aligned
    partitions at their epoch boundary; None (before the run) leaves them at their `at`."""
    actions: list[Action] = []
    windows: list[Window] = []
    for node in manifest.nodes:
        for p in node.perturbations:
            w = len(windows)
            end = p.at_s + p.for_s
            one = (node.name,)
            if p.kind == "clock":
                windows.append(Window(f"clock {node.name} {p.skew_ms:+d} ms", p.at_s, end, (), one, p.skew_ms))
            else:
                windows.append(Window(f"{p.kind} {node.name}", p.at_s, end, one))
            if p.kind == "kill":
                actions += [Action(p.at_s, "kill", one, window=w), Action(end, "start", one, window=w)]
            elif p.kind == "pause":
                actions += [Action(p.at_s, "stop", one, window=w), Action(end, "cont", one, window=w)]
            elif p.kind == "disconnect":
                actions += [Action(p.at_s, "link_down", one, window=w), Action(end, "link_up", one, window=w)]
            elif p.kind == "restart":
                actions.append(Action(p.at_s, "restart", one, window=w))
            elif p.kind == "clock":
                actions += [Action(p.at_s, "skew", one, skew_ms=p.skew_ms, window=w),
                            Action(end, "unskew", one, window=w)]
            else:  # manifest parsing allows no other kind
                raise ValueError(f"unknown perturbation {p.kind!r}")
    for node in manifest.joining:
        assert node.join_at_s is not None
        actions.append(Action(node.join_at_s, "join", (node.name,), window=-1))
    epoch_ms = manifest.epoch_slots * manifest.slot_ms
    for part in manifest.partitions:
        w = len(windows)
        a, b = part.groups
        smaller = a if len(a) <= len(b) else b
        start, epoch = place_partition(part, epoch_ms, genesis_offset_s)
        windows.append(Window(f"partition {','.join(a)} | {','.join(b)}", start, start + part.for_s, smaller,
                              sides=(a, b), stalls=manifest.stalls_finality(part), epoch=epoch, lead_ms=part.lead_ms))
        actions += [Action(start, "partition", a, b, window=w, precise=part.align_epoch),
                    Action(start + part.for_s, "heal", a, b, window=w)]
    closing = {"start", "cont", "link_up", "unskew", "heal"}
    actions.sort(key=lambda a: (a.at_s, a.action not in closing))
    return actions, windows


def overlapping_validator_outages(manifest: Manifest, windows: list[Window]) -> list[str]:
    """Moments when validators holding a third or more of the stake are out at once (finality must stall then:
    a manifest that does this tests nothing the checks could pass), as readable lines."""
    stake = {n.name: n.stake for n in manifest.validators}
    total = sum(stake.values())
    problems = []
    windows = [w for w in windows if not w.stalls]  # meant to stop finality; the manifest lets nothing overlap them
    for w in windows:  # the most windows are open at once just after one of them opens
        overlapping = [o for o in windows if o.start_s <= w.start_s < o.end_s or o is w]
        out = {name for o in overlapping for name in o.affected if name in stake}
        if out and 3 * sum(stake[n] for n in out) >= total:
            problems.append(f"{w.label} at {w.start_s:g}-{w.end_s:g} s: validators {', '.join(sorted(out))} "
                            "(a third of the stake or more) are out at once")
    return problems
