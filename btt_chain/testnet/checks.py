"""The end-of-run checks, as pure functions over what the runner observed (so tests can feed them fabricated
observations, failing ones included). Each returns a `Check`: a name, passed or not, and readable lines."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from btt_chain.primitives.amounts import format_btt
from btt_chain.testnet.impairment import stalling_spans
from btt_chain.testnet.perturbations import Window


@dataclass(frozen=True)
class Sample:
    """One node's state at one moment (None fields: the node did not answer)."""

    t_s: float
    node: str
    head: int | None
    finalized: int | None
    peers: int | None


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    lines: tuple[str, ...] = ()


@dataclass
class TxRecord:
    """A transfer the load generator sent."""

    hash: str
    node: str
    sent_s: float
    outcome: str = "pending"
    """accepted states: `pending` (watching), `ready`, `in_block`, `finalized`; endings reported to the client:
    `dropped`, `usurped`, `invalid`, `lost` (the node closed the watch: it was killed or cut off); `rejected`
    (the node refused it at submission: never accepted); `unacknowledged` (the submission got no answer: the node
    was paused, killed or cut off; it may still have pooled the transfer, so it may be included, but once at most)."""
    detail: str = ""


REPORTED_ENDINGS = ("dropped", "usurped", "invalid", "lost")


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1)))))
    return ordered[rank]


def check_one_chain(finalized: Mapping[str, int | None], hash_at_common: Mapping[str, str | None],
                    warp_bases: Mapping[str, int] | None = None) -> Check:
    """Every node's canonical block at the lowest common finalized height is the same block. `warp_bases`: node ->
    the block it was warp-synced at (it holds none below): a common height below it is said to be why it has none."""
    missing = sorted(n for n, f in finalized.items() if f is None)
    if missing:
        return Check("one finalized chain", False, (f"no finalized head from {', '.join(missing)}",))
    common = min(f for f in finalized.values() if f is not None)
    if common == 0:
        stuck = sorted(n for n, f in finalized.items() if f == 0)
        return Check("one finalized chain", False, (f"never finalized a block after genesis: {', '.join(stuck)}",))
    hashes = {n: h for n, h in hash_at_common.items()}
    distinct = {h for h in hashes.values()}
    if None in distinct or len(distinct) != 1:
        by_hash: dict[str, list[str]] = {}
        for n, h in sorted(hashes.items()):
            by_hash.setdefault(str(h), []).append(n)
        lines = [f"at height {common}: {h[:18]} on {', '.join(ns)}" for h, ns in by_hash.items()]
        lines += [f"{n} was warp-synced at #{base}: it holds no block at #{common}"
                  for n, base in sorted((warp_bases or {}).items()) if hashes.get(n) is None and common < base]
        return Check("one finalized chain", False, tuple(lines))
    (only,) = distinct
    spread = f"finalized heights {min(finalized.values())}..{max(finalized.values())}"  # type: ignore[type-var]
    line = f"all {len(hashes)} nodes have {str(only)[:18]} at #{common}; {spread}"
    return Check("one finalized chain", True, (line,))


def _finalized_max(samples: Sequence[Sample], t_from: float, t_to: float, exclude: set[str]) -> int | None:
    values = [s.finalized for s in samples
              if t_from <= s.t_s <= t_to and s.node not in exclude and s.finalized is not None]
    return max(values) if values else None


def check_finality_progress(samples: Sequence[Sample], windows: Sequence[Window], grace_s: float, *,
                            stake: Mapping[str, int], slot_s: float, epoch_s: float) -> Check:
    """For every perturbation window, the nodes it did not take out finalized a higher block by `grace_s` after
    the window closed than when it opened. A partition that stalls finality (no side holds 2/3 of the stake) is
    skipped: `check_finality_resumed` holds it to the manifest's bound.

    `stake`: validator node -> stake (empty: no allowance): where the run's impairments together held a third of the
    stake or more (`impairment.stalling_spans`: restarts until the node answered again, clocks a slot or more off),
    finality may stop; a window overlapping such a span is held instead to finality moving by `grace_s` plus one
    epoch (the epoch under way when the validators came back) after the span ended."""
    spans = stalling_spans(samples, windows, stake, slot_s)
    lines = []
    ok = True
    for w in windows:
        if w.stalls:
            lines.append(f"{w.label} ({w.start_s:g}-{w.end_s:g} s): no side holds 2/3 of the stake, so finality "
                         "stops until the heal: held to the resume bound instead")
            continue
        deadline = w.end_s + grace_s
        overlapping: list[str] = []
        for span in spans:  # in time order: a span that extends the deadline may reach the next one
            if span.start_s <= deadline and span.end_s >= w.start_s:
                deadline = max(deadline, span.end_s + grace_s + epoch_s)
                overlapping.append(span.label())
        why = f" (deadline {deadline:g} s: {'; '.join(overlapping)})" if overlapping else ""
        before = _finalized_max(samples, w.start_s - grace_s, w.start_s, set(w.affected))
        after = _finalized_max(samples, w.start_s, deadline, set(w.affected))
        if before is None or after is None:
            ok = False
            lines.append(f"{w.label} ({w.start_s:g}-{w.end_s:g} s): no samples from the other nodes{why}")
        elif after <= before:
            ok = False
            lines.append(f"{w.label} ({w.start_s:g}-{w.end_s:g} s): finality stuck at #{before}{why}")
        else:
            lines.append(f"{w.label} ({w.start_s:g}-{w.end_s:g} s): finalized #{before} -> #{after}{why}")
    if not windows:
        lines.append("no perturbations scheduled")
    return Check("finality advanced through every perturbation", ok, tuple(lines))


