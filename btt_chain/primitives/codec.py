"""Typed fields and structs, with two encodings.

SCALE (`btt_chain.primitives.scale`) is the canonical encoding: what a hash or a signature covers, what blocks,
extrinsics and state values are, what Substrate clients read. Every `Field` encodes a value as SCALE and decodes it
strictly (`encode_scale`, `decode_scale`); a `Struct` is its fields in order, and its id is the blake2b-256 of that.

The wire form (`to_wire`/`from_wire`: nested lists of int, bytes, str and bool) is what internal records that no
client sees carry in strict canonical msgpack (`pack`/`unpack`): the database's indices, p2p framing. Unpacking
rejects trailing bytes, wrong types, maps, floats, oversize input and deep nesting, and re-encodes the result to
reject any non-canonical form.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

import msgpack

from btt_chain.primitives import scale
from btt_chain.primitives.errors import DecodeError
from btt_chain.primitives.hashing import blake2b_256

MAX_ENCODED_SIZE = 16 * 1024 * 1024
"""No single encoded object (a block included) may exceed 16 MiB."""
MAX_DEPTH = 16
"""No encoded document may nest deeper than this."""
U64_MAX = 2**64 - 1
U128_MAX = 2**128 - 1

T = TypeVar("T", bound="Struct")


def pack(value: Any) -> bytes:
    """Encode a wire value (nested lists of int, bytes, str, bool) as msgpack."""
    return msgpack.packb(value, use_bin_type=True)


def unpack(data: bytes, max_size: int = MAX_ENCODED_SIZE) -> Any:
    """Decode msgpack bytes strictly: size-limited, no trailing bytes, and canonical."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise DecodeError(f"expected bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) > max_size:
        raise DecodeError(f"encoding is {len(data)} bytes, over the limit of {max_size}")
    try:
        value = msgpack.unpackb(data, raw=False, strict_map_key=True, use_list=True)
    except msgpack.ExtraData as exc:
        raise DecodeError("trailing bytes after the encoded value") from exc
    except (ValueError, TypeError, msgpack.UnpackException) as exc:
        raise DecodeError(f"malformed msgpack: {exc}") from exc
    _check_generic(value, 0)
    if pack(value) != data:
        raise DecodeError("non-canonical encoding")
    return value


def _check_generic(value: Any, depth: int, limit: int = MAX_DEPTH) -> None:
    """Reject what no wire value may hold: negative integers, floats, maps, nil, extension types, deep nesting.

    Leaves of the exact types msgpack decodes to are checked inline (a block holds ~100,000 of them); anything else
    takes the general path below."""
    kind = type(value)
    if kind is list and depth < limit:
        for item in value:
            item_kind = type(item)
            if item_kind is bytes or item_kind is str or item_kind is bool:
                continue
            if item_kind is int and item >= 0:
                continue
            _check_generic(item, depth + 1, limit)
        return
    if kind is bytes or kind is str or kind is bool:
        if depth > limit:
            raise DecodeError(f"nesting deeper than {limit}")
        return
    _check_generic_slow(value, depth, limit)


def _check_generic_slow(value: Any, depth: int, limit: int) -> None:
    if depth > limit:
        raise DecodeError(f"nesting deeper than {limit}")
    if isinstance(value, bool) or isinstance(value, (bytes, str)):
        return
    if isinstance(value, int):
        if value < 0:
            raise DecodeError("negative integers are not allowed")
        return
    if isinstance(value, list):
        for item in value:
            _check_generic_slow(item, depth + 1, limit)
        return
    if isinstance(value, float):
        raise DecodeError("floats are not allowed")
    if isinstance(value, dict):
        raise DecodeError("maps are not allowed")
    raise DecodeError(f"unsupported value of type {type(value).__name__}")


# --- field types -------------------------------------------------------------------------------


