"""Validators of a simulated chain: their keys, the validator set of every epoch, and the two measures the checks
need, Byzantine stake and churn, as exact fractions.

The set that votes for a target of epoch e is the same on every fork here (`EpochSets.set_for`): the genesis bonds
with every change of an epoch at or below e applied. Churn between two sets is the total variation distance of their
normalised stake, d(X, Y) = 1/2 * sum over keys |x_k / X - y_k / Y|. Two 2/3 supermajorities, one of X and one of Y,
then share voters holding at least 1/3 - d of Y's stake (and 1/3 - 2d of X's), which is why a schedule is
"honest-majority" only when every epoch's Byzantine fraction b_e satisfies b_e + D < 1/3, with D the largest churn
between any two sets of the run: no conflicting finalization is then possible without honest double or surround
votes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from functools import cache

from btt_chain.consensus.validator_set import ValidatorSet
from btt_chain.primitives.hashing import blake2b_256
from btt_chain.primitives.keys import Keypair

ONE_THIRD = Fraction(1, 3)


@cache
def validator_key(index: int) -> Keypair:
    """The session key of validator `index` (the same in every schedule)."""
    return Keypair(blake2b_256(b"finality-sim/validator/%d" % index))


@dataclass(frozen=True)
class ValidatorSpec:
    """One validator identity of a schedule."""

    index: int
    bond: int
    """Its bond in the genesis set (0: not in it; it may join later)."""
    byzantine: bool


@dataclass(frozen=True)
class SetChange:
    """From `epoch` on, `validator` is bonded with `bond` (0: it left)."""

    epoch: int
    validator: int
    bond: int


def tv_distance(x: ValidatorSet, y: ValidatorSet) -> Fraction:
    """The total variation distance between two sets' normalised stake (0: the same weights, 1: disjoint)."""
    if x.total == 0 or y.total == 0:
        return Fraction(1)
    keys = set(x.weights) | set(y.weights)
    return sum((abs(Fraction(x.weights.get(k, 0), x.total) - Fraction(y.weights.get(k, 0), y.total))
                for k in keys), Fraction(0)) / 2


class EpochSets:
    """The validator set of every epoch of a schedule, with who is Byzantine."""

    def __init__(self, validators: Iterable[ValidatorSpec], changes: Iterable[SetChange]) -> None:
        self.specs = {v.index: v for v in validators}
        self.changes = sorted(changes, key=lambda c: c.epoch)
        self.byzantine = frozenset(i for i, v in self.specs.items() if v.byzantine)
        self.index_of = {validator_key(i).public: i for i in self.specs}
        self._sets: dict[int, ValidatorSet] = {}
        self._bonds: dict[int, dict[int, int]] = {}

    def bonds_for(self, epoch: int) -> dict[int, int]:
        """Validator index -> bond in `epoch`'s set (members only)."""
        bonds = self._bonds.get(epoch)
        if bonds is None:
            current = {i: v.bond for i, v in self.specs.items()}
            for c in self.changes:
                if c.epoch > epoch:
                    break
                if c.validator in current:
                    current[c.validator] = c.bond
            bonds = {i: b for i, b in current.items() if b > 0}
            self._bonds[epoch] = bonds
        return bonds

    def set_for(self, epoch: int) -> ValidatorSet:
        """The set that votes for targets of `epoch` (and whose stake draws the leaders of its slots)."""
        vs = self._sets.get(epoch)
        if vs is None:
            vs = ValidatorSet((validator_key(i).public, b) for i, b in sorted(self.bonds_for(epoch).items()))
            self._sets[epoch] = vs
        return vs

    def byzantine_fraction(self, epoch: int) -> Fraction:
        bonds = self.bonds_for(epoch)
        total = sum(bonds.values())
        return Fraction(sum(b for i, b in bonds.items() if i in self.byzantine), total) if total else Fraction(1)

    def distinct_sets(self, epochs: int) -> list[ValidatorSet]:
        """The different sets of epochs 0..epochs."""
        return list(dict.fromkeys(self.set_for(e) for e in range(epochs + 1)))

    def churn(self, base: int, first: int, last: int) -> Fraction:
        """The largest distance between the set of epoch `base` and any set of an epoch in first..last."""
        vs = self.set_for(base)
        return max((tv_distance(vs, self.set_for(e)) for e in range(first, last + 1)), default=Fraction(0))

    def max_churn(self, epochs: int) -> Fraction:
        """The largest distance between any two sets of epochs 0..epochs."""
        sets = self.distinct_sets(epochs)
        return max((tv_distance(a, b) for i, a in enumerate(sets) for b in sets[i + 1:]), default=Fraction(0))

    def honest_majority(self, epochs: int) -> bool:
        """Every epoch's Byzantine fraction plus the largest churn stays below 1/3 (see the module docstring)."""
        d = self.max_churn(epochs)
        return all(self.byzantine_fraction(e) + d < ONE_THIRD for e in range(epochs + 1))

    def byzantine_third(self, epochs: int) -> bool:
        """Every epoch's set gives the Byzantine validators at least 1/3 of the stake."""
        return all(self.byzantine_fraction(e) >= ONE_THIRD for e in range(epochs + 1))

    def stake_fraction(self, epoch: int, keys: Iterable[bytes]) -> Fraction:
        vs = self.set_for(epoch)
        return Fraction(vs.stake_of(set(keys)), vs.total) if vs.total else Fraction(0)