@dataclass(frozen=True)
class LagFigures:
    p50_blocks: float
    max_blocks: float
    p50_during_blocks: float | None
    max_during_blocks: float | None


def finality_lag(samples: Sequence[Sample], windows: Sequence[Window]) -> LagFigures | None:
    """Lag of a node = the highest head any node reported at that moment minus the node's finalized height.
    Over all answering samples, and over the samples of unaffected nodes inside a perturbation window."""
    by_time: dict[float, list[Sample]] = {}
    for s in samples:
        by_time.setdefault(s.t_s, []).append(s)
    lags: list[float] = []
    during: list[float] = []
    for t, group in by_time.items():
        heads = [s.head for s in group if s.head is not None]
        if not heads:
            continue
        top = max(heads)
        for s in group:
            if s.finalized is None:
                continue
            lag = float(top - s.finalized)
            lags.append(lag)
            if any(w.start_s <= t <= w.end_s and s.node not in w.affected for w in windows):
                during.append(lag)
    if not lags:
        return None
    return LagFigures(percentile(lags, 50), max(lags), percentile(during, 50) if during else None,
                      max(during) if during else None)


def check_no_equivocation(evidence: Sequence[str]) -> Check:
    """No node equivocated: the chain holds no equivocation evidence (any validator reports a double block, double
    vote or surround vote it sees as an `evidence.report_*` extrinsic, so one seen is one included)."""
    if evidence:
        return Check("no equivocation by an honest node", False, tuple(evidence[:20]))
    return Check("no equivocation by an honest node", True, ("no equivocation evidence in the chain",))


def kept_share(now: int, before: int) -> str:
    """`now` as a share of `before`, to the hundredth of a percent (rounded down): '99.97%'."""
    bps = now * 10_000 // before if before else 0
    return f"{bps // 100}.{bps % 100:02d}%"


def bond_changes(expected: Mapping[str, int], bonds: Mapping[str, int] | None) -> list[str]:
    """Validators whose bond is not what genesis gave them, with the share they kept (compute slashing and
    missed-deadline fees of a validator that also mines show here: not equivocation, but an operator wants to
    know)."""
    if bonds is None:
        return ["could not read the validators' bonds"]
    lines = []
    for account, want in sorted(expected.items()):
        bond = bonds.get(account)
        if bond is None:
            lines.append(f"{account}: no bond (genesis {format_btt(want)} BTT)")
        elif bond != want:
            lines.append(f"{account}: bond {format_btt(bond)} BTT (genesis {format_btt(want)} BTT): "
                         f"{kept_share(bond, want)} kept")
    return lines


def provider_lines(providers: Sequence[Mapping[str, Any]] | None, genesis_bonds: Mapping[str, int]) -> list[str]:
    """Each compute provider's record (`btt_providers` rows): work done, deadlines missed, frauds, and its bond
    against its genesis bond where it validates."""
    if providers is None:
        return ["could not read the compute providers"]
    lines = []
    for p in sorted(providers, key=lambda row: str(row["account"])):
        stats, bond = p["stats"], int(p["bond"])
        before = genesis_bonds.get(p["account"])
        kept = "" if before is None else f" of {format_btt(before)} in genesis ({kept_share(bond, before)} kept)"
        lines.append(f"{p['account']}: {stats['assigned']} assigned, {stats['completed']} completed, "
                     f"{stats['failed']} deadlines missed, {stats['frauds']} frauds; bond {format_btt(bond)} BTT"
                     f"{kept}")
    return lines or ["no compute provider registered"]


def check_issuance(issuance: Mapping[str, Mapping[str, str] | None]) -> Check:
    """At every node's head: total issuance = genesis supply - total burned."""
    lines = []
    ok = True
    for node, figures in sorted(issuance.items()):
        if figures is None:
            ok = False
            lines.append(f"{node}: no answer")
            continue
        total, burned, supply = (int(figures[k]) for k in ("totalIssuance", "totalBurned", "genesisSupply"))
        if total != supply - burned:
            ok = False
            lines.append(f"{node}: issuance {total} != genesis supply {supply} - burned {burned}")
    if ok:
        lines.append(f"holds at the head of all {len(issuance)} nodes")
    return Check("issuance invariant", ok, tuple(lines))


@dataclass(frozen=True)
class TxSummary:
    sent: int
    accepted: int
    included: int
    reported: int
    rejected: int
    problems: tuple[str, ...] = field(default=())
    unacknowledged: int = 0