class Field:
    """A field type: encodes a Python value as SCALE and decodes it strictly; converts it to its wire form and back.

    `decode_scale(data, pos)` returns (value, next position) and raises DecodeError on anything but the one
    canonical encoding of a value in range."""

    name = "value"

    def to_wire(self, value: Any) -> Any:
        raise NotImplementedError

    def from_wire(self, wire: Any) -> Any:
        raise NotImplementedError

    def encode_scale(self, value: Any) -> bytes:
        raise NotImplementedError

    def decode_scale(self, data: bytes, pos: int) -> tuple[Any, int]:
        raise NotImplementedError


class UInt(Field):
    """Unsigned integer of at most `bits` bits (64 at most: carried as a msgpack integer)."""

    def __init__(self, bits: int) -> None:
        assert bits <= 64
        self.bits = bits
        self.size = bits // 8
        self.max = 2**bits - 1
        self.name = f"u{bits}"

    def to_wire(self, value: Any) -> Any:
        if type(value) is not int or not 0 <= value <= self.max:
            raise DecodeError(f"{self.name} out of range: {value!r}")
        return value

    def encode_scale(self, value: Any) -> bytes:
        if type(value) is not int or not 0 <= value <= self.max:
            raise DecodeError(f"{self.name} out of range: {value!r}")
        return value.to_bytes(self.size, "little")

    def decode_scale(self, data: bytes, pos: int) -> tuple[Any, int]:
        end = pos + self.size
        if end > len(data):
            raise DecodeError(f"expected a {self.name}, found {max(0, len(data) - pos)} bytes")
        return int.from_bytes(data[pos:end], "little"), end

    def from_wire(self, wire: Any) -> Any:
        if type(wire) is not int:
            raise DecodeError(f"expected {self.name}, got {type(wire).__name__}")
        if not 0 <= wire <= self.max:
            raise DecodeError(f"{self.name} out of range: {wire}")
        return wire


class U128(Field):
    """Unsigned 128-bit amount carried as exactly 16 big-endian bytes."""

    name = "u128"

    def to_wire(self, value: Any) -> Any:
        if type(value) is not int or not 0 <= value <= U128_MAX:
            raise DecodeError(f"u128 out of range: {value!r}")
        return value.to_bytes(16, "big")

    def from_wire(self, wire: Any) -> Any:
        if type(wire) is not bytes or len(wire) != 16:
            raise DecodeError("expected a u128 as 16 bytes")
        return int.from_bytes(wire, "big")

    def encode_scale(self, value: Any) -> bytes:
        if type(value) is not int or not 0 <= value <= U128_MAX:
            raise DecodeError(f"u128 out of range: {value!r}")
        return value.to_bytes(16, "little")

    def decode_scale(self, data: bytes, pos: int) -> tuple[Any, int]:
        end = pos + 16
        if end > len(data):
            raise DecodeError(f"expected a u128, found {max(0, len(data) - pos)} bytes")
        return int.from_bytes(data[pos:end], "little"), end


class Compact(Field):
    """An unsigned integer of at most `bits` bits as SCALE's `Compact<uN>` (a fixed-width integer on the wire)."""

    def __init__(self, bits: int) -> None:
        self.bits = bits
        self.max = 2**bits - 1
        self.name = f"compact<u{bits}>"

    def to_wire(self, value: Any) -> Any:
        if type(value) is not int or not 0 <= value <= self.max:
            raise DecodeError(f"{self.name} out of range: {value!r}")
        return value.to_bytes(16, "big") if self.bits > 64 else value

    def from_wire(self, wire: Any) -> Any:
        if self.bits > 64:
            if type(wire) is not bytes or len(wire) != 16:
                raise DecodeError(f"expected a {self.name} as 16 bytes")
            value = int.from_bytes(wire, "big")
        elif type(wire) is not int:
            raise DecodeError(f"expected {self.name}, got {type(wire).__name__}")
        else:
            value = wire
        if not 0 <= value <= self.max:
            raise DecodeError(f"{self.name} out of range: {value}")
        return value

    def encode_scale(self, value: Any) -> bytes:
        if type(value) is not int or not 0 <= value <= self.max:
            raise DecodeError(f"{self.name} out of range: {value!r}")
        return scale.encode_compact(value)

    def decode_scale(self, data: bytes, pos: int) -> tuple[Any, int]:
        return scale.decode_compact(data, pos, self.max)


