"""The properties every run must keep, measured on its `Outcome`.

Offences are judged by account: votes signed by two keys of one validator (a key rotated on one fork only) are one
validator's pair, and stake is counted by account.

(S) Safety. Conflicting finalized checkpoints (neither on the other's chain, in the tree of every block made) held by
honest nodes, at any time of the run, are a violation in an honest-majority schedule. In a >= 1/3 Byzantine schedule
they must be accountable: `find_equivocations` over the votes of the justifications behind both (each one's
finalizing link and the chain of justifications back from it to genesis, as the nodes that finalized them applied
them) must name validators holding at least 1/3 - d of the stake of the set of epoch f + 1, where f is the lower
finalized epoch and d is the churn between that set and the sets of epochs f .. the highest target among those
justifications (`validators`: two 2/3 supermajorities of sets d apart share 1/3 - d). An alarm (`FinalityConflict`)
raised by an honest tracker is a violation in an honest-majority schedule, and must carry such evidence (its
`offenders()`, measured the same way) in a >= 1/3 Byzantine one.

(A) The alarm fires. In a >= 1/3 Byzantine schedule, every honest node that finalized a checkpoint conflicting with one
another honest node finalized, both at least ALARM_EPOCHS before the end of the run and both still held (not lost by a
restore that lost every file), has raised the alarm by the end.

(H) Honest validators never sign a slashable pair (`find_equivocations` over all their votes is empty) nor a link whose
source is not the checkpoint of its epoch on the target's chain. Each node's finalized checkpoint only moves forward
along one chain.

(L) Liveness, in honest-majority schedules: every honest node finalizes a checkpoint of an epoch above the GST epoch
by the end of epoch GST + LIVENESS_BOUND. The delay of a run is the largest, over honest nodes, of (the epoch in which
it did) - (the GST epoch).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from btt_chain.consensus.accountability import find_equivocations, votes_of
from btt_chain.finality_sim.engine import Outcome
from btt_chain.finality_sim.validators import ONE_THIRD
from btt_chain.primitives.vote import Checkpoint, Justification

LIVENESS_BOUND = 12
"""B, in epochs after the GST epoch (see `checks` and the campaign's figures for what runs measure)."""
ALARM_EPOCHS = 2
"""Epochs a node has to learn of a conflicting finalized checkpoint before the end of the run (A)."""


@dataclass(frozen=True)
class Violation:
    kind: str
    """conflict | unaccountable-conflict | alarm | unaccountable-alarm | silent-conflict | honest-slashable |
    honest-off-chain | finality-regressed | liveness | false-doppelganger"""
    detail: str


@dataclass(frozen=True)
class Verdict:
    violations: tuple[Violation, ...]
    conflicts: int
    """Pairs of conflicting checkpoints finalized by honest nodes."""
    alarms: int
    """Alarms raised by honest trackers."""
    coverage: Fraction | None
    """The smallest offender stake fraction over the conflicts and alarms (None: none)."""
    margin: Fraction | None
    """The smallest (offender stake fraction - the fraction required) over them (negative: a violation)."""
    delay: int | None
    """Finality delay after GST in epochs (honest-majority runs in which every node got there)."""
    epochs: int
    conflicted_nodes: int = 0
    """Honest nodes that finalized a checkpoint conflicting with another honest node's (in time to learn of it)."""
    alarmed_nodes: int = 0
    """Of those, the nodes that raised the alarm."""
    coverages: tuple[Fraction, ...] = ()
    """The offender stake fraction of every conflict and alarm (the convicted share)."""


def check(outcome: Outcome) -> Verdict:
    violations: list[Violation] = []
    coverages: list[tuple[Fraction, Fraction]] = []
    honest_majority = not outcome.schedule.byzantine_third
    conflicts = _check_conflicts(outcome, honest_majority, violations, coverages)
    alarms = _check_alarms(outcome, honest_majority, violations, coverages)
    conflicted, alarmed = _check_alarms_fire(outcome, violations) if not honest_majority else (0, 0)
    _check_honest_votes(outcome, violations)
    _check_forward(outcome, violations)
    for n, refused in outcome.refusals.items():
        violations.append(Violation("false-doppelganger", f"node {n} refused to sign for good: {refused}"))
    delay = _check_liveness(outcome, violations) if honest_majority else None
    return Verdict(tuple(violations), conflicts, alarms, min((got for got, _ in coverages), default=None),
                   min((got - required for got, required in coverages), default=None), delay, outcome.epochs_run,
                   conflicted, alarmed, tuple(got for got, _ in coverages))


def evidence_fraction(outcome: Outcome, a: Checkpoint, b: Checkpoint,
                      justifications: list[Justification]) -> tuple[Fraction, Fraction]:
    """(offender stake fraction, the fraction required) for conflicting finalized `a` and `b` (module docstring)."""
    sets = outcome.setup.sets
    low = min(a.epoch, b.epoch)
    offenders = find_equivocations(votes_of(justifications), sets.owner_of)
    top = max((j.target.epoch for j in justifications), default=low + 1)
    required = ONE_THIRD - sets.churn(low + 1, low, max(top, low + 1))
    return sets.stake_fraction(low + 1, offenders), required


def _behind(outcome: Outcome, node: int, cp: Checkpoint) -> list[Justification]:
    """The justifications behind `node`'s finalized `cp`: its finalizing link and the chain back to genesis."""
    record = outcome.records[node]
    found = [record.finalizing[cp]] if cp in record.finalizing else []
    while cp.epoch > 0 and cp in record.justified_by:
        j = record.justified_by[cp]
        found.append(j)
        cp = j.source
    return found


def _check_conflicts(outcome: Outcome, honest_majority: bool, violations: list[Violation],
                     coverages: list[tuple[Fraction, Fraction]]) -> int:
    first: dict[Checkpoint, int] = {}
    for n, record in outcome.records.items():
        for _, cp in record.finalized:
            first.setdefault(cp, n)
    cps = sorted(first, key=lambda c: (c.epoch, c.block_hash))
    count = 0
    for i, a in enumerate(cps):
        for b in cps[i + 1:]:
            if not outcome.tree.conflicting(a, b):
                continue
            count += 1
            if honest_majority:
                violations.append(Violation("conflict", f"node {first[a]} finalized {a}, node {first[b]} {b}"))
                continue
            behind = _behind(outcome, first[a], a) + _behind(outcome, first[b], b)
            got, required = evidence_fraction(outcome, a, b, behind)
            coverages.append((got, required))
            if got < required:
                violations.append(Violation("unaccountable-conflict",
                                            f"{a} and {b}: offenders hold {float(got):.3f} < {float(required):.3f}"))
    return count


def _check_alarms(outcome: Outcome, honest_majority: bool, violations: list[Violation],
                  coverages: list[tuple[Fraction, Fraction]]) -> int:
    count = 0
    for n, record in outcome.records.items():
        # an alarm's record grows as the justifications behind it arrive: its last one is what the node keeps
        for _, alarm in record.alarms[-1:]:
            count += 1
            if honest_majority:
                violations.append(Violation("alarm", f"node {n}: {alarm.describe()}"))
                continue
            got, required = evidence_fraction(outcome, alarm.finalized, alarm.conflicting,
                                              list(alarm.justifications))
            coverages.append((got, required))
            if got < required:
                violations.append(Violation("unaccountable-alarm",
                                            f"node {n}: offenders hold {float(got):.3f} < {float(required):.3f}"))
    return count


def _check_alarms_fire(outcome: Outcome, violations: list[Violation]) -> tuple[int, int]:
    """(A): (nodes that should have raised the alarm, nodes that did)."""
    s = outcome.schedule
    deadline = (outcome.epochs_run - ALARM_EPOCHS) * s.epoch_ticks
    # what each node still holds finalized: a restore that lost every file lost what it knew before (nobody honest may
    # then hold the other side's justifications to learn it from)
    early = {n: [cp for t, cp in r.finalized[(r.resets or [0])[-1]:] if t < deadline]
             for n, r in outcome.records.items()}
    conflicted: set[int] = set()
    for n, mine in early.items():
        for m, theirs in early.items():
            if m != n and any(outcome.tree.conflicting(a, b) for a in mine for b in theirs):
                conflicted.add(n)
                break
    alarmed = {n for n in conflicted if outcome.records[n].alarms}
    for n in sorted(conflicted - alarmed):
        violations.append(Violation("silent-conflict", f"node {n} finalized {outcome.finalized[n]}, which conflicts "
                                    "with another honest node's finalized checkpoint, and raised no alarm"))
    return len(conflicted), len(alarmed)


def _check_honest_votes(outcome: Outcome, violations: list[Violation]) -> None:
    votes = [v for record in outcome.records.values() for v in record.votes]
    for key, pair in find_equivocations(votes, outcome.setup.sets.owner_of).items():
        violations.append(Violation("honest-slashable", f"0x{key.hex()[:16]}: {pair.kind} "
                                    f"{pair.vote_a.source} -> {pair.vote_a.target}, "
                                    f"{pair.vote_b.source} -> {pair.vote_b.target}"))
    for v in votes:
        if not outcome.tree.is_on_chain(v.source, v.target):
            violations.append(Violation("honest-off-chain", f"0x{v.validator.hex()[:16]}: {v.source} -> {v.target}"))


def _check_forward(outcome: Outcome, violations: list[Violation]) -> None:
    for n, record in outcome.records.items():
        lives = [0, *record.resets, len(record.finalized)]
        pairs = [pair for a, b in zip(lives, lives[1:], strict=False)
                 for pair in zip(record.finalized[a:b], record.finalized[a + 1:b], strict=False)]
        for (_, before), (_, after) in pairs:
            if after.epoch <= before.epoch or not outcome.tree.is_on_chain(before, after):
                violations.append(Violation("finality-regressed", f"node {n}: {before} then {after}"))


def _check_liveness(outcome: Outcome, violations: list[Violation]) -> int | None:
    s = outcome.schedule
    if s.epochs < s.gst_epoch + LIVENESS_BOUND + 1:
        return None  # too short a run to judge
    delays = []
    for n in outcome.records:
        tick = outcome.records[n].finalized_past(s.gst_epoch)
        if tick is None or tick // s.epoch_ticks > s.gst_epoch + LIVENESS_BOUND:
            violations.append(Violation("liveness", f"node {n} finalized {outcome.finalized[n]} only, "
                                        f"{LIVENESS_BOUND} epochs after GST epoch {s.gst_epoch}"))
            return None
        delays.append(max(0, tick // s.epoch_ticks - s.gst_epoch))
    return max(delays)
