"""Vote signing safety: the guard refuses double and surround votes, also after a restart."""

from __future__ import annotations

import json

import pytest

from btt_chain.consensus.signed_votes import KEEP_VOTES
from btt_chain.consensus.vote_guard import VoteGuard
from btt_chain.primitives.errors import StorageError
from btt_chain.primitives.hashing import blake2b_256
from btt_chain.primitives.keys import dev_keypair
from btt_chain.primitives.vote import Checkpoint

GENESIS = b"\x42" * 32


def cp(epoch: int, fork: int = 0) -> Checkpoint:
    return Checkpoint(epoch, blake2b_256(b"cp/%d/%d" % (epoch, fork)))


@pytest.fixture
def path(tmp_path):
    return tmp_path / "votes.json"


def test_fresh_guard_allows_a_first_vote_and_refuses_nonsense(path):
    guard = VoteGuard(path)
    assert guard.may_sign(0, 1)
    assert not guard.may_sign(1, 1)
    assert not guard.may_sign(2, 1)
    assert not path.exists()


def test_refuses_a_double_vote(path):
    guard = VoteGuard(path)
    guard.record(cp(0), cp(1))
    assert not guard.may_sign(0, 1)
    with pytest.raises(StorageError, match="refusing to vote"):
        guard.record(cp(0), cp(1, fork=1))
    assert guard.may_sign(1, 2)


def test_refuses_surround_votes_both_ways(path):
    guard = VoteGuard(path)
    guard.record(cp(2), cp(3))
    assert not guard.may_sign(1, 4)  # would surround 2 -> 3
    guard.record(cp(3), cp(6))
    assert not guard.may_sign(4, 5)  # would be surrounded by 3 -> 6
    assert guard.may_sign(3, 7) and guard.may_sign(6, 7)


def test_survives_restart(path):
    guard = VoteGuard(path)
    guard.record(cp(0), cp(1))
    guard.record(cp(1), cp(3))
    again = VoteGuard(path)
    assert again.votes == [(cp(0), cp(1)), (cp(1), cp(3))]
    for source, target in [(0, 1), (1, 3), (2, 3), (0, 4), (2, 2)]:
        assert not again.may_sign(source, target), (source, target)
    assert again.may_sign(1, 4) and again.may_sign(3, 4)
    again.record(cp(3), cp(4))
    assert not VoteGuard(path).may_sign(3, 4)
    assert not path.with_suffix(".tmp").exists()


def test_refused_vote_leaves_the_record_unchanged(path):
    guard = VoteGuard(path)
    guard.record(cp(0), cp(2))
    before = path.read_bytes()
    with pytest.raises(StorageError):
        guard.record(cp(1), cp(2))
    assert path.read_bytes() == before


def test_old_votes_dropped_from_the_file_stay_refused(path):
    guard = VoteGuard(path)
    for e in range(1, KEEP_VOTES + 20):
        guard.record(cp(e - 1), cp(e))
    data = json.loads(path.read_text())
    assert len(data["votes"]) == KEEP_VOTES
    again = VoteGuard(path)
    assert not again.may_sign(0, 1) and not again.may_sign(2, 3)
    assert again.may_sign(KEEP_VOTES + 19, KEEP_VOTES + 20)


def test_unreadable_record_refuses_to_start(path):
    path.write_text("{not json")
    with pytest.raises(StorageError, match="refusing to vote"):
        VoteGuard(path)
    path.write_text(json.dumps({"version": 1, "max_source": 0, "max_target": 0, "votes": [[[3, "00"], [4, "11"]]]}))
    with pytest.raises(StorageError):
        VoteGuard(path)


def test_sign_records_before_it_signs(path):
    guard = VoteGuard(path)
    pair = dev_keypair("alice")
    v = guard.sign(pair, GENESIS, cp(0), cp(1))
    assert v.verify(GENESIS) and v.validator == pair.public
    assert not VoteGuard(path).may_sign(0, 1)
    with pytest.raises(StorageError):
        guard.sign(pair, GENESIS, cp(0), cp(1, fork=1))