class Bool(Field):
    name = "bool"

    def to_wire(self, value: Any) -> Any:
        if type(value) is not bool:
            raise DecodeError(f"expected bool, got {value!r}")
        return value

    def from_wire(self, wire: Any) -> Any:
        if type(wire) is not bool:
            raise DecodeError(f"expected bool, got {type(wire).__name__}")
        return wire

    def encode_scale(self, value: Any) -> bytes:
        return scale.encode_bool(value)

    def decode_scale(self, data: bytes, pos: int) -> tuple[Any, int]:
        return scale.decode_bool(data, pos)


class Bytes(Field):
    """A byte string of exactly `size` bytes, or of at most `max_len` bytes."""

    def __init__(self, size: int | None = None, max_len: int = 1 << 20) -> None:
        self.size = size
        self.max_len = max_len
        self.name = f"bytes{size}" if size is not None else "bytes"

    def to_wire(self, value: Any) -> Any:
        return self._check(value)

    def from_wire(self, wire: Any) -> Any:
        return self._check(wire)

    def _check(self, value: Any) -> bytes:
        if type(value) is not bytes:
            raise DecodeError(f"expected {self.name}, got {type(value).__name__}")
        if self.size is not None and len(value) != self.size:
            raise DecodeError(f"expected {self.size} bytes, got {len(value)}")
        if len(value) > self.max_len:
            raise DecodeError(f"byte string of {len(value)} bytes is over the limit of {self.max_len}")
        return value

    def encode_scale(self, value: Any) -> bytes:
        value = self._check(value)
        return value if self.size is not None else scale.encode_compact(len(value)) + value

    def decode_scale(self, data: bytes, pos: int) -> tuple[Any, int]:
        if self.size is not None:
            end = pos + self.size
            if end > len(data):
                raise DecodeError(f"expected {self.size} bytes, found {max(0, len(data) - pos)}")
            return data[pos:end], end
        return scale.decode_bytes(data, pos, self.max_len)


class AccountId(Bytes):
    """A 32-byte account id: rendered as an address wherever values are shown to people."""

    def __init__(self) -> None:
        super().__init__(32)
        self.name = "account"


class MultiAddress(Field):
    """An account as Substrate's `MultiAddress<AccountId32, ()>`, only ever its `Id` variant (0): how FRAME's calls
    name a destination (`transfer_keep_alive(dest, value)`). The value is the 32-byte account; the other variants
    (an index, raw bytes, a 20-byte address) are refused."""

    name = "address"

    def to_wire(self, value: Any) -> Any:
        return ACCOUNT.to_wire(value)

    def from_wire(self, wire: Any) -> Any:
        return ACCOUNT.from_wire(wire)

    def encode_scale(self, value: Any) -> bytes:
        return b"\x00" + ACCOUNT.to_wire(value)

    def decode_scale(self, data: bytes, pos: int) -> tuple[Any, int]:
        if pos >= len(data):
            raise DecodeError("expected an address, found the end of the input")
        if data[pos] != 0:
            raise DecodeError(f"only MultiAddress::Id (0) addresses are accepted, got variant {data[pos]}")
        end = pos + 33
        if end > len(data):
            raise DecodeError("truncated address")
        return data[pos + 1 : end], end


class Text(Field):
    """A UTF-8 string of at most `max_len` characters."""

    name = "str"

    def __init__(self, max_len: int = 256) -> None:
        self.max_len = max_len

    def to_wire(self, value: Any) -> Any:
        return self._check(value)

    def from_wire(self, wire: Any) -> Any:
        return self._check(wire)

    def _check(self, value: Any) -> str:
        if type(value) is not str:
            raise DecodeError(f"expected str, got {type(value).__name__}")
        if len(value) > self.max_len:
            raise DecodeError(f"string of {len(value)} characters is over the limit of {self.max_len}")
        return value

    def encode_scale(self, value: Any) -> bytes:
        try:
            return scale.encode_str(self._check(value))
        except UnicodeEncodeError as exc:
            raise DecodeError(f"string is not encodable as UTF-8: {exc.reason}") from None

    def decode_scale(self, data: bytes, pos: int) -> tuple[Any, int]:
        return scale.decode_str(data, pos, self.max_len)


