"""Events of the multisig module."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from btt_chain.primitives.codec import ACCOUNT, BOOL, HASH, U64, Text
from runtime.events import Event


@dataclass(frozen=True)
class NewMultisig(Event):
    """The first approval of a call: `approver` reserved the deposit."""

    MODULE: ClassVar[str] = "multisig"
    multisig: bytes
    approver: bytes
    call_hash: bytes
    WIRE = (("multisig", ACCOUNT), ("approver", ACCOUNT), ("call_hash", HASH))


@dataclass(frozen=True)
class Approval(Event):
    MODULE: ClassVar[str] = "multisig"
    multisig: bytes
    approver: bytes
    call_hash: bytes
    approvals: int
    WIRE = (("multisig", ACCOUNT), ("approver", ACCOUNT), ("call_hash", HASH), ("approvals", U64))


@dataclass(frozen=True)
class Executed(Event):
    """The threshold was reached and the call ran: `ok`, or failed with `error` (its writes undone)."""

    MODULE: ClassVar[str] = "multisig"
    multisig: bytes
    call_hash: bytes
    ok: bool
    error: str
    WIRE = (("multisig", ACCOUNT), ("call_hash", HASH), ("ok", BOOL), ("error", Text(512)))


@dataclass(frozen=True)
class Cancelled(Event):
    MODULE: ClassVar[str] = "multisig"
    multisig: bytes
    call_hash: bytes
    WIRE = (("multisig", ACCOUNT), ("call_hash", HASH))


EVENTS = (
    NewMultisig,
    Approval,
    Executed,
    Cancelled,
)
"""Fixed variant indices in the metadata: append only, never reorder or remove."""
