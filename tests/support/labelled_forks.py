"""Checkpoints named by (epoch, fork) for finality tests that need no blocks.

Fork "" (or 0) is the main chain. Every other fork branches off the main chain just below its own checkpoints: its
checkpoint of epoch e descends from the main chain's checkpoints of lower epochs and from its own fork's lower ones,
and from nothing else. `ForkView` answers the finality tracker's questions (`CheckpointView`) from those names, with
the validator sets the test gives it (one set for every target, or a dict a test fills as blocks 'execute').
"""

from __future__ import annotations

from collections.abc import Callable

from btt_chain.consensus.validator_set import ValidatorSet
from btt_chain.primitives.hashing import blake2b_256
from btt_chain.primitives.vote import Checkpoint

MAIN = ""


def fork_name(fork: str | int) -> str:
    return MAIN if fork in ("", 0) else str(fork)


class LabelledForks:
    """Makes checkpoints and remembers each one's (epoch, fork)."""

    def __init__(self, genesis_hash: bytes) -> None:
        self.genesis = Checkpoint(0, genesis_hash)
        self.labels: dict[Checkpoint, tuple[int, str]] = {self.genesis: (0, MAIN)}

    def cp(self, epoch: int, fork: str | int = MAIN) -> Checkpoint:
        if epoch == 0:
            return self.genesis
        name = fork_name(fork)
        c = Checkpoint(epoch, blake2b_256(b"cp/%d/%s" % (epoch, name.encode())))
        self.labels[c] = (epoch, name)
        return c

    def is_on_chain(self, a: Checkpoint, of: Checkpoint) -> bool:
        """`a` is `of`, or an earlier checkpoint of its fork or of the main chain."""
        if a == of:
            return True
        la, lo = self.labels.get(a), self.labels.get(of)
        if la is None or lo is None or la[0] >= lo[0]:
            return False
        return la[1] in (MAIN, lo[1])


class ForkView:
    """A `CheckpointView` over labelled forks: `sets` gives each target's voter set (a fixed set, a dict that tests fill
    as blocks 'execute', or a function)."""

    def __init__(
        self, forks: LabelledForks,
        sets: ValidatorSet | dict[Checkpoint, ValidatorSet] | Callable[[Checkpoint], ValidatorSet | None],
    ) -> None:
        self.forks = forks
        self.sets = sets
        self.calls = 0

    def voter_set(self, target: Checkpoint) -> ValidatorSet | None:
        self.calls += 1
        if isinstance(self.sets, ValidatorSet):
            return self.sets
        if isinstance(self.sets, dict):
            return self.sets.get(target)
        return self.sets(target)

    def is_on_chain(self, cp: Checkpoint, of: Checkpoint) -> bool:
        return self.forks.is_on_chain(cp, of)