def check_transfers(records: Sequence[TxRecord], inclusions: Mapping[str, int]) -> tuple[Check, TxSummary]:
    """Every accepted transfer is in the chain exactly once, or the client was told it was dropped."""
    problems = []
    included = reported = rejected = unacknowledged = 0
    sent: set[str] = set()
    for r in records:
        count = inclusions.get(r.hash, 0)
        again = r.hash in sent  # the very same bytes sent before (a nonce read again from a node behind, the same
        sent.add(r.hash)  # era): refused as known or stale, its one inclusion is the first sending's
        if r.outcome == "rejected":
            rejected += 1
            if count and not again:
                problems.append(f"{r.hash[:18]} was refused at submission but is included {count}x")
            continue
        if r.outcome == "unacknowledged":
            unacknowledged += 1
            if count > 1:
                problems.append(f"{r.hash[:18]} (never acknowledged) is included {count} times")
            continue
        if count > 1:
            problems.append(f"{r.hash[:18]} is included {count} times")
        elif count == 1:
            included += 1
        elif r.outcome in REPORTED_ENDINGS:
            reported += 1
        elif r.outcome in ("in_block", "finalized"):
            problems.append(f"{r.hash[:18]} (sent to {r.node}) was reported {r.outcome.replace('_', ' ')} but is not "
                            "in the chain")
        else:
            problems.append(f"{r.hash[:18]} (sent to {r.node} at {r.sent_s:.0f} s) is neither included nor "
                            f"reported dropped (last status {r.outcome})")
    accepted = len(records) - rejected - unacknowledged
    summary = TxSummary(len(records), accepted, included, reported, rejected, tuple(problems), unacknowledged)
    head = (f"{summary.sent} sent, {summary.accepted} accepted: {included} included once, {reported} reported "
            f"dropped to the client; {rejected} refused at submission")
    if unacknowledged:
        head += f"; {unacknowledged} unanswered (node paused or cut off; none included twice)"
    reasons = sorted({r.detail for r in records if r.outcome == "rejected" and r.detail})
    if reasons:
        head += f" ({'; '.join(reasons[:3])})"
    return Check("transfers included once or reported", not problems, (head, *problems[:20])), summary


def check_connected(final_peers: Mapping[str, int | None]) -> Check:
    """Every node has at least one peer at the end."""
    alone = sorted(n for n, p in final_peers.items() if not p)
    if alone:
        return Check("every node has peers", False, (f"no peers: {', '.join(alone)}",))
    counts = sorted(p for p in final_peers.values() if p)
    return Check("every node has peers", True, (f"peers per node {counts[0]}..{counts[-1]}",))


# clock perturbations --------------------------------------------------------------------------------------------

TIMING_WORDS = ("future", "ahead of our clock", "before its slot", "clock", "too far ahead")
"""Words in a ban's reason that say it was about time, not misbehaviour (none of this code's bans should)."""


@dataclass(frozen=True)
class BanEvent:
    """A ban one node logged (`banned PEER for N s: REASON`), at run time `t_s`."""

    t_s: float
    node: str
    """The node that banned."""
    peer: str
    """The node banned (its name), or its peer id when it is none of ours."""
    reason: str


def is_timing_reason(reason: str) -> bool:
    lowered = reason.lower()
    return any(word in lowered for word in TIMING_WORDS)


def clock_windows(windows: Sequence[Window]) -> list[Window]:
    return [w for w in windows if w.skewed]


def check_no_ban_from_clocks(bans: Sequence[BanEvent], windows: Sequence[Window], grace_s: float) -> Check:
    """No ban for a timing reason anywhere, and no ban by or of a clock-skewed node from its skew's start until
    `grace_s` after it ended (it misbehaves in no other way, so any such ban is the clock's doing)."""
    lines = []
    bad: list[BanEvent] = []
    for b in bans:
        caused = [w.label for w in clock_windows(windows)
                  if w.start_s <= b.t_s <= w.end_s + grace_s and {b.node, b.peer} & set(w.skewed)]
        if caused or is_timing_reason(b.reason):
            bad.append(b)
            why = f"during {', '.join(caused)}" if caused else "for a timing reason"
            lines.append(f"{b.t_s:.0f} s: {b.node} banned {b.peer} {why}: {b.reason}")
    if not bad:
        lines.append(f"{len(bans)} bans in the run, none by or of a skewed node nor for a timing reason"
                     + (": " + "; ".join(f"{b.node} banned {b.peer}: {b.reason}" for b in bans[:5]) if bans else ""))
    return Check("no ban caused by a clock", not bad, tuple(lines[:20]))


def _skew_span(w: Window, join_s: float) -> tuple[float, float]:
    """The part of a clock window the checks hold the node to: from `join_s` after its restart to the restart that
    ends the skew."""
    return w.start_s + join_s, w.end_s


