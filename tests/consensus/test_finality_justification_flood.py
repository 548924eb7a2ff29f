"""Justifications stuffed with votes by made-up keys cost the tracker no signature check.

A justification may carry up to 1,000 votes, and anybody can make keys and sign any link with them. Before, the
tracker checked every vote's signature of a justification for a link that leaves our finalized chain, and of one whose
target's set it did not know yet, before it looked at whose keys they were: one such justification cost 1,000
signature checks (~60 ms of the event loop), was then ignored (the keys weigh nothing) or held, and its sender was
never blamed; a conflict probe reads up to 264 of them from a peer. Now a vote is read further only if its key weighs
in the set that weighs the link, or has votes held here (it may be evidence), or, for a held justification, belongs to
a validator this tracker knows; the rest are left out, and a conflicting justification is kept without them, so the
evidence it becomes verifies whole. Each test runs the attack and asserts that it fails; the alarm a real conflicting
finalization raises still fires beside the junk."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from btt_chain.consensus.finality import JustificationStatus, VoteStatus, _bad_signature
from btt_chain.primitives.hashing import blake2b_256
from btt_chain.primitives.keys import Keypair
from btt_chain.primitives.vote import Checkpoint, Justification, Vote, sign_vote
from tests.consensus.test_finality_accounts import ACCOUNTS, GENESIS, OLD, cp
from tests.consensus.test_finality_conflict_flood import MADE_UP, finalized_tracker

G = Checkpoint(0, GENESIS)
JUNK = [Keypair(blake2b_256(b"junk/%d" % n)) for n in range(300)]


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bytes]]:
    """Every signature check a vote makes, by its key."""
    done: list[bytes] = []
    verify = Vote.verify

    def counted(self: Vote, genesis_hash: bytes) -> bool:
        done.append(self.validator)
        return verify(self, genesis_hash)

    monkeypatch.setattr(Vote, "verify", counted)
    yield done


def stuffed(keys: list[Keypair], source: Checkpoint, target: Checkpoint, junk: list[Keypair] = JUNK,
            bad_junk: bool = False) -> Justification:
    """A justification of `keys`' votes with votes of `junk` keys mixed in (valid signatures unless `bad_junk`)."""
    real = [sign_vote(k, GENESIS, source, target) for k in keys]
    other = [sign_vote(k, GENESIS, source, target) for k in junk]
    if bad_junk:
        other = [v.replace(signature=bytes(64)) for v in other]
    return Justification(target, source, tuple(sorted(real + other, key=lambda v: v.validator)))


def test_a_conflicting_justification_of_made_up_keys_costs_no_signature_check(checks: list[bytes]) -> None:
    t, _ = finalized_tracker()
    checks.clear()  # the setup's own
    r = t.import_justification(stuffed([], G, MADE_UP))
    assert r.status is JustificationStatus.IGNORED, r.reason
    assert checks == []  # 300 votes, none by a key that weighs here or has votes held: not one checked
    assert t.conflicting_votes_for(G, MADE_UP) == ()


def test_junk_beside_a_real_conflicting_finalization_is_left_out_and_the_alarm_fires(checks: list[bytes]) -> None:
    t, _ = finalized_tracker()
    checks.clear()  # the setup's own
    for source, target in ((cp(1), cp(2, "x")), (cp(2, "x"), cp(3, "x"))):
        r = t.import_justification(stuffed(OLD[1:], source, target, bad_junk=True))  # junk with bad signatures too
        assert r.status is JustificationStatus.CONFLICTING, r.reason
    assert t.halted and t.conflict is not None and t.conflict.conflicting == cp(2, "x")
    assert set(t.conflict.offenders()) == {ACCOUNTS[1], ACCOUNTS[2]}  # dave signed nothing of ours
    assert set(checks) <= {k.public for k in OLD}  # only the keys that weigh were checked
    for j in t.conflict.justifications:  # the evidence kept holds only checked votes: it verifies whole anywhere
        assert _bad_signature(j, GENESIS) is None and {v.validator for v in j.votes} <= {k.public for k in OLD}


