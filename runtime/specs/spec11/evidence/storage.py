"""Storage of the evidence module: every offence reported, so none is punished twice."""

from __future__ import annotations

from btt_chain.primitives.codec import U64
from btt_chain.primitives.evidence import OFFENCE_KINDS

from ..items import StorageMap, u64_key

M = "evidence"

reports: StorageMap[int] = StorageMap(M, "reports", U64, key_size=41)
"""Offence key -> the block number it was reported in."""


def offence_key(session_key: bytes, kind: str, when: int) -> bytes:
    """session key (32) | offence kind index (1) | slot or target epoch (8, big-endian)."""
    return session_key + bytes([OFFENCE_KINDS.index(kind)]) + u64_key(when)
