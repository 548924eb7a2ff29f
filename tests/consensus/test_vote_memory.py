"""The tracker's vote memory (`btt_chain.consensus.vote_memory`): a vote is checked against every earlier vote of its
account and of its key, however the two are paired, and memory stays bounded by forgetting the oldest targets, never
by refusing the newest."""

from __future__ import annotations

import pytest

from btt_chain.consensus.vote_memory import VoteMemory
from btt_chain.primitives.hashing import blake2b_256
from btt_chain.primitives.keys import Keypair
from btt_chain.primitives.vote import Checkpoint, Vote, sign_vote

GENESIS = b"\x51" * 32
K1, K2 = Keypair(b"\x01" * 32), Keypair(b"\x02" * 32)
X, Y = blake2b_256(b"account x"), blake2b_256(b"account y")


def cp(epoch: int, fork: str = "") -> Checkpoint:
    return Checkpoint(epoch, blake2b_256(b"%d/%s" % (epoch, fork.encode())))


def vote(key: Keypair, s: int, t: int, fork: str = "") -> Vote:
    return sign_vote(key, GENESIS, cp(s, fork) if s else Checkpoint(0, GENESIS), cp(t, fork))


def test_two_keys_of_one_account_are_one_signer() -> None:
    m = VoteMemory(8)
    m.add(vote(K1, 0, 2), X)
    found = m.conflict(vote(K2, 0, 2, "other"), X)
    assert found is not None and found.kind == "double_vote"
    assert m.conflict(vote(K2, 1, 3, "other"), Y) is None  # another account's key: no offence


def test_one_key_under_two_accounts_is_still_one_signer() -> None:
    """A key two accounts registered (on two forks): its votes are checked against each other whichever account."""
    m = VoteMemory(8)
    m.add(vote(K1, 0, 4), X)
    found = m.conflict(vote(K1, 1, 3, "other"), Y)
    assert found is not None and found.kind == "surround_vote"


def test_a_key_standing_for_itself_meets_the_same_key_under_an_account() -> None:
    for first, second in (((K1.public, X)), ((X, K1.public))):
        m = VoteMemory(8)
        m.add(vote(K1, 0, 2), first)
        assert m.conflict(vote(K1, 0, 2, "other"), second) is not None


@pytest.mark.parametrize("per_signer", [1, 8])
def test_memory_forgets_the_oldest_and_keeps_the_newest(per_signer: int) -> None:
    m = VoteMemory(per_signer)
    dropped = [v for e in range(1, 40) for v in m.add(vote(K1, 0, e), X)]
    assert len(m) == per_signer and len(dropped) == 39 - per_signer
    assert [v.target.epoch for v in dropped] == list(range(1, 40 - per_signer))
    assert m.held(vote(K1, 0, 39), X) is not None and m.held(vote(K1, 0, 1), X) is None
    m.prune(39)
    assert len(m) == 0


def test_a_memory_of_nothing_is_refused() -> None:
    with pytest.raises(ValueError):
        VoteMemory(0)


def test_a_vote_older_than_a_full_signers_targets_would_be_forgotten_at_once() -> None:
    m = VoteMemory(4)
    for e in range(5, 9):
        m.add(vote(K1, 0, e), X)
    assert m.forgets(vote(K1, 0, 4, "old"), X)  # below 5..8: held, it would be dropped at once
    assert not m.forgets(vote(K1, 0, 9), X) and not m.forgets(vote(K1, 0, 6, "other"), X)
    assert not VoteMemory(4).forgets(vote(K1, 0, 1), X)  # a signer with room forgets nothing


def test_a_key_full_under_another_account_forgets_too() -> None:
    """The key's own table counts, whichever account signs now (and a key that stood for itself before)."""
    for first in (X, K1.public):
        m = VoteMemory(2)
        m.add(vote(K1, 0, 5), first)
        m.add(vote(K1, 0, 6), first)
        assert m.forgets(vote(K1, 0, 4, "old"), Y)
        assert not m.forgets(vote(K1, 0, 7), Y)


def test_the_memory_knows_a_signer_by_its_key_or_its_account() -> None:
    m = VoteMemory(4)
    m.add(vote(K1, 0, 5), X)
    assert m.knows(K1.public, Y) and m.knows(K2.public, X) and not m.knows(K2.public, Y)
