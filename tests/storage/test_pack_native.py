"""The compiled msgpack of a block's stored records (storage/_pack_native.c via storage/record_pack.py) against
msgpack's own bytes: random records of every kind they hold and every size boundary of msgpack's forms (fixint,
uint8..uint64, the negative forms, fixstr/str8/16, bin8/16/32, fixarray/array16), journals, and the kinds the compiled
packer leaves to Python (floats, dicts, subclasses, ints past 64 bits), which must come out as msgpack packs them or
fail as msgpack fails; and the event records' indexes (`block_meta._index`) against the Python rule in any order."""

from __future__ import annotations

import random
from typing import Any

import msgpack
import pytest

from storage import record_pack

pytestmark = pytest.mark.skipif(not record_pack.NATIVE, reason="storage/_pack_native.c is not built")

INT_EDGES = [0, 1, 31, 32, 127, 128, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**63 - 1, 2**63, 2**64 - 1,
             -1, -31, -32, -33, -127, -128, -129, -32768, -32769, -(2**31), -(2**31) - 1, -(2**63)]
SIZE_EDGES = [0, 1, 15, 16, 31, 32, 255, 256, 65535, 65536]


def _msgpack(value: Any) -> bytes:
    return msgpack.packb(value, use_bin_type=True)


def _value(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if roll < 0.2:
        return rng.choice(INT_EDGES) if rng.random() < 0.5 else rng.randrange(-(2**63), 2**64)
    if roll < 0.35:
        return rng.randbytes(rng.choice(SIZE_EDGES[:8]) if rng.random() < 0.3 else rng.randrange(0, 40))
    if roll < 0.5:
        return "".join(rng.choice("aé€𝄞b") for _ in range(rng.choice(SIZE_EDGES[:8])))
    if roll < 0.6:
        return rng.choice([None, True, False])
    if depth < 4:
        n = rng.choice([0, 1, 3, 15, 16, 17]) if rng.random() < 0.3 else rng.randrange(0, 5)
        items = [_value(rng, depth + 1) for _ in range(n)]
        return tuple(items) if rng.random() < 0.2 else items
    return 7


def test_random_records_pack_to_msgpacks_bytes() -> None:
    rng = random.Random(11)
    for _ in range(50):
        records = [_value(rng) for _ in range(rng.randrange(0, 60))]
        blob, offsets = record_pack.pack_each(records)
        parts = [_msgpack(r) for r in records]
        assert blob == b"".join(parts)
        ends = [int.from_bytes(offsets[i : i + 4], "little") for i in range(0, len(offsets), 4)]
        assert ends[0] == 0 and [b - a for a, b in zip(ends, ends[1:], strict=False)] == [len(p) for p in parts]


@pytest.mark.parametrize("size", [*SIZE_EDGES, 2**16 + 3])
def test_every_size_form(size: int) -> None:
    values = [b"\x01" * size, "x" * size, [0] * size]
    assert record_pack.pack_each(values)[0] == b"".join(map(_msgpack, values))


@pytest.mark.parametrize("odd", [1.5, {"a": 1}, bytearray(b"x"), 2**64, -(2**63) - 1, type("S", (str,), {})("s"),
                                 type("I", (int,), {})(3), [[[[[[[[[[1]]]]]]]]]] * 2])
def test_other_kinds_come_out_as_msgpack_packs_them(odd: Any) -> None:
    records = [[1, "balances", odd], [2, "x"]]
    try:
        expected = b"".join(map(_msgpack, records))
    except (OverflowError, ValueError, TypeError) as exc:
        with pytest.raises(type(exc)):
            record_pack.pack_each(records)
        return
    assert record_pack.pack_each(records)[0] == expected


def test_journals_pack_to_msgpacks_bytes() -> None:
    rng = random.Random(3)
    for n in [0, 1, 15, 16, 300, 70_000]:
        big = 70_000 if n < 20 else 90
        changes = {rng.randbytes(rng.choice([32, 80, 300])):
                   rng.choice([None, b"", rng.randbytes(rng.choice([0, 80, big]))])
                   for _ in range(n)}
        assert record_pack.pack_journal(changes) == _msgpack([[k, v is not None, v or b""] for k, v in changes.items()])
    odd = {b"k": bytearray(b"v")}
    assert record_pack.pack_journal(odd) == _msgpack([[b"k", True, bytearray(b"v")]])  # type: ignore[arg-type]


PHASE_INIT, PHASE_FINAL = 2**32 - 1, 2**32 - 2


def _records(rng: random.Random, count: int, ordered: bool) -> list[Any]:
    """Event records [phase, module, name, fields] as the executive emits them (initialization, each extrinsic in
    order, finalization) or, unordered, with any phase anywhere: ints of every range, other kinds, short records."""
    kinds = [(m, n) for m in ("System", "Balances", "Market") for n in ("A", "B", "C")]
    phases = [PHASE_INIT] * rng.randrange(0, 3)
    for i in range(count):
        phases += [i] * rng.randrange(0, 4)
    phases += [rng.choice([PHASE_FINAL, count, count + 5])] * rng.randrange(0, 3)
    if not ordered:
        odd = [PHASE_INIT, PHASE_FINAL, -1, -2, count, 2**70, True, 1.0, "0"]
        for _ in range(rng.randrange(1, 4)):
            where = rng.randrange(0, len(phases) + 1)
            phases.insert(where, rng.choice(odd) if rng.random() < 0.5 else rng.randrange(0, count + 1))
        if len(phases) > 1 and rng.random() < 0.5:
            rng.shuffle(phases)
    records: list[Any] = []
    for phase in phases:
        module, name = rng.choice(kinds)
        if rng.random() < 0.3:  # an equal name that is another object: found by value, not by identity
            module = "".join(list(module))
        records.append([phase, module, name, [rng.randrange(0, 9)]])
    if not ordered and records and rng.random() < 0.2:
        records[rng.randrange(len(records))] = rng.choice([[0, "System"], (0, "System", "A", []), [0],
                                                           [0, b"System", "A", []], [0, "System", ("A",), []]])
    return records


def _index_both(records: list[Any], count: int) -> tuple[Any, Any]:
    from storage import block_meta

    def run(f: Any) -> Any:
        try:
            return ("ok", f(list(records), count))
        except Exception as exc:  # noqa: BLE001 - the same failure either way is the property
            return ("error", type(exc))

    return run(block_meta._index), run(block_meta._index_py)


def test_record_indexes_match_the_python_rule() -> None:
    """Every block's record indexes, compiled, are the Python rule's: in the executive's order (taken compiled) and in
    any other (left to Python, whatever it decides or raises)."""
    from storage import block_meta

    rng = random.Random(54)
    taken = 0
    for trial in range(3000):
        count = rng.choice([0, 1, 2, 5, 40])
        ordered = trial % 3 != 0
        records = _records(rng, count, ordered)
        compiled, python = _index_both(records, count)
        assert compiled == python, (records, count)
        taken += record_pack.index_records(records, count) is not None
    assert taken >= 1500  # the executive's order is taken compiled
    # the encoded block meta is the same bytes with the compiled part on and off
    records = _records(rng, 40, True)
    outcomes = [[i, True, b"\0" * 16, 10, None] for i in range(40)]
    meta = block_meta.BlockMeta(records, outcomes)
    native = meta.encode()
    original = block_meta.index_records
    block_meta.index_records = lambda records, count: None  # type: ignore[assignment]
    try:
        assert meta.encode() == native
    finally:
        block_meta.index_records = original


def test_record_indexes_past_a_u16_of_kinds_are_refused() -> None:
    """65,536 kinds of event in a block: refused with the Python rule's error, compiled or not."""
    from storage import block_meta

    records = [[0, "M", f"E{i}", []] for i in range(2**16 - 1)]
    compiled, python = _index_both(records, 1)
    assert compiled == python and compiled[0] == "ok"  # 65,535 kinds: still numbered
    records.append([0, "M", "one more", []])
    assert record_pack.index_records(records, 1) is None
    with pytest.raises(ValueError, match="u16"):
        block_meta.BlockMeta(records, [[0, True, b"\0" * 16, 1, None]]).encode()
