"""Events of the system module."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from btt_chain.primitives.codec import ACCOUNT, HASH, U32, Nested, Text
from btt_chain.primitives.frozen import fast_init
from runtime.events import Event

from ..system.dispatch_types import DispatchErrorValue, DispatchInfo


@fast_init
@dataclass(frozen=True)
class ExtrinsicSuccess(Event):
    """FRAME's: an extrinsic completed; what it was charged for. (Its fee is `TransactionPayment.TransactionFeePaid`,
    its index the event's phase.)"""

    MODULE: ClassVar[str] = "system"
    dispatch_info: DispatchInfo
    WIRE = (("dispatch_info", Nested(DispatchInfo)),)


@fast_init
@dataclass(frozen=True)
class ExtrinsicFailed(Event):
    """FRAME's: an extrinsic failed, with the module error (its readable text is in the block's outcome record,
    `btt_extrinsicStatus`)."""

    MODULE: ClassVar[str] = "system"
    dispatch_error: DispatchErrorValue
    dispatch_info: DispatchInfo
    WIRE = (("dispatch_error", Nested(DispatchErrorValue)), ("dispatch_info", Nested(DispatchInfo)))

    def to_json(self, render_account: Any) -> dict[str, Any]:
        """As every event, and the error by name (`balances.InsufficientBalance`; null for `Other`)."""
        from ..metadata.indices import error_name

        out = super().to_json(render_account)
        error = self.dispatch_error
        named = error_name(error.pallet, error.error) if error.variant else None
        out["error"] = None if named is None else f"{named[0]}.{named[1]}"
        return out


@fast_init
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


@dataclass(frozen=True)
class SpecScheduled(Event):
    """Governance scheduled an upgrade: block `at` is the first to run under spec `spec`'s rules."""

    MODULE: ClassVar[str] = "system"
    spec: int
    at: int
    WIRE = (("spec", U32), ("at", U32))


@dataclass(frozen=True)
class SpecCancelled(Event):
    """Governance cancelled the scheduled upgrade before its block."""

    MODULE: ClassVar[str] = "system"
    spec: int
    at: int
    WIRE = (("spec", U32), ("at", U32))


@dataclass(frozen=True)
class SpecUpgraded(Event):
    """This block is the first under spec `to`'s rules (FRAME's `CodeUpdated`); its migrations start here."""

    MODULE: ClassVar[str] = "system"
    from_spec: int
    to: int
    WIRE = (("from_spec", U32), ("to", U32))


@dataclass(frozen=True)
class MigrationCompleted(Event):
    """One migration of the upgrade finished: module `pallet` is at storage version `version`, after `items` items
    over `blocks` blocks. (Not `module`: an event's JSON names its own module under that key.)"""

    MODULE: ClassVar[str] = "system"
    pallet: str
    version: int
    migration: str
    items: int
    blocks: int
    WIRE = (("pallet", Text(32)), ("version", U32), ("migration", Text(128)), ("items", U32), ("blocks", U32))


@dataclass(frozen=True)
class MigrationsCompleted(Event):
    """Every migration of the upgrade to `spec` finished: transactions are taken again from this block on."""

    MODULE: ClassVar[str] = "system"
    spec: int
    blocks: int
    WIRE = (("spec", U32), ("blocks", U32))


EVENTS = (
    ExtrinsicSuccess,
    ExtrinsicFailed,
    NewAccount,
    Remarked,
    SpecScheduled,
    SpecCancelled,
    SpecUpgraded,
    MigrationCompleted,
    MigrationsCompleted,
)
"""Fixed variant indices in the metadata: append only, never reorder or remove."""