class ListOf(Field):
    """A list of items of one field type, at most `max_items` long; decodes to a tuple."""

    def __init__(self, item: Field, max_items: int) -> None:
        self.item = item
        self.max_items = max_items
        self.name = f"list[{item.name}]"

    def to_wire(self, value: Any) -> Any:
        if not isinstance(value, (list, tuple)):
            raise DecodeError(f"expected {self.name}")
        if len(value) > self.max_items:
            raise DecodeError(f"{self.name} of {len(value)} items is over the limit of {self.max_items}")
        return [self.item.to_wire(v) for v in value]

    def from_wire(self, wire: Any) -> Any:
        if type(wire) is not list:
            raise DecodeError(f"expected {self.name}, got {type(wire).__name__}")
        if len(wire) > self.max_items:
            raise DecodeError(f"{self.name} of {len(wire)} items is over the limit of {self.max_items}")
        return tuple(self.item.from_wire(w) for w in wire)

    def encode_scale(self, value: Any) -> bytes:
        if not isinstance(value, (list, tuple)):
            raise DecodeError(f"expected {self.name}")
        if len(value) > self.max_items:
            raise DecodeError(f"{self.name} of {len(value)} items is over the limit of {self.max_items}")
        encode = self.item.encode_scale
        return scale.encode_compact(len(value)) + b"".join([encode(v) for v in value])

    def decode_scale(self, data: bytes, pos: int) -> tuple[Any, int]:
        n, pos = scale.decode_length(data, pos, self.max_items, self.name)
        many = getattr(self.item, "decode_many", None)  # an item field that decodes a run of itself at once
        if many is not None:
            return many(data, pos, n)  # type: ignore[no-any-return]
        decode = self.item.decode_scale
        out = []
        for _ in range(n):
            value, pos = decode(data, pos)
            out.append(value)
        return tuple(out), pos


_LAYOUTS: dict[tuple[type, type], bool] = {}


def same_layout(a: type, b: type) -> bool:
    """Whether struct classes `a` and `b` are one type as two specs' runtimes each define it (`runtime.specs`): the
    same name and the same fields of the same types, so either's value encodes as the other's."""
    known = _LAYOUTS.get((a, b))
    if known is None:
        known = _LAYOUTS[(a, b)] = (
            issubclass(a, Struct) and issubclass(b, Struct) and a.__name__ == b.__name__
            and [(n, f.name) for n, f in a.WIRE] == [(n, f.name) for n, f in b.WIRE]
        )
    return known


class Nested(Field):
    """A field holding another Struct (of this class, or of the same class as another spec defines it)."""

    def __init__(self, cls: type[Struct]) -> None:
        self.cls = cls
        self.name = cls.__name__

    def to_wire(self, value: Any) -> Any:
        if not isinstance(value, self.cls) and not same_layout(type(value), self.cls):
            raise DecodeError(f"expected {self.name}, got {type(value).__name__}")
        return value.to_wire()

    def from_wire(self, wire: Any) -> Any:
        return self.cls.from_wire(wire)

    def encode_scale(self, value: Any) -> bytes:
        if not isinstance(value, self.cls) and not same_layout(type(value), self.cls):
            raise DecodeError(f"expected {self.name}, got {type(value).__name__}")
        return value.encode()

    def decode_scale(self, data: bytes, pos: int) -> tuple[Any, int]:
        return self.cls.decode_at(data, pos)


U8 = UInt(8)
U16 = UInt(16)
U32 = UInt(32)
U64 = UInt(64)
AMOUNT = U128()
COMPACT_AMOUNT = Compact(128)
"""An amount as `Compact<u128>`: how FRAME's calls take balances (`transfer_keep_alive(dest, value)`)."""
HASH = Bytes(32)
ACCOUNT = AccountId()
ADDRESS = MultiAddress()
BOOL = Bool()


