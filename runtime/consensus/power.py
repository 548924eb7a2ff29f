"""The epoch power table: each validator's leader weight from its bond and its matured work credit.

docs/architecture.md, Consensus 2: with sigma_i the validator's share of validator bonds and omega_i its share of
the validators' matured work credit, the weight is w_i = 1/2 sigma_i + 1/2 min(omega_i, sigma_i), in parts
per `SCALE`. Work can at most double a validator's stake-only weight, so a coalition with stake share
a < 1/3 holds at most 2a / (1 + a) < 1/2 of the total weight however much work it fakes.

Weights are computed exactly with integers and rounded down once: with B the total bond and C the total
credit, w_i = (bond_i * C + min(credit_i * B, bond_i * C)) * SCALE // (2 * B * C), or bond_i * SCALE // (2 * B)
when nobody has credit. The sum of the weights never exceeds SCALE. Pure: no storage, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from btt_chain.primitives.codec import ACCOUNT, AMOUNT, HASH, Struct

SCALE = 10**18
"""Weights and shares are parts per SCALE (SCALE = the whole)."""


@dataclass(frozen=True)
class PowerEntry(Struct):
    """One validator's row of the epoch power table."""

    account: bytes
    """The validator's (stash) account."""
    session_key: bytes
    """The ed25519 key that signs its blocks and votes."""
    bond: int
    """Its active bond in base units."""
    credit: int
    """Matured work credit over the window, of the provider account linked to the validator."""
    weight: int
    """Leader weight in parts per SCALE: 1/2 stake share + 1/2 min(work share, stake share)."""
    WIRE = (("account", ACCOUNT), ("session_key", HASH), ("bond", AMOUNT), ("credit", AMOUNT), ("weight", AMOUNT))


def power_table(validators: Sequence[tuple[bytes, bytes, int]], credits: Mapping[bytes, int]) -> tuple[PowerEntry, ...]:
    """The power table for (account, session key, bond) triples, in input order.

    `credits` maps validator accounts to matured work credit; accounts not in it have none, and entries for
    accounts that are not validators are ignored. Raises ValueError on a malformed triple, a negative bond
    or credit, or an account or session key that appears twice.
    """
    accounts: set[bytes] = set()
    keys: set[bytes] = set()
    rows: list[tuple[bytes, bytes, int, int]] = []
    for triple in validators:
        if len(triple) != 3:
            raise ValueError(f"power table: expected (account, session_key, bond), got {triple!r}")
        account, session_key, bond = triple
        if type(account) is not bytes or len(account) != 32:
            raise ValueError(f"power table: account must be 32 bytes, got {account!r}")
        if type(session_key) is not bytes or len(session_key) != 32:
            raise ValueError(f"power table: session key of {account.hex()} must be 32 bytes, got {session_key!r}")
        if type(bond) is not int or bond < 0:
            raise ValueError(f"power table: bond of {account.hex()} must be a non-negative integer, got {bond!r}")
        if account in accounts:
            raise ValueError(f"power table: validator account {account.hex()} appears twice")
        if session_key in keys:
            raise ValueError(f"power table: session key {session_key.hex()} appears twice")
        credit = credits.get(account, 0)
        if type(credit) is not int or credit < 0:
            raise ValueError(f"power table: credit of {account.hex()} must be a non-negative integer, got {credit!r}")
        accounts.add(account)
        keys.add(session_key)
        rows.append((account, session_key, bond, credit))

    total_bond = sum(r[2] for r in rows)
    total_credit = sum(r[3] for r in rows)
    return tuple(
        PowerEntry(
            account=account,
            session_key=session_key,
            bond=bond,
            credit=credit,
            weight=_weight(bond, credit, total_bond, total_credit),
        )
        for account, session_key, bond, credit in rows
    )


def _weight(bond: int, credit: int, total_bond: int, total_credit: int) -> int:
    """floor(SCALE * (s/2 + min(o, s)/2)) with s = bond / total_bond, o = credit / total_credit."""
    if bond == 0 or total_bond == 0:
        return 0
    if total_credit == 0:
        return bond * SCALE // (2 * total_bond)
    stake = bond * total_credit
    work = min(credit * total_bond, stake)
    return (stake + work) * SCALE // (2 * total_bond * total_credit)


def total_weight(table: Sequence[PowerEntry]) -> int:
    """The sum of the weights of a table (at most SCALE)."""
    return sum(e.weight for e in table)


def stake_share(entry: PowerEntry, table: Sequence[PowerEntry]) -> int:
    """The entry's share of the table's bonds, in parts per SCALE (rounded down; 0 if nobody is bonded)."""
    total = sum(e.bond for e in table)
    return 0 if total == 0 else entry.bond * SCALE // total


def work_share(entry: PowerEntry, table: Sequence[PowerEntry]) -> int:
    """The entry's share of the table's work credit, in parts per SCALE (rounded down; 0 if nobody has credit)."""
    total = sum(e.credit for e in table)
    return 0 if total == 0 else entry.credit * SCALE // total
