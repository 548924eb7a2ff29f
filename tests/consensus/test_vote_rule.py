"""The vote rule as a table: (what is justified, the head's chain, what the validator signed before) -> the link it
signs, or why it abstains. Then properties: whatever the inputs, the rule never signs a link whose source is off the
head's chain, never one its record forbids, and a validator that follows it with a source that never falls is never
stopped by its own record."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from btt_chain.consensus.accountability import find_equivocations
from btt_chain.consensus.signed_votes import SignedVotes
from btt_chain.consensus.vote_rule import choose_vote
from btt_chain.primitives.hashing import blake2b_256
from btt_chain.primitives.keys import dev_keypair
from btt_chain.primitives.vote import Checkpoint, sign_vote

GENESIS = b"\x42" * 32
G = Checkpoint(0, GENESIS)


def cp(epoch: int, fork: str = "a") -> Checkpoint:
    return G if epoch == 0 else Checkpoint(epoch, blake2b_256(b"%d/%s" % (epoch, fork.encode())))


def chain(spec: str) -> dict[int, Checkpoint]:
    """'aab b' style: the fork of the head chain's checkpoint of each epoch from 1 (a space: an empty epoch, whose
    checkpoint is the one before)."""
    out = {0: G}
    for e, fork in enumerate(spec, start=1):
        out[e] = Checkpoint(e, out[e - 1].block_hash) if fork == " " else cp(e, fork)
    return out


def signed(*links: tuple[Checkpoint, Checkpoint]) -> SignedVotes:
    record = SignedVotes()
    for s, t in links:
        record = record.with_vote(s, t)
    return record


@dataclass(frozen=True)
class Row:
    name: str
    epoch: int
    head: str
    justified: tuple[Checkpoint, ...]
    record: SignedVotes
    link: tuple[Checkpoint, Checkpoint] | None
    reason: str = ""


ROWS = [
    Row("first vote: from genesis", 1, "a", (G,), SignedVotes(), (G, cp(1))),
    Row("from the latest justified on the chain", 3, "aaa", (G, cp(1), cp(2)), signed((G, cp(1)), (cp(1), cp(2))),
        (cp(2), cp(3))),
    Row("skips an epoch that was not justified", 3, "aaa", (G, cp(1)), signed((G, cp(1))), (cp(1), cp(3))),
    Row("an empty epoch's checkpoint is the block of the one before", 2, "a ", (G, cp(1)), signed((G, cp(1))),
        (cp(1), Checkpoint(2, cp(1).block_hash))),
    Row("a later justified checkpoint off the head's chain is no source", 3, "aaa", (G, cp(1), cp(2, "b")),
        signed((G, cp(1))), (cp(1), cp(3))),
    Row("attack 1: the record forbids the chain's source: abstain, never sign off the chain", 4, "aaaa",
        (G, cp(1), cp(2, "b")), signed((G, cp(1)), (cp(2, "b"), cp(3, "b"))), None, "abstaining from 1 -> 4"),
    Row("attack 2: the side that voted B2 -> B3 follows B2's chain and votes B2 -> B4", 4, "bbbb",
        (G, cp(1, "b"), cp(2, "b")), signed((cp(1, "b"), cp(2, "b")), (cp(2, "b"), cp(3, "b"))),
        (cp(2, "b"), cp(4, "b"))),
    Row("attack 2: the side that voted 1 -> A3, once it learns B2, votes B2 -> B4 too", 4, "bbbb",
        (G, cp(1, "b"), cp(2, "b")), signed((cp(1, "b"), cp(2, "b")), (cp(1, "b"), cp(3, "a"))),
        (cp(2, "b"), cp(4, "b"))),
    Row("target already justified: nothing to add", 2, "aa", (G, cp(1), cp(2)), signed((G, cp(1))), None,
        "justified already"),
    Row("already voted in this epoch (a restart): abstain", 2, "aa", (G, cp(1)), signed((G, cp(1)), (cp(1), cp(2))),
        None, "abstaining from 1 -> 2"),
    Row("voted a later target before (a database restored from an older copy): abstain", 2, "aa", (G, cp(1)),
        signed((G, cp(1)), (cp(1), cp(3))), None, "abstaining"),
    Row("epoch 0: no vote", 0, "", (G,), SignedVotes(), None, "epoch 0"),
]


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_the_vote_rule_table(row: Row) -> None:
    head = chain(row.head)
    choice = choose_vote(row.epoch, head.__getitem__, row.justified, row.record)
    assert choice.link == row.link, choice.reason
    if row.link is None:
        assert row.reason in (choice.reason or "")
    else:
        assert choice.reason is None


FORKS = "ab"


@settings(max_examples=400, deadline=None)
@given(
    st.integers(1, 8),
    st.text(alphabet="ab ", min_size=8, max_size=8),
    st.sets(st.tuples(st.integers(0, 8), st.sampled_from(FORKS)), max_size=6),
    st.lists(st.tuples(st.integers(0, 7), st.integers(1, 8), st.sampled_from(FORKS)), max_size=4),
)
def test_the_rule_never_signs_off_its_chain_nor_against_its_record(epoch, head_spec, justified_spec, record_spec):
    head = chain(head_spec)
    justified = {G} | {cp(e, f) for e, f in justified_spec if e > 0}
    record = SignedVotes()
    for s, t, f in record_spec:
        if s < t and record.may_sign(s, t):
            record = record.with_vote(cp(s, f), cp(t, f))
    choice = choose_vote(epoch, head.__getitem__, justified, record)
    if choice.link is None:
        return
    source, target = choice.link
    assert target == head[epoch]
    assert head[source.epoch] == source, "the source is the checkpoint of its epoch on the head's chain"
    assert source in justified and source.epoch < target.epoch
    assert record.may_sign(source.epoch, target.epoch)
    # and it is the latest such source
    assert not any(head.get(c.epoch) == c and source.epoch < c.epoch < target.epoch for c in justified)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.sampled_from(FORKS), st.booleans()), min_size=1, max_size=25))
def test_a_validator_whose_justified_source_never_falls_always_votes_and_never_equivocates(steps):
    """Each step: the head enters the next epoch on some fork; sometimes a checkpoint of the head's chain becomes
    justified (never below the latest justified one, as the fork choice guarantees for the source). The rule always
    has a vote unless the target is already justified, and the validator's votes are never slashable together."""
    key = dev_keypair("alice")
    record = SignedVotes()
    justified = [G]
    head = {0: G}
    votes = []
    for epoch, (back, fork, justify) in enumerate(steps, start=1):
        head[epoch] = cp(epoch, fork) if back < 3 else Checkpoint(epoch, head[epoch - 1].block_hash)  # 3: no block
        # the fork choice keeps the latest justified checkpoint on the head's chain
        latest = max(justified, key=lambda c: c.epoch)
        for e in range(latest.epoch + 1):
            head[e] = head[e] if e != latest.epoch else latest
        choice = choose_vote(epoch, head.__getitem__, justified, record)
        if head[epoch] in justified:
            assert choice.link is None
        else:
            assert choice.link is not None, choice.reason
            record = record.with_vote(*choice.link)
            votes.append(sign_vote(key, GENESIS, *choice.link))
        if justify and head[epoch] not in justified and head[epoch].epoch > latest.epoch:
            justified.append(head[epoch])
    assert find_equivocations(votes) == {}
