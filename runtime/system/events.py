"""Events of the system module."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from btt_chain.primitives.codec import ACCOUNT, AMOUNT, HASH, U32, Text
from runtime.events import Event


@dataclass(frozen=True)
class ExtrinsicSuccess(Event):
    MODULE: ClassVar[str] = "system"
    index: int
    fee: int
    WIRE = (("index", U32), ("fee", AMOUNT))


@dataclass(frozen=True)
class ExtrinsicFailed(Event):
    MODULE: ClassVar[str] = "system"
    index: int
    fee: int
    error: str
    WIRE = (("index", U32), ("fee", AMOUNT), ("error", Text(512)))


@dataclass(frozen=True)
class NewAccount(Event):
    MODULE: ClassVar[str] = "system"
    account: bytes
    WIRE = (("account", ACCOUNT),)


@dataclass(frozen=True)
class Remarked(Event):
    MODULE: ClassVar[str] = "system"
    sender: bytes
    remark_hash: bytes
    WIRE = (("sender", ACCOUNT), ("remark_hash", HASH))


EVENTS = (
    ExtrinsicSuccess,
    ExtrinsicFailed,
    NewAccount,
    Remarked,
)
"""Fixed variant indices in the metadata: append only, never reorder or remove."""