def test_a_bad_signature_by_a_key_that_weighs_still_refuses_the_justification(checks: list[bytes]) -> None:
    t, _ = finalized_tracker()
    checks.clear()  # the setup's own
    votes = [sign_vote(k, GENESIS, cp(1), cp(2, "x")) for k in OLD[1:]]
    votes[0] = votes[0].replace(signature=bytes(64))
    r = t.import_justification(Justification(cp(2, "x"), cp(1), tuple(votes)))
    assert r.status is JustificationStatus.INVALID and "bad signature" in r.reason
    assert len(checks) == 1


def test_a_held_justification_checks_only_the_votes_of_known_validators(checks: list[bytes]) -> None:
    t, _ = finalized_tracker()
    checks.clear()  # the setup's own
    unknown = Checkpoint(8, blake2b_256(b"a block this node has not seen"))  # above our finalized epoch: held
    j = stuffed(OLD[1:], cp(5), unknown)
    r = t.import_justification(j)
    assert r.status is JustificationStatus.UNRESOLVED, r.reason
    assert sorted(checks) == sorted(k.public for k in OLD[1:])  # the 300 made-up keys: none checked
    weighed = {target: stake for target, stake, _ in t.held_targets()}
    assert weighed[unknown] == 300  # the three validators' stake, nothing for the junk


def test_a_held_justification_whose_known_voter_signed_badly_is_refused(checks: list[bytes]) -> None:
    t, _ = finalized_tracker()
    checks.clear()  # the setup's own
    unknown = Checkpoint(8, blake2b_256(b"another block this node has not seen"))
    j = stuffed(OLD[1:2], cp(5), unknown)
    bad = tuple(v.replace(signature=bytes(64)) if v.validator == OLD[1].public else v for v in j.votes)
    r = t.import_justification(Justification(unknown, cp(5), bad))
    assert r.status is JustificationStatus.INVALID and len(checks) == 1


def test_votes_of_made_up_keys_for_a_block_not_seen_yet_cost_no_signature_check(checks: list[bytes]) -> None:
    """Single votes likewise: a stranger's vote for a target whose set is unknown is held unchecked (bounded), and
    checked, members first, once the set is known; a known validator's is checked at once."""
    t, _ = finalized_tracker()
    checks.clear()
    unknown = Checkpoint(8, blake2b_256(b"a block gossip has not brought yet"))
    statuses = {t.add_vote(sign_vote(k, GENESIS, cp(5), unknown)).status for k in JUNK}
    assert statuses == {VoteStatus.UNRESOLVED} and checks == []
    assert t.add_vote(sign_vote(OLD[1], GENESIS, cp(5), unknown)).status is VoteStatus.UNRESOLVED
    assert checks == [OLD[1].public]


def test_stale_votes_of_made_up_keys_cost_no_signature_check_and_a_known_signers_is_still_evidence(
    checks: list[bytes],
) -> None:
    """A vote that can never count (its source below our finalized epoch, its target's set unknown) is read only for
    evidence: if nothing of its signer is held, it is dropped before its signature is checked."""
    t, _ = finalized_tracker()
    checks.clear()
    unknown = Checkpoint(8, blake2b_256(b"yet another unseen block"))
    statuses = {t.add_vote(sign_vote(k, GENESIS, cp(2), unknown)).status for k in JUNK}
    assert statuses == {VoteStatus.STALE} and checks == []
    # bob's own vote of the same kind is checked and is evidence: it surrounds his finalized-chain votes
    r = t.add_vote(sign_vote(OLD[1], GENESIS, G, Checkpoint(9, blake2b_256(b"far"))))
    assert checks == [OLD[1].public] and r.status is VoteStatus.EQUIVOCATION and r.evidence is not None
