"""Events of the evidence module."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from btt_chain.primitives.codec import ACCOUNT, AMOUNT, Text
from runtime.events import Event


@dataclass(frozen=True)
class Slashed(Event):
    """A validator's bond was slashed for an offence: `burned` destroyed, `reward` paid to the reporter."""

    MODULE: ClassVar[str] = "evidence"
    validator: bytes
    burned: int
    reward: int
    offence: str
    WIRE = (("validator", ACCOUNT), ("burned", AMOUNT), ("reward", AMOUNT), ("offence", Text(32)))


@dataclass(frozen=True)
class ValidatorRemoved(Event):
    """A slashed validator's bond fell to zero and it left the validator set."""

    MODULE: ClassVar[str] = "evidence"
    validator: bytes
    WIRE = (("validator", ACCOUNT),)


EVENTS = (
    Slashed,
    ValidatorRemoved,
)
"""Fixed variant indices in the metadata: append only, never reorder or remove."""
