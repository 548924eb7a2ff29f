"""msgpack for the records a block stores beside it (its events and outcomes, its undo journal), compiled where
storage/_pack_native.c is built: the very bytes `codec.pack` gives, for the value kinds those records hold; any other
value is packed the Python way. tests/storage/test_pack_native.py holds the two to each other."""

from __future__ import annotations

from array import array
from collections.abc import Callable, Mapping, Sequence
from itertools import accumulate
from sys import byteorder
from typing import Any

import msgpack

from btt_chain.primitives.codec import pack

try:
    from storage import _pack_native  # type: ignore[attr-defined]
except ImportError:  # not built (no C compiler): msgpack's own packer
    _pack_native = None

NATIVE = _pack_native is not None


def pack_each(values: list[Any]) -> tuple[bytes, bytes]:
    """(each value's msgpack joined, u32 little-endian offsets [0, end of the first, ...]): a record table's parts."""
    if _pack_native is not None and type(values) is list:
        packed = _pack_native.pack_each(values)
        if packed is not None:
            return packed  # type: ignore[no-any-return]
    packer = msgpack.Packer(use_bin_type=True)
    parts = [packer.pack(v) for v in values]
    offsets = array("I", accumulate(map(len, parts), initial=0))
    if byteorder != "little":
        offsets.byteswap()
    return b"".join(parts), offsets.tobytes()


def index_records(records: list[Any], count: int) -> tuple[bytes, list[list[Any]], bytes] | None:
    """`storage.block_meta._index`'s indexes of event records in the executive's order, compiled; None where the
    compiled part is not built or the records are not in that order (the Python code then decides)."""
    if _pack_native is None or type(records) is not list or type(count) is not int:
        return None
    return _pack_native.index_records(records, count)  # type: ignore[no-any-return]


def pack_journal(changes: Mapping[bytes, bytes | None]) -> bytes:
    """`pack([[key, value is not None, value or b""], ...])` in the changes' order: a block's undo or redo journal."""
    if _pack_native is not None and type(changes) is dict:
        packed = _pack_native.pack_journal(changes)
        if packed is not None:
            return packed  # type: ignore[no-any-return]
    return pack([[k, v is not None, v or b""] for k, v in changes.items()])


EventKind = tuple[str, str, Callable[[Any], list[Any]]]
"""An event class's (module, name, wire writer); a module of "" for a class that makes its own record."""


def event_records_native(
    events: Sequence[tuple[int, Any]], kinds: dict[type, Any], describe: Callable[[type], EventKind]
) -> list[list[Any]] | None:
    """A block's event records built compiled (`btt_chain.node.chain.event_records` says what they are), or None where
    the compiled part is not built."""
    if _pack_native is None:
        return None
    return _pack_native.event_records(events, kinds, describe)  # type: ignore[no-any-return]


def outcome_records_native(outcomes: Sequence[Any]) -> list[list[Any]] | None:
    """A block's outcome records built compiled (`btt_chain.node.chain.outcome_records`), or None where the compiled
    part is not built."""
    if _pack_native is None:
        return None
    return _pack_native.outcome_records(outcomes)  # type: ignore[no-any-return]
