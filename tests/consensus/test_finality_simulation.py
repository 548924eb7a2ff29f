"""The finality simulation (`btt_chain.finality_sim`): a short randomized run keeps every property, runs are
deterministic and replay from their JSON, and the harness can fail: with a broken rule it reports violations and
shrinks the failing schedule to a smaller one that still fails."""

from __future__ import annotations

from btt_chain.consensus.finality import Link, VoteTracker
from btt_chain.consensus.validator_set import ValidatorSet
from btt_chain.finality_sim.campaign import Failure, run_campaign, run_schedule, shrink_failure
from btt_chain.finality_sim.checks import LIVENESS_BOUND
from btt_chain.finality_sim.engine import Simulation
from btt_chain.finality_sim.generator import generate
from btt_chain.finality_sim.node import Rules
from btt_chain.finality_sim.schedule import Schedule
from btt_chain.finality_sim.shrink import size
from tests.support.pre_fix_finality import PRE_FIX

SEED = 1
SCHEDULES = 120


def test_a_short_randomized_run_keeps_every_property():
    report = run_campaign(SCHEDULES, SEED, workers=1, max_outage=16)  # the campaign's long outages go to 300 epochs
    figures = report.figures()
    assert figures["violations"] == []
    assert (figures["honest_majority_schedules"], figures["byzantine_third_schedules"]) == (90, 30)
    delays = figures["finality_delay_after_gst_epochs"]
    assert len(report.delays) == 90 and delays["worst"] <= LIVENESS_BOUND
    conflicts = figures["conflicting_finalizations"]
    assert conflicts["honest_majority"] == {"pairs": 0, "schedules": 0, "alarms": 0}
    # with a third of the stake the Byzantine validators do finalize conflicting forks, never without the evidence
    assert conflicts["byzantine_third"]["schedules"] > 0
    assert report.margin is not None and report.margin >= 0
    # and every honest node on either side learns of it and raises the alarm (issue 49, finding 4)
    alarms = figures["alarms"]
    assert alarms["nodes_that_finalized_a_conflict"] > 0
    assert alarms["of_them_alarmed"] == alarms["nodes_that_finalized_a_conflict"]
    # the schedules change what the attacker would: keys rotated on one fork, restarts that lose files, long outages
    assert figures["key_rotations"] > 0 and figures["restarts_losing_files"] > 0
    assert figures["outages"]["longest_epochs"] >= 15


def test_runs_are_deterministic_and_replay_from_json():
    for index in (0, 3):  # an honest-majority schedule and a >= 1/3 Byzantine one
        schedule = generate(SEED, index)
        assert generate(SEED, index) == schedule
        assert Schedule.from_json(schedule.to_json()) == schedule
        first, second = Simulation(schedule).run(), Simulation(Schedule.from_json(schedule.to_json())).run()
        assert first.heads == second.heads and first.finalized == second.finalized
        assert [r.finalized for r in first.records.values()] == [r.finalized for r in second.records.values()]


class OneThirdJustifies(VoteTracker):
    """A broken tracker: a third of the target's set on a link justifies it."""

    def _link_supermajority(self, link: Link, vs: ValidatorSet) -> bool:
        return 3 * vs.stake_of(v.validator for v in self.votes_for(*link)) >= vs.total


def test_a_broken_threshold_is_caught_and_shrunk():
    rules = Rules(tracker=OneThirdJustifies)
    index, verdict = next((i, v) for i in range(20)
                          if (v := run_schedule(generate(SEED, i, max_outage=16), rules)).violations)
    # 20 tries (of the campaign's SHRINK_BUDGET) halve this schedule already: half the CPU of 40, and the shrinking is
    # held to halving, not merely to any smaller schedule
    failure = shrink_failure(Failure(SEED, index, verdict.violations), rules, budget=20, max_outage=16)
    assert failure.shrunk is not None and 2 * size(failure.shrunk) <= size(generate(SEED, index, max_outage=16))
    replayed = run_schedule(Schedule.from_json(failure.shrunk.to_json()), rules)
    assert {v.kind for v in replayed.violations} & {v.kind for v in verdict.violations}
    assert run_schedule(failure.shrunk).violations == ()  # the node's own rules pass the shrunk schedule


def test_the_rules_from_before_the_fix_are_caught():
    # schedule 64 of seed 1 (found by searching the 90 honest-majority schedules of the first 120): the pre-fix rules
    # sign links off their target's chain and stall; the node's own rules keep every property on it. With votes cast
    # at an epoch's first block (before vote_rule.VOTE_DELAY_SLOTS), schedules 26, 64 and 88 did; with the delay, the
    # split views the old rules trip on are rarer, and 64 is the one left
    schedule = generate(SEED, 64, max_outage=16)
    assert not schedule.byzantine_third
    assert {v.kind for v in run_schedule(schedule, PRE_FIX).violations} >= {"honest-off-chain"}
    assert run_schedule(schedule).violations == ()