def check_clock_peers(samples: Sequence[Sample], windows: Sequence[Window], join_s: float) -> Check:
    """A clock-skewed node keeps at least one peer at every sample from `join_s` after its restart until the skew
    ends (and answers at all)."""
    lines = []
    ok = True
    for w in clock_windows(windows):
        lo, hi = _skew_span(w, join_s)
        if lo >= hi:
            lines.append(f"{w.label}: ends within clock_join_s ({join_s:g} s) of its restart: not held to it")
            continue
        for name in w.skewed:
            seen = [s for s in samples if s.node == name and lo <= s.t_s < hi]
            if not seen:
                ok = False
                lines.append(f"{w.label}: no sample of {name} between {lo:g} and {hi:g} s (window shorter than "
                             "clock_join_s?)")
                continue
            alone = [s for s in seen if not s.peers]
            if alone:
                ok = False
                first = alone[0]
                lines.append(f"{w.label}: {name} had {'no answer' if first.peers is None else '0 peers'} at "
                             f"{first.t_s:g} s ({len(alone)} of {len(seen)} samples)")
            else:
                peers = [s.peers for s in seen if s.peers is not None]
                lines.append(f"{w.label}: {name} kept {min(peers)}..{max(peers)} peers over {len(seen)} samples")
    if not lines:
        lines.append("no clock perturbation")
    return Check("clock-skewed nodes keep their peers", ok, tuple(lines))


def check_clock_lag(samples: Sequence[Sample], windows: Sequence[Window], join_s: float, bound: int) -> Check:
    """A clock-skewed node's finality lag (the best head any node reported at that moment minus its finalized
    height) stays within `bound` blocks from `join_s` after its restart until the skew ends."""
    heads: dict[float, int] = {}
    for s in samples:
        if s.head is not None:
            heads[s.t_s] = max(heads.get(s.t_s, s.head), s.head)
    lines = []
    ok = True
    for w in clock_windows(windows):
        lo, hi = _skew_span(w, join_s)
        if lo >= hi:
            lines.append(f"{w.label}: ends within clock_join_s ({join_s:g} s) of its restart: not held to it")
            continue
        for name in w.skewed:
            lags = [(heads[s.t_s] - s.finalized, s.t_s) for s in samples
                    if s.node == name and lo <= s.t_s < hi and s.finalized is not None and s.t_s in heads]
            if not lags:
                ok = False
                lines.append(f"{w.label}: no finalized height from {name} between {lo:g} and {hi:g} s")
                continue
            worst, at = max(lags)
            if worst > bound:
                ok = False
            lines.append(f"{w.label}: {name}'s finality lag max {worst} blocks (at {at:g} s), p50 "
                         f"{percentile([lag for lag, _ in lags], 50):g}; bound {bound}")
    if not lines:
        lines.append("no clock perturbation")
    return Check("clock-skewed nodes' finality within the bound", ok, tuple(lines))


# partitions: the heal, the fork race at an epoch boundary, finality's resumption ---------------------------------


@dataclass(frozen=True)
class ChainView:
    """One node's chain at a partition's heal (taken just before the heal)."""

    node: str
    head: int | None
    """Its head's number; None: the node did not answer."""
    head_slot: int | None = None
    head_hash: str | None = None
    checkpoints: Mapping[int, str] = field(default_factory=dict)
    """Aligned partition: epoch -> the hash (0x-hex) of that epoch's checkpoint on the node's chain (the block with the
    highest slot below the epoch's first slot), for the aligned epoch up to its head's epoch."""


@dataclass(frozen=True)
class HealPoint:
    """What the runner saw at a partition's heal."""

    window: Window
    t_s: float
    """Run time of the heal."""
    views: tuple[ChainView, ...]

    @property
    def height(self) -> int | None:
        """The heal point: the highest head any node had (every block above it was authored after the heal)."""
        heads = [v.head for v in self.views if v.head is not None]
        return max(heads) if heads else None


@dataclass(frozen=True)
class VoteEvent:
    """A finality vote a validator's node logged (`voted S -> T`), at run time `t_s`; hashes as logged (0x + 16 hex)."""

    t_s: float
    node: str
    source_epoch: int
    source: str
    target_epoch: int
    target: str


def short_hash(h: str) -> str:
    """A block hash as node logs print a checkpoint's: 0x and 16 hex digits."""
    return h[:18]


def _span(values: Sequence[int]) -> str:
    return f"{min(values)}" if min(values) == max(values) else f"{min(values)}..{max(values)}"


