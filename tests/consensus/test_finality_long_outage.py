"""Finding 3 of issue 49: finality resumes after an outage of any length, with no restart.

Before, the tracker refused a validator's votes once it held 64 target epochs and only a finalization pruned them: a
2/2 partition healed after 70 epochs never finalized again. Now each validator's memory keeps its newest targets and
forgets the oldest. The attack is run on the tracker alone, and on the simulation with a 200-epoch partition, where
the old rule is shown to stall."""

from __future__ import annotations

from dataclasses import replace

from btt_chain.consensus.finality import VoteStatus, VoteTracker
from btt_chain.consensus.validator_set import ValidatorSet
from btt_chain.finality_sim.campaign import run_schedule
from btt_chain.finality_sim.checks import LIVENESS_BOUND
from btt_chain.finality_sim.generator import _balanced_partition
from btt_chain.finality_sim.schedule import Schedule
from btt_chain.finality_sim.validators import ValidatorSpec
from btt_chain.primitives.keys import dev_keypair
from btt_chain.primitives.vote import Checkpoint, sign_vote
from tests.support.labelled_forks import ForkView, LabelledForks
from tests.support.pre_fix_finality import MEMORY_BEFORE_ISSUE_49, RefusesPastQuota

GENESIS = b"\x49" * 32
KEYS = [dev_keypair(n) for n in ("alice", "bob", "charlie", "dave")]
FORKS = LabelledForks(GENESIS)
G = Checkpoint(0, GENESIS)
SET = ValidatorSet([(k.public, 100) for k in KEYS])


def partition_then_heal(tracker: VoteTracker, outage: int) -> list[VoteStatus]:
    """Alice and Bob vote fork a, Charlie and Dave fork b, every epoch for `outage` epochs (2 of 4: nothing is
    justified); then all four vote one chain. Returns the statuses of the votes after the heal."""
    for e in range(1, outage + 1):
        for i, fork in ((0, "a"), (1, "a"), (2, "b"), (3, "b")):
            tracker.add_vote(sign_vote(KEYS[i], GENESIS, G, FORKS.cp(e, fork)))
    assert tracker.finalized == G
    healed = FORKS.cp(outage + 1, "a")
    statuses = [tracker.add_vote(sign_vote(k, GENESIS, G, healed)).status for k in KEYS]
    statuses += [tracker.add_vote(sign_vote(k, GENESIS, healed, FORKS.cp(outage + 2, "a"))).status for k in KEYS]
    return statuses


def test_finality_resumes_after_a_partition_longer_than_the_vote_memory() -> None:
    tracker = VoteTracker(GENESIS, ForkView(FORKS, SET), max_targets_per_validator=64)
    statuses = partition_then_heal(tracker, outage=70)
    assert statuses == [VoteStatus.ACCEPTED] * 8
    assert tracker.finalized == FORKS.cp(71, "a")
    assert tracker.vote_count <= 4 * 64  # memory stayed bounded throughout


def test_the_old_memory_rule_never_finalizes_again() -> None:
    tracker = RefusesPastQuota(GENESIS, ForkView(FORKS, SET), max_targets_per_validator=64)
    statuses = partition_then_heal(tracker, outage=70)
    assert VoteStatus.INVALID in statuses and tracker.finalized == G


def long_outage_schedule(outage: int) -> Schedule:
    """Six honest validators of equal bond and an observer, split into two halves (neither holds 2/3) from epoch 1
    until GST at epoch `outage`."""
    validators = tuple(ValidatorSpec(i, 100, False) for i in range(6))
    base = Schedule(seed=49, index=0, byzantine_third=False, epoch_slots=4, slot_ticks=10, gst_epoch=outage,
                    epochs=outage + LIVENESS_BOUND + 1, validators=validators, observers=1, max_delay=10, pull_every=10)
    return replace(base, partitions=_balanced_partition(base))


def test_a_200_epoch_partition_heals_within_the_bound_in_the_simulation() -> None:
    schedule = long_outage_schedule(200)
    assert schedule.problems() == []
    verdict = run_schedule(schedule)
    assert verdict.violations == ()
    assert verdict.delay is not None and verdict.delay <= 3  # measured: 2 epochs after GST


def test_the_simulation_catches_the_old_memory_rule() -> None:
    verdict = run_schedule(long_outage_schedule(80), MEMORY_BEFORE_ISSUE_49)
    assert {v.kind for v in verdict.violations} == {"liveness"}
