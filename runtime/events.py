"""Runtime events: frozen structs tagged with their module; rendered for RPC with readable amounts."""

from __future__ import annotations

from typing import Any, ClassVar

from btt_chain.primitives.codec import U128, AccountId, Struct


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
        for fname, f in self.WIRE:
            value = getattr(self, fname)
            if isinstance(f, U128):
                out[fname] = str(value)
            elif isinstance(f, AccountId):
                out[fname] = render_account(value)
            elif isinstance(value, bytes):
                out[fname] = "0x" + value.hex()
            else:
                out[fname] = value
        return out