def _fork_race_lines(h: HealPoint, votes: Sequence[VoteEvent], validators: set[str], epoch_slots: int,
                     ) -> tuple[bool, list[str]]:
    w = h.window
    assert w.epoch is not None
    epoch, boundary = w.epoch, w.epoch * epoch_slots
    views = {v.node: v for v in h.views}
    lines = [f"{w.label}: from {w.start_s:.1f} s, {w.lead_ms} ms before epoch {epoch} (slot {boundary}); healed at "
             f"{h.t_s:.1f} s"]
    ok = True
    sides = [tuple(side) for side in w.sides]
    silent = sorted(n for side in sides for n in side if views.get(n) is None or views[n].head is None)
    if silent:
        return False, [*lines, f"no chain from {', '.join(silent)} at the heal: cannot tell whether the race happened"]
    # each side's checkpoints, by epoch, as short hashes
    own: list[dict[int, set[str]]] = []
    for side in sides:
        by_epoch: dict[int, set[str]] = {}
        for n in side:
            for e, cp in views[n].checkpoints.items():
                by_epoch.setdefault(e, set()).add(short_hash(cp))
        own.append(by_epoch)
    for i, side in enumerate(sides):
        names = ", ".join(side)
        slots = [views[n].head_slot or 0 for n in side]
        heads = [views[n].head or 0 for n in side]
        cps = sorted(own[i].get(epoch, set()))
        other = own[1 - i].get(epoch, set())
        line = (f"  {names}: head #{_span(heads)} (slot {_span(slots)}); checkpoint of epoch {epoch}: "
                f"{', '.join(cps) or 'none'}")
        if min(slots) < boundary:
            ok = False
            late = ", ".join(n for n in side if (views[n].head_slot or 0) < boundary)
            line += f"; FAIL: {late} built no block past the boundary (slot {boundary}) during the partition"
        if not cps:
            ok = False
            line += f"; FAIL: no checkpoint of epoch {epoch} read"
        elif set(cps) & other:
            ok = False
            line += f"; FAIL: the other side has the same checkpoint of epoch {epoch}: no race"
        side_votes = []
        for n in side:
            if n not in validators:
                continue
            mine = [v for v in votes if v.node == n and w.start_s <= v.t_s <= h.t_s and v.target_epoch >= epoch]
            counted = [v for v in mine if v.target in own[i].get(v.target_epoch, set())
                       and v.target not in own[1 - i].get(v.target_epoch, set())]
            if counted:
                v = counted[0]
                side_votes.append(f"{n} {v.source_epoch}:{v.source} -> {v.target_epoch}:{v.target}")
            else:
                ok = False
                seen = "; ".join(f"{v.target_epoch}:{v.target}" for v in mine) or "none"
                side_votes.append(f"{n} FAIL: no vote for its own side's checkpoint during the partition "
                                  f"(targets voted: {seen})")
        if side_votes:
            line += "; votes: " + ", ".join(side_votes)
        lines.append(line)
    return ok, lines


def check_fork_race(heals: Sequence[HealPoint], votes: Sequence[VoteEvent], validators: set[str],
                    epoch_slots: int) -> Check:
    """For every partition aligned to an epoch boundary: the race the manifest means to force happened. At the heal,
    every node of each side had a head past the boundary (its side built on after it), the two sides' checkpoints of
    the boundary's epoch differ (no node of one side has the other's), and every validator voted during the partition
    for a checkpoint (of that epoch or a later one) that only its own side has (its node's `voted` log line)."""
    ok = True
    lines: list[str] = []
    for h in heals:
        if h.window.epoch is None:
            continue
        good, more = _fork_race_lines(h, votes, validators, epoch_slots)
        ok = ok and good
        lines += more
    if not lines:
        lines.append("no partition aligned to an epoch boundary")
    return Check("fork race at the epoch boundary", ok, tuple(lines))


@dataclass(frozen=True)
class Resumption:
    """How finality came back after one heal."""

    heal: HealPoint
    reached: Mapping[str, float | None]
    """node -> the first sample time at which its finalized block was above the heal point (None: never)."""

    @property
    def resume_s(self) -> float | None:
        """Seconds from the heal until every node had finalized past the heal point (None: some node never did)."""
        if not self.reached or any(t is None for t in self.reached.values()):
            return None
        return max(t for t in self.reached.values() if t is not None) - self.heal.t_s


def finality_resumption(samples: Sequence[Sample], heal: HealPoint) -> Resumption:
    height = heal.height
    reached: dict[str, float | None] = {}
    for v in heal.views:
        reached[v.node] = None
        if height is None:
            continue
        for s in samples:
            if s.node == v.node and s.t_s >= heal.t_s and s.finalized is not None and s.finalized > height:
                reached[v.node] = s.t_s
                break
    return Resumption(heal, reached)


def check_finality_resumed(samples: Sequence[Sample], heals: Sequence[HealPoint], bound_epochs: int,
                           epoch_s: float) -> Check:
    """After every partition's heal, every node's finalized block passed the heal point (the highest head any node had
    at the heal) within `bound_epochs` epochs."""
    bound_s = bound_epochs * epoch_s
    ok = True
    lines = []
    for heal in heals:
        w = heal.window
        r = finality_resumption(samples, heal)
        height = heal.height
        head = f"{w.label} healed at {heal.t_s:g} s"
        if height is None:
            ok = False
            lines.append(f"{head}: no node answered at the heal")
            continue
        head += f" with heads up to #{height}"
        never = sorted(n for n, t in r.reached.items() if t is None)
        if never:
            ok = False
            for n in never:
                last = [s for s in samples if s.node == n and s.finalized is not None]
                tail = f" (last finalized #{last[-1].finalized} at {last[-1].t_s:g} s)" if last else " (no answer)"
                lines.append(f"{head}: {n} never finalized past #{height}{tail}; bound {bound_epochs} epochs "
                             f"({bound_s:g} s)")
            continue
        took = r.resume_s
        assert took is not None
        slowest = max(r.reached, key=lambda n: r.reached[n] or 0.0)
        verdict = "within" if took <= bound_s else "OVER"
        if took > bound_s:
            ok = False
        lines.append(f"{head}: every node finalized past #{height} {took:.1f} s ({took / epoch_s:.1f} epochs) after "
                     f"the heal (last: {slowest}), {verdict} the bound of {bound_epochs} epochs ({bound_s:g} s)")
    if not heals:
        lines.append("no partition healed")
    return Check(f"finality resumed after every partition within {bound_epochs} epochs", ok, tuple(lines))


