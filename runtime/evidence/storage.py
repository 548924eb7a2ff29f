"""Storage of the evidence module: every offence reported, so none is punished twice."""

from __future__ import annotations

from btt_chain.primitives.codec import U64
from btt_chain.primitives.evidence import OFFENCE_KINDS

from ..items import StorageMap, u64_key

M = "evidence"

offences: StorageMap[int] = StorageMap(M, "offences", U64, key_size=41)
"""Offence key (the offender's account first) -> the block number it was reported in. Storage version 1: spec 11
kept `reports` by the signing session key instead; `evidence.migrations` moved them here."""


def offence_key(account: bytes, kind: str, when: int) -> bytes:
    """account (32) | offence kind index (1) | slot or target epoch (8, big-endian). One offence of one account,
    whichever of its keys signed the evidence."""
    return account + bytes([OFFENCE_KINDS.index(kind)]) + u64_key(when)
