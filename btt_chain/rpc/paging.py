"""What bounds the cost of one RPC call, in one place: the parameter parsers for pages (`int_in`) and bounded reads
of storage (`bounded_scan`), which stop after a stated number of items and say where they stopped.

Every call runs on the node's event loop between blocks, so each method states its bound in its docstring (the
API docs): a page size, a number of items examined per call, or both; when the bound ends a scan early the reply
says where it stopped, so a client can go on from there.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol, cast

from btt_chain.rpc.at import reader_at
from btt_chain.rpc.errors import invalid_params
from btt_chain.rpc.params import decode_hex
from btt_chain.rpc.registry import RpcContext
from runtime.overlay import Overlay


def int_in(what: str, low: int, high: int) -> Any:
    """A parser of an integer parameter from `low` to `high`."""

    def parse(value: Any, ctx: RpcContext) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise invalid_params(f"{what}: expected an integer from {low} to {high}, got {value!r}"[:160])
        return value

    return parse


def is_decimal(text: str) -> bool:
    """Whether `text` is a non-empty run of the ASCII digits 0-9 (`str.isdigit` also takes '¹' or '٣', which
    `int` refuses or reads as another number)."""
    return text.isascii() and text.isdigit()


def hex_key(value: Any, ctx: RpcContext) -> bytes:
    """A cursor: the 0x-hex key a previous page returned as `next`."""
    return decode_hex(value, "cursor", max_len=256)


class SeekableReader(Protocol):
    """A state reader that scans a prefix from a key on (the flat state at the head, or a past block's state)."""

    def get(self, key: bytes) -> bytes | None: ...

    def iterate(
        self, prefix: bytes, reverse: bool = False, start: bytes | None = None
    ) -> Iterator[tuple[bytes, bytes]]: ...


def state_views(ctx: RpcContext, at: bytes | None) -> tuple[SeekableReader, Overlay]:
    """The state at `at` (None: the head) as a reader that streams a prefix from any key (`bounded_scan`) and as an
    Overlay over it for the runtime's storage items (`Overlay.iterate` gathers a whole prefix before it yields)."""
    reader = reader_at(ctx, at)[2]
    return cast(SeekableReader, reader), Overlay(reader)


@dataclass
class Scan:
    """(key, value) pairs a bounded scan of a storage prefix read, and where to go on from if it stopped early."""

    items: list[tuple[bytes, bytes]]
    next: bytes | None
    """The last key read, when the bound stopped the scan before the end of the prefix (None: it reached it)."""


def bounded_scan(
    reader: SeekableReader, prefix: bytes, budget: int, after: bytes | None = None, reverse: bool = False
) -> Scan:
    """At most `budget` (key, value) pairs under `prefix` in key order (descending if `reverse`), those past the key
    `after` if given (found by a seek): the cost follows `budget`, not the size of the prefix."""
    items: list[tuple[bytes, bytes]] = []
    for key, value in reader.iterate(prefix, reverse, after):
        if key == after:
            continue
        if len(items) >= budget:
            return Scan(items, items[-1][0] if items else after)
        items.append((key, value))
    return Scan(items, None)


def wire_index(cls: Any, field: str) -> int:
    """The position of `field` in a stored Struct's wire form (so a filter reads it without building the Struct)."""
    return [name for name, _ in cls.WIRE].index(field)


def wire_of(cls: Any, raw: bytes) -> Any:
    """A stored Struct's wire form (lists of ints, bytes and strings, fields at `wire_index`) from its SCALE bytes."""
    return cls.decode_at(raw, 0)[0].to_wire()
