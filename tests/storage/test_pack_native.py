"""The compiled msgpack of a block's stored records (storage/_pack_native.c via storage/record_pack.py) against
msgpack's own bytes: random records of every kind they hold and every size boundary of msgpack's forms (fixint,
uint8..uint64, the negative forms, fixstr/str8/16, bin8/16/32, fixarray/array16), journals, and the kinds the compiled
packer leaves to Python (floats, dicts, subclasses, ints past 64 bits), which must come out as msgpack packs them or
fail as msgpack fails."""

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
