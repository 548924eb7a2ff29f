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
from btt_chain.primitives.vote import Checkpoint, Justification

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

    def checkpoint_of(self, epoch: int, of: Checkpoint) -> Checkpoint | None:
        """The checkpoint of `epoch` on the chain of `of`: the main chain's, or its fork's own when only that one was
        made; None when both were (the names cannot tell which the fork branched below)."""
        label = self.labels.get(of)
        if label is None or epoch > label[0]:
            return None
        if epoch == label[0] or epoch == 0:
            return of if epoch == label[0] else self.genesis
        main = Checkpoint(epoch, blake2b_256(b"cp/%d/%s" % (epoch, MAIN.encode())))
        if label[1] == MAIN:
            return self.cp(epoch)
        own = Checkpoint(epoch, blake2b_256(b"cp/%d/%s" % (epoch, label[1].encode())))
        if own in self.labels:
            return None if main in self.labels else own
        return self.cp(epoch)

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
        self.own: list[Justification] = []
        """What `own_justifications` returns (a test's stored justifications of the main chain)."""
        self.authorized: dict[bytes, bytes] = {}
        """What `key_owner` answers (key authorizations a test's node saw)."""

    def voter_set(self, target: Checkpoint) -> ValidatorSet | None:
        self.calls += 1
        if isinstance(self.sets, ValidatorSet):
            return self.sets
        if isinstance(self.sets, dict):
            return self.sets.get(target)
        return self.sets(target)

    def is_on_chain(self, cp: Checkpoint, of: Checkpoint) -> bool:
        return self.forks.is_on_chain(cp, of)

    def checkpoint_of(self, epoch: int, of: Checkpoint) -> Checkpoint | None:
        return self.forks.checkpoint_of(epoch, of)

    def trusted_set(self, epoch: int) -> ValidatorSet | None:
        """The set of the main chain's checkpoint of `epoch` (or of the nearest earlier epoch that has one)."""
        if isinstance(self.sets, ValidatorSet):
            return self.sets
        for e in range(epoch, -1, -1):
            cp = self.forks.cp(e)
            vs = self.sets.get(cp) if isinstance(self.sets, dict) else self.sets(cp)
            if vs is not None:
                return vs
        return None

    def own_justifications(self, low_epoch: int, of: Checkpoint) -> list[Justification]:
        return [j for j in self.own if low_epoch <= j.target.epoch <= of.epoch]

    def key_owner(self, key: bytes) -> bytes | None:
        return self.authorized.get(key)