# nodes that join mid-run (`join_at`, `sync = "warp" | "full"`) ---------------------------------------------------


@dataclass(frozen=True)
class WarpLog:
    """One warp sync a joining node began, from its log lines (run times; None: that line never came)."""

    started_s: float
    """`warp sync: peer id ...`: the warp's child process is up."""
    proof_s: float | None = None
    fragments: int | None = None
    proof_target: int | None = None
    """`warp proof verified: F fragments to block #N`."""
    done_s: float | None = None
    target: int | None = None
    target_hash: str | None = None
    keys: int | None = None
    state_mb: float | None = None
    received_mb: float | None = None
    took_s: float | None = None
    """`warp sync done: block #N 0x.. with K keys (S MB of state, R MB received) in T s`."""


@dataclass(frozen=True)
class JoinObservation:
    """What the runner saw of one node that joined mid-run."""

    node: str
    sync: str
    """warp | full."""
    join_at_s: float
    up_s: float | None
    """Run time of its first RPC answer after the join (None: never)."""
    starts: tuple[float, ...]
    """Run times of every start of its process: the join, then each restart."""
    warps: tuple[WarpLog, ...]
    """Every warp sync it began, in time order."""
    resumed: tuple[float, ...]
    """Run times of its `the database holds a chain already` lines: a start with --sync warp that did not warp."""
    rpc_base: int | None
    """The block its RPC names as its warp target (`chain_getBlockHash(1)`: "warp-synced at block #N"); 0: it serves
    block 1 (it holds the whole chain); None: no answer."""
    skipped: tuple[str, ...] = ()
    """Its perturbations the runner skipped: due before it answered RPC."""
    penalties: tuple[str, ...] = ()
    """The score penalties it gave its peers (`T s: PEER by N: REASON`): told, not failed (every peer here is honest,
    so each is a false accusation worth a look, but a ban is what the other checks judge)."""


def caught_up_at(samples: Sequence[Sample], node: str, after_s: float, lag_blocks: int) -> float | None:
    """The first sample time at or after `after_s` at which `node` answered with its head within `lag_blocks` of the
    best head any node reported at that sample (None: never)."""
    tops = _best_heads(samples)
    for s in samples:
        if s.node == node and s.t_s >= after_s and s.head is not None and s.head >= tops[s.t_s] - lag_blocks:
            return s.t_s
    return None


def _best_heads(samples: Sequence[Sample]) -> dict[float, int]:
    tops: dict[float, int] = {}
    for s in samples:
        if s.head is not None:
            tops[s.t_s] = max(tops.get(s.t_s, s.head), s.head)
    return tops


def _warp_lines(j: JoinObservation) -> tuple[bool, list[str]]:
    """Whether `j` warped exactly once, to the block its RPC names, and never again at a later start."""
    if not j.warps:
        return False, [f"{j.node}: never began a warp sync (no `warp sync: peer id` line)"]
    first = j.warps[0]
    done = [w for w in j.warps if w.done_s is not None]
    if not done:
        proof = ("no proof verified" if first.proof_s is None else
                 f"proof of {first.fragments} fragments to #{first.proof_target} verified at {first.proof_s:g} s")
        return False, [f"{j.node}: its warp sync never finished ({proof}; no `warp sync done` line)"]
    w = done[0]
    assert w.done_s is not None
    ok = True
    proof = ("no proof line" if w.proof_s is None else
             f"warp proof of {w.fragments} fragments to #{w.proof_target} verified at {w.proof_s:g} s")
    lines = [f"{j.node}: {proof}; state of #{w.target} {w.target_hash} ({w.keys or 0:,} keys, {w.state_mb} MB; "
             f"{w.received_mb} MB received) written at {w.done_s:g} s, {w.took_s} s after the warp began"]
    if w.proof_s is None or w.proof_target != w.target:
        ok = False
        lines.append(f"{j.node}: FAIL: the warp done at #{w.target} had no verified proof to that block")
    if len(j.warps) > 1:
        again = [v for v in j.warps if v.started_s > w.done_s]
        before = [v for v in j.warps if v.started_s < w.started_s]
        if again:
            ok = False
            lines.append(f"{j.node}: FAIL: warped again after its warp was done, at "
                         f"{', '.join(f'{v.started_s:g} s' for v in again)}")
        if before:
            lines.append(f"{j.node}: {len(before)} warp attempt(s) before the one that finished")
    if j.rpc_base != w.target:
        ok = False
        lines.append(f"{j.node}: FAIL: its RPC names #{j.rpc_base} as its warp target, the log #{w.target}"
                     if j.rpc_base else f"{j.node}: FAIL: its RPC does not say it was warp-synced at #{w.target} "
                     f"({'no answer' if j.rpc_base is None else 'it serves block 1'})")
    later = [t for t in j.starts if t > w.done_s]
    resumed = [t for t in j.resumed if t > w.done_s]
    if later:
        if len(resumed) < len(later):
            ok = False
            lines.append(f"{j.node}: FAIL: {len(later)} later starts ({', '.join(f'{t:g} s' for t in later)}), "
                         f"{len(resumed)} resumed from its database")
        else:
            lines.append(f"{j.node}: started {len(later)} more time(s) ({', '.join(f'{t:g} s' for t in later)}): "
                         "each resumed from its database, none warped again")
    return ok, lines


