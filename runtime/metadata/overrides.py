"""Event fields as the metadata gives them, where they are not simply the event class's WIRE.

An event's fields in the metadata come from, in this order:
1. the class's own hook, a classmethod `scale_fields(reg) -> tuple[FieldInfo, ...]` (the fields' names and types
   as FRAME has them, for an event whose encoding is FRAME's);
2. `EVENT_FIELDS` below, for an event class that does not declare its FRAME shape yet;
3. its WIRE, with the names in `EVENT_FIELD_NAMES` where FRAME names the same fields differently.

Whatever the metadata says must be exactly how the event is encoded in `System.Events`.

`System.ExtrinsicSuccess` and `System.ExtrinsicFailed` are FRAME's (`{dispatch_info}`, `{dispatch_error,
dispatch_info}`): substrate-interface and @polkadot/api read an extrinsic's outcome from them. btt's classes
(`runtime/system/events.py`, `runtime/system/dispatch_types.py`) encode exactly these shapes; the entries below give
them FRAME's type paths (`frame_support::dispatch::DispatchInfo`, `sp_runtime::DispatchError` with every variant).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ..metadata import frame_types
from ..metadata.registry import FieldInfo, Registry

EventFields = Callable[[Registry], tuple[FieldInfo, ...]]
HOOK = "scale_fields"


def _extrinsic_success(reg: Registry) -> tuple[FieldInfo, ...]:
    return (FieldInfo(frame_types.dispatch_info(reg), "dispatch_info", "DispatchInfo"),)


def _extrinsic_failed(reg: Registry) -> tuple[FieldInfo, ...]:
    return (
        FieldInfo(frame_types.dispatch_error(reg), "dispatch_error", "DispatchError"),
        FieldInfo(frame_types.dispatch_info(reg), "dispatch_info", "DispatchInfo"),
    )


EVENT_FIELDS: Mapping[tuple[str, str], EventFields] = {
    ("system", "ExtrinsicSuccess"): _extrinsic_success,
    ("system", "ExtrinsicFailed"): _extrinsic_failed,
}
"""(module, event class name) -> its fields in the metadata, replacing its WIRE."""

EVENT_FIELD_NAMES: Mapping[tuple[str, str], tuple[str, ...]] = {
    ("balances", "Transfer"): ("from", "to", "amount"),
    ("balances", "Endowed"): ("account", "free_balance"),
    ("balances", "DustLost"): ("account", "amount"),
}
"""(module, event class name) -> FRAME's names for its WIRE fields (the same types, in the same order)."""
