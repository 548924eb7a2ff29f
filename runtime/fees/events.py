"""Events of the fees module."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from btt_chain.primitives.codec import ACCOUNT, AMOUNT
from runtime.events import Event


@dataclass(frozen=True)
class FeesDistributed(Event):
    """The block's fees and tips, split: author, stakers' pot, development fund."""

    MODULE: ClassVar[str] = "fees"
    author: bytes
    to_author: int
    to_stakers: int
    to_development: int
    WIRE = (("author", ACCOUNT), ("to_author", AMOUNT), ("to_stakers", AMOUNT), ("to_development", AMOUNT))


EVENTS = (
    FeesDistributed,
)
"""Fixed variant indices in the metadata: append only, never reorder or remove."""
