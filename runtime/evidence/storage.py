"""Storage of the evidence module: every offence reported, so none is punished twice."""

from __future__ import annotations

from collections.abc import Iterable

from btt_chain.primitives.codec import U64
from btt_chain.primitives.evidence import OFFENCE_KINDS
from runtime.items import StorageMap, u64_key

M = "evidence"

reports: StorageMap[int] = StorageMap(M, "reports", U64, key_size=41)
"""Offence key -> the block number it was reported in."""


def offence_key(account: bytes, kind: str, when: int) -> bytes:
    """account (32) | offence kind index (1) | slot or target epoch (8, big-endian). One offence of one account,
    whichever of its keys signed the evidence."""
    return account + bytes([OFFENCE_KINDS.index(kind)]) + u64_key(when)


def offence_keys(account: bytes, kind: str, when: int, session_keys: Iterable[bytes]) -> tuple[bytes, ...]:
    """The keys under which this offence may already be recorded: the account's, and (as reports were keyed before
    offences were an account's) each signing session key's."""
    return tuple(dict.fromkeys(offence_key(k, kind, when) for k in (account, *session_keys)))