# --- structs -----------------------------------------------------------------------------------


_POSITIONAL: dict[type, bool] = {}
"""Struct class -> whether its constructor takes the wire fields positionally, in wire order (the fast decode)."""
_WIRE_NAMES: dict[type, tuple[str, ...]] = {}
"""Struct class -> its wire field names when they are all its fields (else empty): the fast `replace`."""


_WIRE_WRITERS: dict[type, Any] = {}
"""Struct class -> its `to_wire`, made once by `_wire_writer`."""


def _wire_writer(cls: type) -> Any:
    """`to_wire` for `cls` as one generated function (a block's event records hold ~15,000 structs): an amount, a
    small integer or a fixed-size byte string that is in range is converted inline; any other value, and every
    other field type, goes through its Field's own `to_wire`, which raises the error that names the fault. The
    same values as `[f.to_wire(getattr(v, name)) for name, f in WIRE]`."""
    fields = cls.WIRE  # type: ignore[attr-defined]
    env: dict[str, Any] = {"U128_MAX": U128_MAX}
    parts = []
    for i, (name, f) in enumerate(fields):
        if not name.isidentifier():
            raise ValueError(f"{cls.__name__}: wire field name {name!r} is not an identifier")
        env[f"f{i}"] = f
        kind = type(f)
        if kind is U128:
            inline = ("x.to_bytes(16, 'big')", "int", "0 <= x <= U128_MAX")
        elif kind is UInt:
            inline = ("x", "int", f"0 <= x <= {f.max}")
        elif kind in (Bytes, AccountId) and f.size is not None and f.size <= f.max_len:
            inline = ("x", "bytes", f"len(x) == {f.size}")
        else:
            parts.append(f"f{i}.to_wire(v.{name})")
            continue
        wire, kind_name, in_range = inline
        parts.append(f"({wire} if type(x := v.{name}) is {kind_name} and {in_range} else f{i}.to_wire(x))")
    exec(f"def to_wire(v):\n    return [{', '.join(parts)}]", env)  # noqa: S102 - built from the class's own fields
    return env["to_wire"]


def wire_writer(cls: type) -> Callable[[Any], list[Any]]:
    """The function that gives a `cls` value's `to_wire()` (the generated one, or the class's own `to_wire` where it
    overrides Struct's): for callers that convert many values of a few classes (a block's event records)."""
    if cls.to_wire is not Struct.to_wire:  # type: ignore[attr-defined]
        return cls.to_wire  # type: ignore[attr-defined,no-any-return]
    to_wire = _WIRE_WRITERS.get(cls)
    if to_wire is None:
        to_wire = _WIRE_WRITERS[cls] = _wire_writer(cls)
    return to_wire  # type: ignore[no-any-return]


