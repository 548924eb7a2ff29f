"""What finality's accountability costs: a benchmark, not a test.

Run: `btt-chain bench finality [--validators N] [--epochs E]`.

One finality tracker (the node's own) over N validators of equal bond, through the outage of issue 49's finding 3:
half the validators vote fork a and half fork b every epoch for E epochs (nobody holds 2/3, nothing is finalized),
then all vote one chain and finality resumes. Printed: the time per vote during the outage (signatures checked by the
caller, as the node's workers do), the tracker's memory after it (tracemalloc: the votes by account and by key, the
links and their caches), the votes held, the time to resume; then the cost of weighing a conflicting justification of
all N votes (an alarm at any height), with and without its signatures checked here.
"""

from __future__ import annotations

import time
import tracemalloc
from typing import Any

from btt_chain.consensus.finality import JustificationStatus, VoteTracker
from btt_chain.consensus.validator_set import ValidatorSet
from btt_chain.primitives.hashing import blake2b_256
from btt_chain.primitives.keys import Keypair
from btt_chain.primitives.vote import Checkpoint, Justification, Vote, sign_vote

GENESIS = blake2b_256(b"bench finality")
G = Checkpoint(0, GENESIS)


def checkpoint(epoch: int, fork: str) -> Checkpoint:
    return Checkpoint(epoch, blake2b_256(b"%d/%s" % (epoch, fork.encode())))


class ForkedView:
    """The main fork ("a") and others: a checkpoint of fork f at epoch e descends from fork f's and from genesis."""

    def __init__(self, vs: ValidatorSet, executed: set[str]) -> None:
        self.vs = vs
        self.executed = executed
        self.labels: dict[Checkpoint, tuple[int, str]] = {}

    def cp(self, epoch: int, fork: str) -> Checkpoint:
        c = checkpoint(epoch, fork)
        self.labels[c] = (epoch, fork)
        return c

    def voter_set(self, target: Checkpoint) -> ValidatorSet | None:
        label = self.labels.get(target)
        return self.vs if label is not None and label[1] in self.executed else None

    def is_on_chain(self, cp: Checkpoint, of: Checkpoint) -> bool:
        if cp == of or cp.epoch == 0:
            return cp.epoch <= of.epoch
        a, b = self.labels.get(cp), self.labels.get(of)
        return a is not None and b is not None and a[0] < b[0] and a[1] == b[1]

    def checkpoint_of(self, epoch: int, of: Checkpoint) -> Checkpoint | None:
        label = self.labels.get(of)
        if label is None or epoch > label[0]:
            return None
        return G if epoch == 0 else self.cp(epoch, label[1])

    def trusted_set(self, epoch: int) -> ValidatorSet | None:
        return self.vs

    def key_owner(self, key: bytes) -> bytes | None:
        return None

    def own_justifications(self, low_epoch: int, of: Checkpoint) -> list[Justification]:
        return []


def run(validators: int, epochs: int) -> dict[str, Any]:
    keys = [Keypair(blake2b_256(b"bench validator %d" % i)) for i in range(validators)]
    vs = ValidatorSet((k.public, 100, blake2b_256(b"stash %d" % i)) for i, k in enumerate(keys))
    view = ForkedView(vs, {"a", "b"})
    votes: list[Vote] = []
    for e in range(1, epochs + 1):
        for i, k in enumerate(keys):
            votes.append(sign_vote(k, GENESIS, G, view.cp(e, "a" if i % 2 == 0 else "b")))
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    tracker = VoteTracker(GENESIS, view)  # type: ignore[arg-type]
    started = time.perf_counter()
    for v in votes:
        tracker.add_vote(v, signature_checked=True)
    outage_s = time.perf_counter() - started
    after_outage = tracemalloc.get_traced_memory()[0] - base
    held = tracker.vote_count
    tracemalloc.stop()
    assert tracker.finalized == G

    started = time.perf_counter()
    heal, nxt = view.cp(epochs + 1, "a"), view.cp(epochs + 2, "a")
    for k in keys:
        tracker.add_vote(sign_vote(k, GENESIS, G, heal), signature_checked=True)
    for k in keys:
        tracker.add_vote(sign_vote(k, GENESIS, heal, nxt), signature_checked=True)
    resume_s = time.perf_counter() - started
    resumed = tracker.finalized == heal

    # a conflicting finalization at a lower height: fork "x" from epoch 1 (weighed against our own set)
    view.executed.discard("b")
    x1, x2 = view.cp(1, "x"), view.cp(2, "x")
    js = [Justification(t, s, tuple(sorted((sign_vote(k, GENESIS, s, t) for k in keys), key=lambda v: v.validator)))
          for s, t in ((G, x1), (x1, x2))]
    timings = {}
    for checked in (True, False):
        fresh = VoteTracker(GENESIS, view)  # type: ignore[arg-type]
        fresh.state = tracker.state
        started = time.perf_counter()
        statuses = [fresh.import_justification(j, signature_checked=checked).status for j in js]
        timings[checked] = time.perf_counter() - started
        assert statuses == [JustificationStatus.CONFLICTING] * 2 and fresh.halted, statuses
    return {
        "validators": validators,
        "outage_epochs": epochs,
        "votes_during_outage": len(votes),
        "per_vote_us": round(outage_s / len(votes) * 1e6, 1),
        "votes_held_after_outage": held,
        "tracker_memory_after_outage_mib": round(after_outage / 2**20, 2),
        "tracker_memory_per_held_vote_bytes": round(after_outage / max(1, held)),
        "finality_resumed": resumed,
        "resume_two_epochs_of_votes_ms": round(resume_s * 1000, 1),
        "alarm_weighing_two_conflicting_justifications_ms": round(timings[True] * 1000, 1),
        "alarm_weighing_with_signatures_checked_here_ms": round(timings[False] * 1000, 1),
    }
