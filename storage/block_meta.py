"""What executing a block produced, kept beside it for RPC (`BlockMeta`), and how it is stored so that a reader
finds one extrinsic's events and outcome, a range of events, or the events of some kinds, without decoding the
rest (`MetaView`). A block of 10,000 transfers holds 30,001 event records (2.4 MB); decoding them all takes
50-120 ms, reading one extrinsic's from the view a few microseconds.

Stored form (format 2), one msgpack array:
    [2, events, event offsets, extrinsic starts, kinds, kind table, outcomes, outcome offsets]
`events` is the concatenated msgpack encodings of the event records [phase, module, name, fields] grouped by
phase: initialization, extrinsic 0, 1, ..., then finalization (the executive emits them in that order, so the
groups are the emission order). `event offsets` (little-endian u32, one per record and one past the end) say
where each record starts in `events`. `extrinsic starts` (u32, extrinsic count + 1) say where each extrinsic's
records start in the record list: extrinsic i's are [starts[i], starts[i+1]), the initialization events are
before starts[0] and the finalization events from starts[-1] on. `kinds` (u16, one per record) number each
record's (module, event name) in `kind table`. `outcomes` and `outcome offsets` do the same for the outcomes
[index, success, fee, weight, error], at position == extrinsic index (nil where a block had none).

Format 1 (before the indexes) was [events, outcomes]: it still decodes, and a view of it computes the indexes
when read.
"""

from __future__ import annotations

import sys
from array import array
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import accumulate, islice
from operator import itemgetter, le
from typing import Any

import msgpack

from btt_chain.primitives.codec import pack
from storage.record_pack import index_records, pack_each

FORMAT = 2
PHASE_INITIALIZATION = 2**32 - 1
"""The stored phase of events emitted before the first extrinsic (`on_initialize`)."""
PHASE_FINALIZATION = 2**32 - 2

_LITTLE = sys.byteorder == "little"


def _u_array(code: str, values: Any) -> bytes:
    a = array(code, values)
    if not _LITTLE:
        a.byteswap()
    return a.tobytes()


def _from_u_array(code: str, raw: bytes) -> array[int]:
    a = array(code)
    a.frombytes(raw)
    if not _LITTLE:
        a.byteswap()
    return a


def _array_header(n: int) -> bytes:
    """The msgpack header of an array of n items: with the items' encodings after it, the array's encoding."""
    if n < 16:
        return bytes([0x90 | n])
    if n < 2**16:
        return b"\xdc" + n.to_bytes(2, "big")
    return b"\xdd" + n.to_bytes(4, "big")


def _unpack(raw: bytes) -> Any:
    return msgpack.unpackb(raw, raw=False)


class RecordTable:
    """Records stored as their concatenated encodings with an offset per record: any one, or any range, decodes
    on its own."""

    __slots__ = ("blob", "_offsets")

    def __init__(self, blob: bytes, offsets: bytes) -> None:
        self.blob = blob
        self._offsets = offsets

    @classmethod
    def build(cls, records: list[Any]) -> RecordTable:
        return cls(*pack_each(records))

    def __len__(self) -> int:
        return len(self._offsets) // 4 - 1

    def offset(self, i: int) -> int:
        return int.from_bytes(self._offsets[4 * i : 4 * i + 4], "little")

    def get(self, i: int) -> Any:
        return _unpack(self.blob[self.offset(i) : self.offset(i + 1)])

    def range(self, start: int, stop: int) -> list[Any]:
        """Records [start, stop) (clamped to the table)."""
        start, stop = max(0, start), min(stop, len(self))
        if start >= stop:
            return []
        result: list[Any] = _unpack(_array_header(stop - start) + self.blob[self.offset(start) : self.offset(stop)])
        return result

    def holds(self, needle: bytes, start: int, stop: int) -> bool:
        """Whether the encodings of records [start, stop) contain `needle` (a byte search: no record is decoded)."""
        start, stop = max(0, start), min(stop, len(self))
        return start < stop and self.blob.find(needle, self.offset(start), self.offset(stop)) >= 0

    @property
    def size(self) -> int:
        return len(self.blob) + len(self._offsets)


class _Kinds(dict[tuple[str, str], int]):
    """(module, name) -> kind number, numbered in order of first appearance."""

    def __missing__(self, key: tuple[str, str]) -> int:
        kind = self[key] = len(self)
        return kind


_KIND = itemgetter(1, 2)
_PHASE = itemgetter(0)


def _group(phase: Any, count: int) -> int:
    """0: initialization, i + 1: extrinsic i, count + 1: finalization (and any phase no extrinsic has)."""
    if phase == PHASE_INITIALIZATION:
        return 0
    if isinstance(phase, int) and 0 <= phase < count:
        return phase + 1
    return count + 1


