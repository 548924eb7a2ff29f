"""The two attacks of the finality issue, scripted on the finality simulation (`btt_chain.finality_sim.scenarios`):
with the node's rules both fail (no conflicting finalization between honest nodes, finality resumes, every node ends
on one finalized chain). The same scripts break the rules from before the fix (`tests.support.pre_fix_finality`) the
way the issue reported, which shows they are adversarial: nodes see different things at the boundary and the forks
really race."""

from __future__ import annotations

from btt_chain.finality_sim.scenarios import OBSERVER, ScenarioRun, attack_1, attack_2
from tests.support.pre_fix_finality import PRE_FIX


def on_one_finalized_chain(run: ScenarioRun) -> bool:
    finals = sorted(run.outcome.finalized.values(), key=lambda c: c.epoch)
    return all(run.outcome.tree.is_on_chain(low, finals[-1]) for low in finals)


def signed(run: ScenarioRun, validator: int) -> list[tuple[str, str]]:
    """The links a validator signed, as (source, target) named '<epoch>:s<slot>'."""
    tree = run.outcome.tree

    def name(cp):
        b = tree.blocks[cp.block_hash]
        return f"{cp.epoch}:" + (f"s{b.slot}" if b.number else "G")

    return [(name(v.source), name(v.target)) for v in run.outcome.records[validator].votes]


# --- attack 1: safety -------------------------------------------------------------------------------------


def test_attack_1_fails():
    run = attack_1()
    assert run.verdict.violations == () and run.verdict.conflicts == 0
    # the observer's B2 stays final, and every node finalizes on past it on fork B
    assert on_one_finalized_chain(run)
    assert all(run.outcome.tree.is_on_chain(run.checkpoint(2, 6), cp) for cp in run.outcome.finalized.values())
    # finality resumed two epochs after the forks met (tick 195) and kept up to the last epoch
    assert all(v.finalized.epoch == 5 for v in run.epochs[6].values())
    assert all(cp.epoch == len(run.epochs) - 2 for cp in run.outcome.finalized.values())


def test_attack_1_is_adversarial():
    run = attack_1()
    b2, b3 = run.checkpoint(2, 6), run.checkpoint(3, 8)
    end_of_3 = run.epochs[3]
    # the votes B2 -> B3 reached the observer only: it justified B3 and finalized B2, the validators hold B2 justified
    assert end_of_3[OBSERVER].finalized == b2 and end_of_3[OBSERVER].latest_justified == b3
    assert all(end_of_3[v].latest_justified == b2 for v in (0, 1, 2))
    assert all(("2:s6", "3:s8") in signed(run, v) for v in (0, 1, 2))  # their records now refuse sources below 2
    # fork A (from slot 5's block: B2 is not on it) raced B and was over twice as long when the two sides met
    fork, a_tip, b_tip = run.block(5), run.block(19), run.block(12)
    assert not run.outcome.tree.descends_from(a_tip.hash, run.block(6).hash)
    assert a_tip.number - fork.number > 2 * (b_tip.number - fork.number)
    assert end_of_3[3].head_number > end_of_3[0].head_number  # validator 3 followed fork A
    # the rules from before the fix: the validators sign B2 -> A4 and finalize A4 while the observer keeps B2
    old = attack_1(PRE_FIX)
    assert "conflict" in {v.kind for v in old.verdict.violations}
    assert all(("2:s6", "4:s15") in signed(old, v) for v in (0, 1, 2))
    assert old.outcome.finalized[OBSERVER] == b2
    assert all(old.outcome.tree.descends_from(old.outcome.finalized[v].block_hash, old.block(7).hash)
               for v in (0, 1, 2))


# --- attack 2: liveness -----------------------------------------------------------------------------------


def test_attack_2_fails():
    run = attack_2()
    assert run.verdict.violations == () and run.verdict.conflicts == 0
    assert on_one_finalized_chain(run)
    # finality resumed right after the split epoch: epoch 4's checkpoint is final everywhere by the end of epoch 5
    assert all(v.finalized.epoch == 4 for v in run.epochs[5].values())
    assert all(cp.epoch == len(run.epochs) - 2 for cp in run.outcome.finalized.values())


def test_attack_2_is_adversarial():
    run = attack_2()
    # at the boundary of epoch 3, 0 and 1 see fork B and vote B2 -> B3; 2 and 3 see fork A and vote from epoch 1
    assert all(("2:s7", "3:s9") in signed(run, v) for v in (0, 1))
    assert all(("1:s3", "3:s11") in signed(run, v) for v in (2, 3))
    assert all(("1:s3", "2:s7") in signed(run, v) for v in (0, 1, 2))  # B2 was justified by three of the four
    # fork A (from slot 6's block: B2 is not on it) was longer than every node's head at the end of epoch 3
    tree = run.outcome.tree
    a_tip = run.block(14)
    assert not tree.descends_from(a_tip.hash, run.block(7).hash)
    assert a_tip.number > max(v.head_number for v in run.epochs[3].values())
    # the rules from before the fix: 0 and 1 sign B2 -> A_t and 2 and 3 C1 -> A_t for good, finality stays at epoch 1
    old = attack_2(PRE_FIX)
    assert all(v.finalized.epoch == 1 for snapshot in old.epochs[3:] for v in snapshot.values())
    assert all(s == "2:s7" for v in (0, 1) for s, _ in signed(old, v)[3:])
    assert all(s == "1:s3" for v in (2, 3) for s, _ in signed(old, v)[2:])
    assert {v.kind for v in old.verdict.violations} == {"honest-off-chain"}
