"""Validator sets as finality weighs them: session key -> bond, the record the chain database keeps beside blocks,
and the two-thirds rule in integers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from btt_chain.primitives.codec import AMOUNT, HASH, ListOf, Nested, Struct
from btt_chain.primitives.hashing import blake2b_256
from btt_chain.primitives.vote import MAX_JUSTIFICATION_VOTES


@dataclass(frozen=True)
class Voter(Struct):
    """One member of a recorded validator set."""

    session_key: bytes
    """The key that signs its votes."""
    bond: int
    """Its voting weight: the bond it was queued with, in base units."""

    WIRE = (("session_key", HASH), ("bond", AMOUNT))


@dataclass(frozen=True)
class ValidatorSetRecord(Struct):
    """A validator set as the chain database keeps it beside blocks (content-addressed by the hash of this
    encoding): one entry per session key, sorted by key, so equal sets encode alike."""

    voters: tuple[Voter, ...]

    WIRE = (("voters", ListOf(Nested(Voter), MAX_JUSTIFICATION_VOTES)),)


class ValidatorSet:
    """Voting weights: session key -> bond. Build it once per validator-set change and pass it around."""

    __slots__ = ("weights", "total", "fingerprint")

    def __init__(self, validators: Iterable[tuple[bytes, int]]) -> None:
        weights: dict[bytes, int] = {}
        for key, bond in validators:
            if bond < 0:
                raise ValueError("a bond cannot be negative")
            # one key listed twice votes once with its combined bond
            weights[key] = weights.get(key, 0) + bond
        self.weights: Mapping[bytes, int] = weights
        self.total = sum(weights.values())
        self.fingerprint = blake2b_256(self.encode())
        """The hash of the set's record: equal sets have equal fingerprints."""

    @classmethod
    def of(cls, validators: Validators) -> ValidatorSet:
        return validators if isinstance(validators, ValidatorSet) else cls(validators)

    def to_record(self) -> ValidatorSetRecord:
        return ValidatorSetRecord(tuple(Voter(k, b) for k, b in sorted(self.weights.items())))

    def encode(self) -> bytes:
        """The canonical encoding of the set's record (what the chain database stores)."""
        return self.to_record().encode()

    @classmethod
    def decode(cls, raw: bytes) -> ValidatorSet:
        """A set from its record's encoding; DecodeError if it is not one."""
        return cls((v.session_key, v.bond) for v in ValidatorSetRecord.decode(raw).voters)

    def __contains__(self, key: object) -> bool:
        return key in self.weights

    def __len__(self) -> int:
        return len(self.weights)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ValidatorSet) and self.fingerprint == other.fingerprint

    def __hash__(self) -> int:
        return hash(self.fingerprint)

    def __repr__(self) -> str:
        return f"ValidatorSet({len(self)} voters, total {self.total}, 0x{self.fingerprint.hex()[:16]})"

    def stake_of(self, keys: Iterable[bytes]) -> int:
        return sum(self.weights.get(k, 0) for k in keys)


Validators = ValidatorSet | Iterable[tuple[bytes, int]]
"""A ValidatorSet, or (session key, bond) pairs."""


def has_supermajority(stake: int, total: int) -> bool:
    """At least 2/3 of a positive total bond, in integers."""
    return total > 0 and stake * 3 >= total * 2
