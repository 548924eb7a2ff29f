"""Validator sets as finality weighs them: session key -> bond and the validator account the key signs for, the record
the chain database keeps beside blocks, and the two-thirds rule in integers.

A set names each member's account (its stash) beside its session key, because an offence is an account's, not a key's:
two votes by two keys of one account (a key rotated on one fork only, say) are judged as one validator's
(`btt_chain.consensus.accountability`). Records written before accounts were kept (a session key and a bond per voter)
still decode; their keys then stand for themselves."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from btt_chain.primitives.codec import ACCOUNT, AMOUNT, HASH, ListOf, Nested, Struct
from btt_chain.primitives.errors import DecodeError
from btt_chain.primitives.hashing import blake2b_256
from btt_chain.primitives.vote import MAX_JUSTIFICATION_VOTES


@dataclass(frozen=True)
class Voter(Struct):
    """One member of a recorded validator set."""

    session_key: bytes
    """The key that signs its votes."""
    bond: int
    """Its voting weight: the bond it was queued with, in base units."""
    account: bytes
    """The validator account (stash) the key signs for: whose offence a slashable pair of this key's votes is."""

    WIRE = (("session_key", HASH), ("bond", AMOUNT), ("account", ACCOUNT))


@dataclass(frozen=True)
class ValidatorSetRecord(Struct):
    """A validator set as the chain database keeps it beside blocks (content-addressed by the hash of this
    encoding): one entry per session key, sorted by key, so equal sets encode alike."""

    voters: tuple[Voter, ...]

    WIRE = (("voters", ListOf(Nested(Voter), MAX_JUSTIFICATION_VOTES)),)


@dataclass(frozen=True)
class _KeyBond(Struct):
    session_key: bytes
    bond: int
    WIRE = (("session_key", HASH), ("bond", AMOUNT))


@dataclass(frozen=True)
class _KeyBondRecord(Struct):
    """The record as databases written before accounts were kept hold it."""

    voters: tuple[_KeyBond, ...]
    WIRE = (("voters", ListOf(Nested(_KeyBond), MAX_JUSTIFICATION_VOTES)),)


class ValidatorSet:
    """Voting weights: session key -> bond, and session key -> account. Build it once per validator-set change and
    pass it around."""

    __slots__ = ("weights", "accounts", "total", "fingerprint")

    def __init__(self, validators: Iterable[tuple[bytes, int]] | Iterable[tuple[bytes, int, bytes]]) -> None:
        """`validators`: (session key, bond) or (session key, bond, account); without an account a key stands for
        itself."""
        weights: dict[bytes, int] = {}
        accounts: dict[bytes, bytes] = {}
        for entry in validators:
            key, bond = entry[0], entry[1]
            account: Any = entry[2] if len(entry) > 2 else key  # type: ignore[misc]
            if bond < 0:
                raise ValueError("a bond cannot be negative")
            # one key listed twice votes once with its combined bond
            weights[key] = weights.get(key, 0) + bond
            accounts.setdefault(key, account)
        self.weights: Mapping[bytes, int] = weights
        self.accounts: Mapping[bytes, bytes] = accounts
        """Session key -> the validator account it signs for."""
        self.total = sum(weights.values())
        self.fingerprint = blake2b_256(self.encode())
        """The hash of the set's record: equal sets have equal fingerprints."""

    @classmethod
    def of(cls, validators: Validators) -> ValidatorSet:
        return validators if isinstance(validators, ValidatorSet) else cls(validators)

    @classmethod
    def from_infos(cls, infos: Iterable[Any]) -> ValidatorSet:
        """The set of session `ValidatorInfo`s (anything with `session_key`, `bond` and `account`)."""
        return cls((v.session_key, v.bond, v.account) for v in infos)

    def to_record(self) -> ValidatorSetRecord:
        return ValidatorSetRecord(tuple(Voter(k, b, self.accounts[k]) for k, b in sorted(self.weights.items())))

    def encode(self) -> bytes:
        """The canonical encoding of the set's record (what the chain database stores)."""
        return self.to_record().encode()

    @classmethod
    def decode(cls, raw: bytes) -> ValidatorSet:
        """A set from its record's encoding (or from a record written before accounts were kept); DecodeError if it
        is neither."""
        try:
            return cls((v.session_key, v.bond, v.account) for v in ValidatorSetRecord.decode(raw).voters)
        except DecodeError:
            try:
                return cls((v.session_key, v.bond) for v in _KeyBondRecord.decode(raw).voters)
            except DecodeError:
                pass
            raise

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

    def account_of(self, key: bytes) -> bytes | None:
        """The account `key` signs for in this set, or None if it is no member."""
        return self.accounts.get(key)

    def stake_of_accounts(self, accounts: Iterable[bytes]) -> int:
        """The bonds of the members whose account is among `accounts`."""
        wanted = set(accounts)
        return sum(b for k, b in self.weights.items() if self.accounts[k] in wanted)


Validators = ValidatorSet | Iterable[tuple[bytes, int]] | Iterable[tuple[bytes, int, bytes]]
"""A ValidatorSet, or (session key, bond[, account]) entries."""


def has_supermajority(stake: int, total: int) -> bool:
    """At least 2/3 of a positive total bond, in integers."""
    return total > 0 and stake * 3 >= total * 2