class Struct:
    """Base of frozen dataclasses with a fixed-order wire form. Subclasses list `WIRE` as (name, Field)."""

    WIRE: ClassVar[tuple[tuple[str, Field], ...]] = ()

    def to_wire(self) -> list[Any]:
        to_wire = _WIRE_WRITERS.get(type(self))
        if to_wire is None:
            to_wire = _WIRE_WRITERS[type(self)] = _wire_writer(type(self))
        return to_wire(self)

    @classmethod
    def from_wire(cls: type[T], wire: Any) -> T:
        if type(wire) is not list:
            raise DecodeError(f"{cls.__name__}: expected an array, got {type(wire).__name__}")
        fields = cls.WIRE
        if len(wire) != len(fields):
            raise DecodeError(f"{cls.__name__}: expected {len(fields)} fields, got {len(wire)}")
        try:
            values = [f.from_wire(w) for (_, f), w in zip(fields, wire, strict=True)]
        except DecodeError:
            for (name, f), w in zip(fields, wire, strict=True):  # again, field by field, to name the bad one
                try:
                    f.from_wire(w)
                except DecodeError as exc:
                    raise DecodeError(f"{cls.__name__}.{name}: {exc}") from None
            raise
        return cls._build(values)

    def encode(self) -> bytes:
        """The canonical (SCALE) encoding, computed once per (immutable) value."""
        cached: bytes | None = self.__dict__.get("_encoded")
        if cached is None:
            cached = self.encode_scale()
            object.__setattr__(self, "_encoded", cached)
        return cached

    def encode_scale(self) -> bytes:
        """SCALE: the fields in order, each as its Field encodes it. Overridden where the layout is Substrate's own
        (an extrinsic, a header)."""
        try:
            return b"".join([f.encode_scale(getattr(self, name)) for name, f in self.WIRE])
        except DecodeError as exc:
            raise DecodeError(f"{type(self).__name__}: {exc}") from None

    @classmethod
    def decode_at(cls: type[T], data: bytes, pos: int) -> tuple[T, int]:
        """The value whose SCALE encoding starts at `pos`, and the position after it."""
        values = []
        for name, f in cls.WIRE:
            try:
                value, pos = f.decode_scale(data, pos)
            except DecodeError as exc:
                raise DecodeError(f"{cls.__name__}.{name}: {exc}") from None
            values.append(value)
        return cls._build(values), pos

    @classmethod
    def _build(cls: type[T], values: list[Any]) -> T:
        fields = cls.WIRE
        positional = _POSITIONAL.get(cls)
        if positional is None:
            field_names = [f.name for f in dataclasses.fields(cls) if f.init]  # type: ignore[arg-type]
            positional = _POSITIONAL[cls] = field_names == [name for name, _ in fields]
        try:
            if positional:
                return cls(*values)
            return cls(**{name: v for (name, _), v in zip(fields, values, strict=True)})
        except (ValueError, TypeError) as exc:  # a __post_init__ that refuses the combination
            raise DecodeError(f"{cls.__name__}: {exc}") from None

    @classmethod
    def decode(cls: type[T], data: bytes, max_size: int = MAX_ENCODED_SIZE) -> T:
        """Decode exactly the whole of `data` (SCALE), strictly; the value keeps `data` as its encoding."""
        data = _as_bytes(data, max_size)
        value, pos = cls.decode_at(data, 0)
        scale.finish(data, pos, cls.__name__)
        object.__setattr__(value, "_encoded", data)
        return value

    def hash(self) -> bytes:
        """blake2b-256 of the canonical encoding: the value's id. Computed once."""
        cached: bytes | None = self.__dict__.get("_hash")
        if cached is None:
            cached = blake2b_256(self.encode())
            object.__setattr__(self, "_hash", cached)
        return cached

    def replace(self: T, **changes: Any) -> T:
        """A copy with `changes`; a direct constructor call when the wire fields are all the fields (as
        dataclasses.replace, which the other cases and unknown names fall back to, but several times faster)."""
        cls = type(self)
        names = _WIRE_NAMES.get(cls)
        if names is None:
            wire_names = tuple(name for name, _ in cls.WIRE)  # type: ignore[attr-defined]
            same = set(wire_names) == {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
            names = _WIRE_NAMES[cls] = wire_names if same else ()
        if not names or not set(changes).issubset(names):
            return dataclasses.replace(self, **changes)  # type: ignore[type-var]
        kwargs = {name: getattr(self, name) for name in names}
        kwargs.update(changes)
        return cls(**kwargs)


def _as_bytes(data: Any, max_size: int) -> bytes:
    if not isinstance(data, bytes):
        if not isinstance(data, (bytearray, memoryview)):
            raise DecodeError(f"expected bytes, got {type(data).__name__}")
        data = bytes(data)
    if len(data) > max_size:
        raise DecodeError(f"encoding is {len(data)} bytes, over the limit of {max_size}")
    return data


def decode_field(field: Field, data: bytes, max_size: int = MAX_ENCODED_SIZE) -> Any:
    """Decode exactly the whole of `data` as one value of `field` (SCALE), strictly."""
    data = _as_bytes(data, max_size)
    value, pos = field.decode_scale(data, 0)
    scale.finish(data, pos, field.name)
    return value
