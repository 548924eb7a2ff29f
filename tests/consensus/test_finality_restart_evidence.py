"""A tracker restored after a restart is given the justifications stored beside its justified checkpoints, and an alarm
raised later carries them: found by the finality simulation, where an observer that had justified a checkpoint before
restarting raised the alarm with evidence naming nobody (the double votes were in that checkpoint's justification,
which the restored tracker did not have)."""

from __future__ import annotations

from btt_chain.consensus.finality import FinalityRecord, FinalityState, JustificationStatus, VoteTracker
from btt_chain.consensus.validator_set import ValidatorSet
from btt_chain.primitives.keys import dev_keypair
from btt_chain.primitives.vote import Checkpoint, Justification, sign_vote
from tests.support.labelled_forks import ForkView, LabelledForks

GENESIS = b"\x42" * 32
KEYS = [dev_keypair(n) for n in ("alice", "bob", "charlie", "dave")]
VALS = ValidatorSet([(k.public, 100) for k in KEYS])
FORKS = LabelledForks(GENESIS)
G = FORKS.genesis


def justification(voters: list[int], source: Checkpoint, target: Checkpoint) -> Justification:
    return Justification(target, source, tuple(sign_vote(KEYS[i], GENESIS, source, target) for i in voters))


def alarm_after_restart(restore_evidence: bool):
    before = VoteTracker(GENESIS, ForkView(FORKS, VALS))
    first = justification([0, 1, 2], G, FORKS.cp(2, 1))
    assert before.import_justification(first).status is JustificationStatus.APPLIED
    record = FinalityRecord.decode(before.state.to_record().encode())
    t = VoteTracker(GENESIS, ForkView(FORKS, VALS), FinalityState.from_record(record),
                    justifications=[first] if restore_evidence else ())
    t.import_justification(justification([0, 1, 2], FORKS.cp(2, 1), FORKS.cp(4, 1)))
    # fork 2 finalizes its epoch 1 (validators 1 and 2 double vote at epoch 2), which fork 1 does not descend from
    t.import_justification(justification([1, 2, 3], G, FORKS.cp(1, 2)))
    r = t.import_justification(justification([1, 2, 3], FORKS.cp(1, 2), FORKS.cp(2, 2)))
    assert r.update.finalized == FORKS.cp(1, 2)
    r = t.import_justification(justification([0, 1, 2], FORKS.cp(4, 1), FORKS.cp(5, 1)))
    assert r.update.alarm is not None
    return r.update.alarm


def test_the_alarm_after_a_restart_names_the_double_voters():
    alarm = alarm_after_restart(restore_evidence=True)
    assert set(alarm.offenders()) == {KEYS[1].public, KEYS[2].public}


def test_without_the_stored_justifications_it_names_nobody():
    assert alarm_after_restart(restore_evidence=False).offenders() == {}