def _index(events: list[Any], count: int) -> tuple[list[Any], bytes, list[list[Any]], bytes]:
    """A block's event records in group order with their indexes: (the records, each one's kind number as u16, the kind
    table [[module, name], ...] in order of first appearance, where each group from extrinsic 0's on starts as u32),
    for `count` extrinsics. Compiled where storage/_pack_native.c is built (`index_records`, for records in the
    executive's order); `_index_py` is the rule, and decides every other case."""
    native = index_records(events, count)
    if native is not None:
        kind_ids, kind_table, starts = native
        return events, kind_ids, kind_table, starts
    return _index_py(events, count)


def _index_py(events: list[Any], count: int) -> tuple[list[Any], bytes, list[list[Any]], bytes]:
    # the executive emits initialization events, then each extrinsic's in index order, then finalization
    # events: checked and counted with C-level passes (this runs for every imported block)
    kinds = _Kinds()
    kind_ids = list(map(kinds.__getitem__, map(_KIND, events)))
    phases = list(map(_PHASE, events))
    n0, n1 = 0, len(phases)
    while n0 < n1 and phases[n0] == PHASE_INITIALIZATION:
        n0 += 1
    while n1 > n0 and phases[n1 - 1] >= count and phases[n1 - 1] != PHASE_INITIALIZATION:
        n1 -= 1
    middle = phases[n0:n1]
    if all(map(le, middle, islice(middle, 1, None))) and (not middle or middle[-1] < count):
        per_group = [n0, *(0 for _ in range(count)), len(phases) - n1]
        for phase, n in Counter(middle).items():
            per_group[phase + 1] = n
    else:  # not in that order (never written so, but the index must hold whatever the records say)
        groups = [_group(p, count) for p in phases]
        order = sorted(range(len(events)), key=groups.__getitem__)  # stable: emission order within a group
        events, kind_ids = [events[i] for i in order], [kind_ids[i] for i in order]
        per_group = [0] * (count + 2)
        for g in groups:
            per_group[g] += 1
    first = list(accumulate(per_group, initial=0))  # first[g]: the first record of group g
    if len(kinds) >= 2**16:
        raise ValueError(f"{len(kinds)} kinds of event in one block: more than a u16 numbers")
    return events, _u_array("H", kind_ids), [list(k) for k in kinds], _u_array("I", first[1 : count + 2])


@dataclass(frozen=True)
class BlockMeta:
    """What executing a block produced, kept beside it for RPC: event records [phase, module, name, fields wire]
    in emission order and per-extrinsic outcomes [index, success, fee (16 bytes), weight, error] in index order.
    Readers that need a part of it use `MetaView` (`ChainDB.block_meta_view`)."""

    events: list[Any]
    outcomes: list[Any]

    def encode(self) -> bytes:
        return pack(self._indexed())

    def _indexed(self) -> list[Any]:
        outcomes = self.outcomes
        count = len(outcomes)
        if any(o is None or o[0] != i for i, o in enumerate(outcomes)):
            count = max((o[0] + 1 for o in outcomes if o is not None), default=0)
            by_index: list[Any] = [None] * count
            for o in outcomes:
                if o is not None:
                    by_index[o[0]] = o
            outcomes = by_index
        events, kind_ids, kind_table, starts = _index(self.events, count)
        table = RecordTable.build(events)
        out_table = RecordTable.build(outcomes)
        return [
            FORMAT,
            table.blob,
            table._offsets,
            starts,
            kind_ids,
            kind_table,
            out_table.blob,
            out_table._offsets,
        ]

    @classmethod
    def decode(cls, raw: bytes) -> BlockMeta:
        """Every record decoded (costly for a full block: `MetaView.decode` reads parts)."""
        wire = _unpack(raw)
        if len(wire) == 2:
            events, outcomes = wire
            return cls(events, outcomes)
        view = MetaView.from_wire(wire)
        return cls(view.events(0, view.event_count), [o for o in view.outcome_list() if o is not None])


