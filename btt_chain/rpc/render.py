"""JSON rendering for RPC: headers (Substrate-style 0x-hex numbers), accounts and events (decimal-string amounts)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from btt_chain.primitives.address import encode_address
from btt_chain.primitives.block import Header
from btt_chain.primitives.errors import DecodeError
from runtime.events import Event
from runtime.system.types import AccountInfo

log = logging.getLogger("btt.rpc")

PHASE_INITIALIZATION = 2**32 - 1
PHASE_FINALIZATION = 2**32 - 2

AccountRenderer = Callable[[bytes], str]


def hex0x(data: bytes) -> str:
    return "0x" + data.hex()


def number_hex(n: int) -> str:
    """Substrate's header number form: '0x1a' (no leading zeros)."""
    return hex(n)


def account_renderer(ss58_prefix: int) -> AccountRenderer:
    return lambda account_id: encode_address(account_id, ss58_prefix)


def render_header(header: Header) -> dict[str, Any]:
    """Substrate's header JSON, and nothing else (sp-runtime's `Header` is `deny_unknown_fields`): each digest item as
    its SCALE hex. Clients hash the SCALE header themselves; btt's own fields are in `btt_header`."""
    return {
        "parentHash": hex0x(header.parent_hash),
        "number": number_hex(header.number),
        "stateRoot": hex0x(header.state_root),
        "extrinsicsRoot": hex0x(header.extrinsics_root),
        "digest": {"logs": [hex0x(item) for item in header.digest_items()]},
    }


def render_btt_header(header: Header, block_hash: bytes, ss58_prefix: int) -> dict[str, Any]:
    """The header with btt's consensus fields by name (`btt_header`): slot, time, receipts root, author, reveal,
    seal, and the block hash."""
    return {
        "parentHash": hex0x(header.parent_hash),
        "number": number_hex(header.number),
        "slot": number_hex(header.slot),
        "timestamp": number_hex(header.timestamp_ms),
        "stateRoot": hex0x(header.state_root),
        "extrinsicsRoot": hex0x(header.extrinsics_root),
        "receiptsRoot": hex0x(header.receipts_root),
        "author": encode_address(header.author, ss58_prefix),
        "digest": {"reveal": hex0x(header.digest.reveal)},
        "signature": hex0x(header.signature),
        "hash": hex0x(block_hash),
    }


def render_account(account_id: bytes, info: AccountInfo, ss58_prefix: int) -> dict[str, Any]:
    return {
        "address": encode_address(account_id, ss58_prefix),
        "nonce": info.nonce,
        "free": str(info.free),
        "reserved": str(info.reserved),
        "frozen": str(info.frozen),
        "spendable": str(info.spendable),
    }


# events ---------------------------------------------------------------------------------------------


def _all_subclasses(cls: type[Event]) -> list[type[Event]]:
    out = []
    for sub in cls.__subclasses__():
        out.append(sub)
        out.extend(_all_subclasses(sub))
    return out


def _build_event_registry() -> dict[tuple[str, str], type[Event]]:
    import runtime.executive  # noqa: F401  (loads the fee events)
    import runtime.modules  # noqa: F401  (loads every module's events)

    registry: dict[tuple[str, str], type[Event]] = {}
    for cls in _all_subclasses(Event):
        registry.setdefault((cls.MODULE, cls.__name__), cls)
    return registry


_EVENT_TYPES: dict[tuple[str, str], type[Event]] = {}


def event_type(module: str, name: str) -> type[Event] | None:
    """The Event class recorded as (module, name); the registry is rebuilt once on a miss (late imports)."""
    key = (module, name)
    if key not in _EVENT_TYPES:
        _EVENT_TYPES.update(_build_event_registry())
    return _EVENT_TYPES.get(key)


def render_phase(phase: int) -> int | str:
    if phase == PHASE_INITIALIZATION:
        return "initialization"
    if phase == PHASE_FINALIZATION:
        return "finalization"
    return phase


def _render_wire(value: Any) -> Any:
    if isinstance(value, bytes):
        return hex0x(value)
    if isinstance(value, list):
        return [_render_wire(v) for v in value]
    return value


def render_event_record(record: Any, render: AccountRenderer) -> dict[str, Any]:
    """One stored record [phase, module, event name, fields wire] as JSON; unknown events keep their raw fields."""
    phase, module, name, fields = record
    out: dict[str, Any] = {"phase": render_phase(phase)}
    cls = event_type(module, name)
    if cls is not None:
        try:
            out.update(cls.from_wire(fields).to_json(render))
            return out
        except (DecodeError, TypeError, ValueError) as exc:
            log.warning("cannot decode stored event %s.%s: %s", module, name, exc)
    out.update({"module": module, "event": name, "fields": _render_wire(fields)})
    return out
