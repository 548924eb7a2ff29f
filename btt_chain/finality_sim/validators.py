"""Validators of a simulated chain: their accounts and keys, the validator set of every epoch, and the two measures the
checks need, Byzantine stake and churn, as exact fractions.

The bonds voting for a target of epoch e are the same on every fork here (`EpochSets.bonds_for`): the genesis bonds
with every change of an epoch at or below e applied. The keys may differ by fork: a validator that rotates its session
key does it by a transaction that some chains include and others do not (`blocks.SimBlock.rotations`), so a set is
asked for with the key generations of the target's own chain (`EpochSets.set_for`), and each member is named by its
account, which never changes: offences are judged by account. Churn between two sets is the total variation distance
of their normalised stake, d(X, Y) = 1/2 * sum over accounts |x_a / X - y_a / Y|. Two 2/3 supermajorities, one of X
and one of Y, then share voters holding at least 1/3 - d of Y's stake (and 1/3 - 2d of X's), which is why a schedule is
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


MAX_GENERATION = 8
"""Key rotations one validator may make in a run (its keys are generations 0..MAX_GENERATION)."""

Generations = tuple[tuple[int, int], ...]
"""(validator, key generation) for the validators that rotated on a chain, sorted; the others use generation 0."""


@cache
def validator_key(index: int, generation: int = 0) -> Keypair:
    """The session key of validator `index` at key generation `generation` (the same in every schedule)."""
    if generation == 0:
        return Keypair(blake2b_256(b"finality-sim/validator/%d" % index))
    return Keypair(blake2b_256(b"finality-sim/validator/%d/%d" % (index, generation)))


@cache
def account_of(index: int) -> bytes:
    """The account (stash) of validator `index`, whatever key it signs with."""
    return blake2b_256(b"finality-sim/account/%d" % index)


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
    """The total variation distance between two sets' normalised stake by account (0: the same weights, 1: disjoint)."""
    if x.total == 0 or y.total == 0:
        return Fraction(1)
    xa, ya = _by_account(x), _by_account(y)
    return sum((abs(Fraction(xa.get(a, 0), x.total) - Fraction(ya.get(a, 0), y.total))
                for a in set(xa) | set(ya)), Fraction(0)) / 2


def _by_account(vs: ValidatorSet) -> dict[bytes, int]:
    out: dict[bytes, int] = {}
    for key, bond in vs.weights.items():
        out[vs.accounts[key]] = out.get(vs.accounts[key], 0) + bond
    return out


class EpochSets:
    """The validator set of every epoch of a schedule, with who is Byzantine."""

    def __init__(self, validators: Iterable[ValidatorSpec], changes: Iterable[SetChange]) -> None:
        self.specs = {v.index: v for v in validators}
        self.changes = sorted(changes, key=lambda c: c.epoch)
        self.byzantine = frozenset(i for i, v in self.specs.items() if v.byzantine)
        self.index_of = {validator_key(i, g).public: i for i in self.specs for g in range(MAX_GENERATION + 1)}
        """Every key any validator may sign with -> its index."""
        self.accounts = {account_of(i): i for i in self.specs}
        self._sets: dict[tuple[int, Generations], ValidatorSet] = {}
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

    def set_for(self, epoch: int, generations: Generations = ()) -> ValidatorSet:
        """The set that votes for targets of `epoch` on a chain whose validators rotated to `generations` (and whose
        stake draws the leaders of its slots)."""
        vs = self._sets.get((epoch, generations))
        if vs is None:
            gen = dict(generations)
            vs = ValidatorSet((validator_key(i, gen.get(i, 0)).public, b, account_of(i))
                              for i, b in sorted(self.bonds_for(epoch).items()))
            self._sets[(epoch, generations)] = vs
        return vs

    def owner_of(self, key: bytes) -> bytes:
        """The account a key signs for (the key itself if it is nobody's)."""
        index = self.index_of.get(key)
        return key if index is None else account_of(index)

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

    def stake_fraction(self, epoch: int, accounts: Iterable[bytes]) -> Fraction:
        """The share of `epoch`'s stake held by `accounts`."""
        bonds = self.bonds_for(epoch)
        total = sum(bonds.values())
        held = sum(bonds.get(self.accounts[a], 0) for a in set(accounts) if a in self.accounts)
        return Fraction(held, total) if total else Fraction(0)
