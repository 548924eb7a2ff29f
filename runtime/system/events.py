"""Events of the system module."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from btt_chain.primitives.codec import ACCOUNT, HASH, Nested
from btt_chain.primitives.frozen import fast_init
from runtime.events import Event
from runtime.system.dispatch_types import DispatchErrorValue, DispatchInfo


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
        from runtime.metadata.indices import error_name

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


EVENTS = (
    ExtrinsicSuccess,
    ExtrinsicFailed,
    NewAccount,
    Remarked,
)
"""Fixed variant indices in the metadata: append only, never reorder or remove."""