def check_joins_synced(joins: Sequence[JoinObservation], samples: Sequence[Sample], sync_s: float,
                       lag_blocks: int) -> Check:
    """Every node that joined mid-run answered RPC and had its head within `lag_blocks` of the best head within
    `sync_s` of its `join_at`. A warp node also warped exactly once (its proof verified, then its state written, to the
    block its RPC names as its warp target) and never again at a restart; a full-sync node serves block 1. None of its
    perturbations was skipped for want of being synced."""
    ok = True
    lines: list[str] = []
    for j in joins:
        if j.up_s is None:
            ok = False
            tail = ""
            if j.sync == "warp":
                tail = "; " + "; ".join(_warp_lines(j)[1])
            lines.append(f"{j.node}: joined at {j.join_at_s:g} s ({j.sync} sync) and never answered RPC{tail}")
            continue
        caught = caught_up_at(samples, j.node, j.join_at_s, lag_blocks)
        head = f"{j.node}: joined at {j.join_at_s:g} s ({j.sync} sync), answered RPC at {j.up_s:g} s, "
        if caught is None:
            ok = False
            head += f"FAIL: never within {lag_blocks} blocks of the best head"
        else:
            took = caught - j.join_at_s
            head += (f"within {lag_blocks} blocks of the best head at {caught:g} s: synced {took:.1f} s after joining "
                     f"(bound {sync_s:g} s)")
            if took > sync_s:
                ok = False
                head += "; FAIL: over the bound"
        lines.append(head)
        if j.sync == "warp":
            good, more = _warp_lines(j)
            ok = ok and good
            lines += more
        elif j.warps or j.rpc_base != 0:
            ok = False
            lines.append(f"{j.node}: FAIL: a full-sync node " + ("warped" if j.warps else
                         "does not serve block 1" if j.rpc_base else "did not answer for block 1"))
        for what in j.skipped:
            ok = False
            lines.append(f"{j.node}: FAIL: {what}")
        if j.penalties:
            lines.append(f"{j.node} penalised its peers {len(j.penalties)} times (information; all are honest): "
                         + "; ".join(j.penalties[:4]) + ("; ..." if len(j.penalties) > 4 else ""))
    if not joins:
        lines.append("no node joined mid-run")
    return Check("nodes that joined mid-run synced", ok, tuple(lines))


def check_joins_follow(joins: Sequence[JoinObservation], samples: Sequence[Sample], windows: Sequence[Window],
                       lag_blocks: int, catch_up_s: float, grace_s: float) -> Check:
    """Once synced, a joined node's head stays within `lag_blocks` of the best head any node reported at the same
    sample. Its own perturbations are spared from their start until it is within the bound again, which must be within
    `catch_up_s` of their end; a partition, until `grace_s` after its heal (the best head may be on the other side).
    Unanswered samples are counted, not failed (a node that stops answering fails the end-of-run checks)."""
    tops = _best_heads(samples)
    ok = True
    lines: list[str] = []
    for j in joins:
        caught = caught_up_at(samples, j.node, j.join_at_s, lag_blocks)
        if caught is None:
            ok = False
            lines.append(f"{j.node}: never within {lag_blocks} blocks of the best head")
            continue
        exempt = [(w.start_s, w.end_s + grace_s) for w in windows if w.sides]
        spans = []  # (label, out from, back at): a clock perturbation is two restarts with the node up between them
        for w in windows:
            if w.sides:
                continue  # a partition: spared by its grace
            if j.node in w.affected:
                spans.append((w.label, w.start_s, w.end_s))
            elif j.node in w.skewed:
                spans += [(f"{w.label} (start)", w.start_s, w.start_s), (f"{w.label} (end)", w.end_s, w.end_s)]
        back = []
        for label, lo, hi in sorted(spans, key=lambda span: span[1]):
            again = caught_up_at(samples, j.node, hi, lag_blocks)
            if again is None or again - hi > catch_up_s:
                ok = False
                lines.append(f"{j.node}: FAIL: not within {lag_blocks} blocks of the best head within {catch_up_s:g} s "
                             f"after the {label} at {hi:g} s" + ("" if again is None else f" (only at {again:g} s)"))
            exempt.append((lo, hi + catch_up_s if again is None else again))
            if again is not None:
                back.append(f"{again - hi:.1f} s after the {label}")
        held = [s for s in samples if s.node == j.node and s.t_s >= caught
                and not any(lo <= s.t_s < hi for lo, hi in exempt)]
        answered = [s for s in held if s.head is not None and s.t_s in tops]
        if not answered:
            ok = False
            lines.append(f"{j.node}: no answered sample after {caught:g} s outside its perturbations")
            continue
        lags = [(tops[s.t_s] - (s.head or 0), s.t_s) for s in answered]
        worst, at = max(lags)
        over = [(lag, t) for lag, t in lags if lag > lag_blocks]
        line = (f"{j.node}: from {caught:g} s, {len(answered)} samples: head lag p50 "
                f"{percentile([lag for lag, _ in lags], 50):g}, max {worst} blocks (at {at:g} s); bound {lag_blocks}")
        if back:
            line += f"; back within it {', '.join(back)}"
        if len(held) > len(answered):
            line += f"; {len(held) - len(answered)} samples unanswered"
        if over:
            ok = False
            line += f"; FAIL: over the bound at {len(over)} samples, first at {over[0][1]:g} s"
        last = max(answered, key=lambda s: s.t_s)
        line += f"; last head #{last.head}, finalized #{last.finalized} at {last.t_s:g} s"
        lines.append(line)
    if not joins:
        lines.append("no node joined mid-run")
    return Check("nodes that joined mid-run follow the best head", ok, tuple(lines))


