"""Runtime events: frozen structs tagged with their module; rendered for RPC with readable amounts."""

from __future__ import annotations

from typing import Any, ClassVar, TypeGuard, TypeVar

from btt_chain.primitives.codec import U128, AccountId, Nested, Struct


class Event(Struct):
    """Base of every event. Subclasses are frozen dataclasses with WIRE fields and a MODULE name."""

    MODULE: ClassVar[str] = "runtime"
    RECEIPT: ClassVar[bool] = False
    """True for the events that are receipts (their root is in the block header)."""

    @property
    def name(self) -> str:
        return type(self).__name__

    def to_record(self) -> list[Any]:
        """[module, name, fields-wire] as stored beside a block."""
        return [self.MODULE, self.name, self.to_wire()]

    def to_json(self, render_account: Any) -> dict[str, Any]:
        """A JSON-friendly dict: accounts through `render_account`, amounts as decimal strings."""
        out: dict[str, Any] = {"module": self.MODULE, "event": self.name}
        out.update(_fields_json(self, render_account))
        return out


E = TypeVar("E", bound="Event")


def is_event(event: Event, cls: type[E]) -> TypeGuard[E]:
    """Whether `event` is a `cls` event of whichever spec emitted it (each spec has its own event classes: compare by
    module and name, not by class)."""
    return type(event).__name__ == cls.__name__ and event.MODULE == cls.MODULE


def _fields_json(value: Struct, render_account: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for fname, f in value.WIRE:
        field_value = getattr(value, fname)
        if isinstance(f, U128):
            out[fname] = str(field_value)
        elif isinstance(f, AccountId):
            out[fname] = render_account(field_value)
        elif isinstance(field_value, bytes):
            out[fname] = "0x" + field_value.hex()
        elif isinstance(f, Nested) and isinstance(field_value, Struct):
            out[fname] = _fields_json(field_value, render_account)
        else:
            out[fname] = field_value
    return out