class MetaView:
    """A stored BlockMeta read by part: an extrinsic's events by the index, an outcome by position, a range of
    events, and the kinds of event (module, name) with their positions, each without decoding the others.
    Immutable (its parts are bytes), so one view may serve any number of readers."""

    __slots__ = ("_events", "_starts", "_kinds", "kind_table", "_outcomes", "size")

    def __init__(self, events: RecordTable, starts: bytes, kinds: bytes, kind_table: list[Any],
                 outcomes: RecordTable) -> None:
        self._events = events
        self._starts = starts
        self._kinds = kinds
        self.kind_table: list[tuple[str, str]] = [(str(m), str(n)) for m, n in kind_table]
        """(module, event name) by kind number."""
        self._outcomes = outcomes
        self.size = events.size + len(starts) + len(kinds) + outcomes.size
        """Bytes it holds (what a cache of views counts)."""

    @classmethod
    def decode(cls, raw: bytes) -> MetaView:
        """The view of a stored meta; a format-1 meta is decoded whole and indexed here (once per read)."""
        wire = _unpack(raw)
        if len(wire) == 2:
            wire = BlockMeta(wire[0], wire[1])._indexed()
        return cls.from_wire(wire)

    @classmethod
    def from_wire(cls, wire: list[Any]) -> MetaView:
        if wire[0] != FORMAT:
            raise ValueError(f"block meta format {wire[0]!r}: this node reads 1 and {FORMAT}")
        _, events, offsets, starts, kinds, kind_table, outcomes, outcome_offsets = wire
        return cls(RecordTable(events, offsets), starts, kinds, kind_table, RecordTable(outcomes, outcome_offsets))

    # counts ----------------------------------------------------------------------------------------
    @property
    def extrinsic_count(self) -> int:
        return len(self._starts) // 4 - 1

    @property
    def event_count(self) -> int:
        return len(self._events)

    # events ----------------------------------------------------------------------------------------
    def _start(self, i: int) -> int:
        return int.from_bytes(self._starts[4 * i : 4 * i + 4], "little")

    def event_range(self, index: int) -> tuple[int, int]:
        """[start, end) of extrinsic `index`'s records among the block's events (empty if there is no such one)."""
        if not 0 <= index < self.extrinsic_count:
            return 0, 0
        return self._start(index), self._start(index + 1)

    def outside_ranges(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """[start, end) of the initialization records and of the finalization records."""
        n = self.extrinsic_count
        return (0, self._start(0)), (self._start(n), self.event_count)

    def events(self, start: int, stop: int) -> list[Any]:
        """Records [start, stop) in stored order."""
        return self._events.range(start, stop)

    def events_of(self, index: int) -> list[Any]:
        return self.events(*self.event_range(index))

    def event_count_of(self, index: int) -> int:
        start, end = self.event_range(index)
        return end - start

    def events_hold(self, needle: bytes, start: int = 0, stop: int | None = None) -> bool:
        """Whether records [start, stop) (default: all) hold `needle` in their encoding: an account id always
        does when an event names it (a byte search, no record decoded; a hit may be a coincidence)."""
        return self._events.holds(needle, start, self.event_count if stop is None else stop)

    def extrinsics_holding(self, needle: bytes, start: int, stop: int) -> list[int]:
        """Extrinsics in [start, stop) whose event records hold `needle` in their encoding, newest first: each
        occurrence found by a byte search is placed by bisecting the offsets, so the cost follows the number of
        extrinsics that hold it, not the number of events."""
        stop = min(stop, self.extrinsic_count)
        if start >= stop:
            return []
        offsets = _from_u_array("I", self._events._offsets)
        starts = _from_u_array("I", self._starts)
        blob = self._events.blob
        out = []
        end = offsets[starts[stop]]
        at = blob.rfind(needle, offsets[starts[start]], end)
        while at >= 0:
            record = bisect_right(offsets, at) - 1
            index = bisect_right(starts, record) - 1
            out.append(index)
            if index <= start:
                break
            at = blob.rfind(needle, offsets[starts[start]], offsets[starts[index]] + len(needle) - 1)
        return out

    def kinds(self) -> array[int]:
        """The kind number of every record, in stored order (`kind_table` names them)."""
        return _from_u_array("H", self._kinds)

    def positions_of(self, wanted: set[int]) -> Iterator[int]:
        """Positions of the records of the wanted kind numbers, newest (last) first."""
        kinds = self.kinds()
        for j in range(len(kinds) - 1, -1, -1):
            if kinds[j] in wanted:
                yield j

    # outcomes --------------------------------------------------------------------------------------
    def outcome(self, index: int) -> Any:
        """[index, success, fee, weight, error] of extrinsic `index`, or None."""
        if not 0 <= index < len(self._outcomes):
            return None
        return self._outcomes.get(index)

    def outcome_list(self) -> list[Any]:
        return self._outcomes.range(0, len(self._outcomes))


@dataclass(frozen=True)
class BlockSummary:
    """What a list of blocks shows of one without reading its body or its events."""

    extrinsics: int
    events: int
    size: int
    """Bytes of the block's encoding."""

    def encode(self) -> bytes:
        return pack([self.extrinsics, self.events, self.size])

    @classmethod
    def decode(cls, raw: bytes) -> BlockSummary:
        extrinsics, events, size = _unpack(raw)
        return cls(extrinsics, events, size)


def stored_event_count(raw: bytes) -> int:
    """The number of event records of a stored meta of either format, decoding none of them."""
    unpacker = msgpack.Unpacker(raw=False, max_buffer_size=max(len(raw), 1024))
    unpacker.feed(raw)
    if unpacker.read_array_header() == 2:
        return int(unpacker.read_array_header())
    unpacker.skip()  # format
    unpacker.skip()  # events blob
    offsets: bytes = unpacker.unpack()
    return len(offsets) // 4 - 1
