"""The two attacks of the finality issue, scripted on the simulation's engine: four validators of equal bond, one
observer, leaders chosen slot by slot, and messages held back so that nodes see different things at epoch boundaries.
Epochs are 4 slots of 10 ticks; a message not held arrives one tick after it is sent. Block "s<n>" is the block of
slot n (one per slot here).

Attack 1 (safety). Validator 3 does not get slot 6's block and builds fork A on slot 5's block from slot 7 on, alone
and fast (it leads slots 7, 9-11 and 13-19). Validators 0-2 and the observer follow fork B (s6, s8, s12): they justify
B2 = (2, s6) at epoch 2 and vote B2 -> B3 = (3, s8) at epoch 3; those votes reach the observer, which justifies B3
and finalizes B2, but are held back from the validators themselves until epoch 8, and the observer serves no sync to
them until then. Everything between the two sides arrives at tick 195: fork A is then five times longer. Before the
fix the validators followed A, their vote guard forbade its source (epoch 1), a fallback signed B2 -> A4 (B2 is not
on A's chain), the tracker counted it, and A4 was finalized on every validator while the observer kept B2.

Attack 2 (liveness). Validator 3 does not get slot 7's block and builds fork A on slot 6's block from slot 8 on.
Validators 0-2 vote C1 -> B2 = (2, s7) at epoch 2, which justifies B2 at 0, 1 and the observer; 0's and 1's votes
are held back from 2 and 3, and the two sides' blocks and syncs from each other, so that at the next boundary 0 and 1
see fork B and vote B2 -> B3 while 2 and 3 see the longer fork A and vote from C1. Before the fix 0 and 1 could never
again sign a source below epoch 2 and voted B2 -> A_t, 2 and 3 C1 -> A_t, and finality stayed at epoch 1 for good.
"""

from __future__ import annotations

from dataclasses import dataclass

from btt_chain.finality_sim.blocks import SimBlock
from btt_chain.finality_sim.checks import Verdict, check
from btt_chain.finality_sim.engine import Outcome, Simulation
from btt_chain.finality_sim.node import Rules
from btt_chain.finality_sim.schedule import OBSERVER_BASE, DelayRule, Schedule
from btt_chain.finality_sim.validators import ValidatorSpec
from btt_chain.primitives.vote import Checkpoint

OBSERVER = OBSERVER_BASE
B_SIDE = (0, 1, 2, OBSERVER)
EPOCH_SLOTS = 4
SLOT_TICKS = 10


@dataclass(frozen=True)
class NodeView:
    """One node at the end of an epoch."""

    head: bytes
    head_number: int
    latest_justified: Checkpoint
    finalized: Checkpoint


@dataclass(frozen=True)
class ScenarioRun:
    schedule: Schedule
    outcome: Outcome
    verdict: Verdict
    epochs: tuple[dict[int, NodeView], ...]
    """Each node at the end of each epoch."""

    def block(self, slot: int) -> SimBlock:
        """The block of `slot` (one per slot in a scenario)."""
        (found,) = [b for b in self.outcome.tree.blocks.values() if b.slot == slot and b.number > 0]
        return found

    def checkpoint(self, epoch: int, slot: int) -> Checkpoint:
        return Checkpoint(epoch, self.block(slot).hash)


def scripted(leaders: dict[int, int], holds: tuple[DelayRule, ...], epochs: int) -> Schedule:
    """Four honest validators of bond 100 and one observer; `leaders` by slot (the others rotate 0, 1, 2, 3)."""
    every = {s: leaders.get(s, s % 4) for s in range(1, epochs * EPOCH_SLOTS)}
    return Schedule(
        seed=0, index=0, byzantine_third=False, epoch_slots=EPOCH_SLOTS, slot_ticks=SLOT_TICKS, gst_epoch=epochs - 1,
        epochs=epochs, validators=tuple(ValidatorSpec(i, 100, False) for i in range(4)), observers=1,
        drop_permille=0, max_delay=1, pull_every=SLOT_TICKS, delays=holds, leaders=tuple(sorted(every.items())),
        vote_delay_slots=0,  # votes at the first block of an epoch, which the holds below are timed against
    )


def _between(kind: str, a: tuple[int, ...], b: tuple[int, ...], start: int, end: int, arrive: int) -> tuple[
        DelayRule, DelayRule]:
    return DelayRule(kind, a, b, start, end, arrive), DelayRule(kind, b, a, start, end, arrive)


def attack_1_schedule(epochs: int = 12) -> Schedule:
    cut = (60, 194, 195)  # the two sides see nothing of each other sent from tick 60 until tick 195
    holds = (
        *_between("block", (0, 1, 2), (3,), *cut), DelayRule("block", (3,), B_SIDE, *cut),
        DelayRule("vote", (0, 1, 2), (3,), *cut),
        *_between("sync", B_SIDE, (3,), *cut),
        DelayRule("vote", (0, 1, 2), (0, 1, 2), 120, 129, 320),  # the votes B2 -> B3, to the validators
        DelayRule("sync", (OBSERVER,), (0, 1, 2), 120, 319, 320),  # the observer's B3 justification likewise
    )
    leaders = {1: 0, 2: 1, 3: 2, 4: 3, 5: 0, 6: 1, 7: 3, 8: 0, 9: 3, 10: 3, 11: 3, 12: 1}
    leaders.update({s: 3 for s in range(13, 20)})
    return scripted(leaders, holds, epochs)


def attack_2_schedule(epochs: int = 12) -> Schedule:
    holds = (
        DelayRule("block", (0, 1, 2), (3,), 70, 79, 200),  # 3 misses slot 7's block and forks at slot 8
        DelayRule("block", (3,), (2,), 80, 89, 95),  # 2 gets slot 8's block of fork A only after voting for B2
        DelayRule("block", (3,), (0, 1, OBSERVER), 75, 124, 125),  # B's side sees fork A after its epoch 3 votes
        DelayRule("block", (0, 1), (2, 3), 115, 135, 145),  # and fork A's side sees slot 12's block late
        DelayRule("vote", (0, 1), (2, 3), 80, 99, 145),  # 2 and 3 do not learn that B2 is justified
        *_between("sync", (0, 1, OBSERVER), (2, 3), 75, 144, 145),
    )
    leaders = {1: 0, 2: 1, 3: 2, 4: 3, 5: 0, 6: 1, 7: 2, 8: 3, 9: 0, 10: 3, 11: 3, 12: 0, 13: 3, 14: 3, 15: 2}
    return scripted(leaders, holds, epochs)


def run_scenario(schedule: Schedule, rules: Rules | None = None) -> ScenarioRun:
    epochs: list[dict[int, NodeView]] = []

    def snapshot(sim: Simulation, _epoch: int) -> None:
        epochs.append({
            n: NodeView(node.head, node.tree.blocks[node.head].number, node.tracker.latest_justified,
                        node.tracker.finalized)
            for n, node in sim.nodes.items()
        })

    outcome = Simulation(schedule, rules).run(observe=snapshot)
    return ScenarioRun(schedule, outcome, check(outcome), tuple(epochs))


def attack_1(rules: Rules | None = None) -> ScenarioRun:
    return run_scenario(attack_1_schedule(), rules)


def attack_2(rules: Rules | None = None) -> ScenarioRun:
    return run_scenario(attack_2_schedule(), rules)