@dataclass(frozen=True)
class StateComparison:
    """A joined node's state at a block both it and a reference node (one that holds the whole chain) finalized."""

    node: str
    reference: str
    number: int
    block_hash: str | None
    """The reference's block at `number` (None: it did not answer)."""
    roots: Mapping[str, str | None]
    """node -> the state root in its header at `number` (every node that holds that block; None: no answer)."""
    keys: int = 0
    """Keys compared (the reference's)."""
    differences: tuple[str, ...] = ()
    """Keys whose value (by hash) differs or that one side lacks, as readable lines."""
    error: str | None = None
    """Why the state could not be compared."""


def check_joins_agree(joins: Sequence[JoinObservation], finalized_hashes: Mapping[str, Mapping[int, Mapping[str,
                      str | None]]], states: Sequence[StateComparison]) -> Check:
    """A joined node agrees with the others: at every height compared (from its warp target to the finalized height
    it shares with each other node) it has the same block as every other node that holds that height, and at a
    common finalized block every node's header has the same state root and its state equals a reference node's key
    for key (values compared by hash)."""
    ok = True
    lines: list[str] = []
    by_node = {s.node: s for s in states}
    for j in joins:
        compared = finalized_hashes.get(j.node, {})
        mine_missing = sorted(h for h, row in compared.items() if row.get(j.node) is None)
        disagree = []
        for height, row in sorted(compared.items()):
            ours = row.get(j.node)
            other = sorted((n, h) for n, h in row.items() if n != j.node and h is not None and h != ours)
            if ours is not None and other:
                disagree.append(f"#{height}: {j.node} has {ours[:18]}, " + ", ".join(f"{n} {h[:18]}" for n, h in other))
        peers = sorted({n for row in compared.values() for n, h in row.items() if n != j.node and h is not None})
        if not compared:
            ok = False
            lines.append(f"{j.node}: no finalized height compared")
        elif mine_missing or disagree:
            ok = False
            if mine_missing:
                lines.append(f"{j.node}: FAIL: no block at finalized #{', #'.join(map(str, mine_missing))}")
            lines += [f"{j.node}: FAIL: {d}" for d in disagree[:10]]
        else:
            heights = sorted(compared)
            lines.append(f"{j.node}: the same blocks as {', '.join(peers) or 'nobody (no other node answered)'} at "
                         f"{len(heights)} finalized heights #{heights[0]}..#{heights[-1]}")
            if not peers:
                ok = False
        st = by_node.get(j.node)
        if st is None:
            ok = False
            lines.append(f"{j.node}: its state was not compared")
            continue
        roots = {n: r for n, r in st.roots.items()}
        distinct = {r for r in roots.values() if r is not None}
        silent = sorted(n for n, r in roots.items() if r is None)
        if st.error is not None:
            ok = False
            lines.append(f"{j.node}: FAIL: state at #{st.number} not compared with {st.reference}'s: {st.error}")
        elif st.differences:
            ok = False
            lines.append(f"{j.node}: FAIL: its state at #{st.number} differs from {st.reference}'s at "
                         f"{len(st.differences)} of {st.keys} keys")
            lines += [f"  {d}" for d in st.differences[:10]]
        if len(distinct) != 1 or roots.get(j.node) is None:
            ok = False
            by_root: dict[str, list[str]] = {}
            for n, r in sorted(roots.items()):
                by_root.setdefault(str(r)[:18], []).append(n)
            lines.append(f"{j.node}: FAIL: state roots at #{st.number}: "
                         + "; ".join(f"{r} on {', '.join(ns)}" for r, ns in by_root.items()))
        elif st.error is None and not st.differences:
            (root,) = distinct
            lines.append(f"{j.node}: at #{st.number} the state root {root[:18]} on {len(roots) - len(silent)} nodes"
                         + (f" ({', '.join(silent)} did not answer)" if silent else "")
                         + f"; its state equals {st.reference}'s key for key ({st.keys:,} keys)")
    if not joins:
        lines.append("no node joined mid-run")
    return Check("nodes that joined mid-run agree on finalized blocks and state", ok, tuple(lines))
