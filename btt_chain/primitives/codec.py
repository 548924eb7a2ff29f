"""Strict canonical msgpack codec.

Consensus data is encoded as fixed-order arrays of typed fields, never maps or floats. Amounts are
unsigned 128-bit integers carried as 16 big-endian bytes (msgpack integers stop at 2^64). Decoding
rejects trailing bytes, wrong types, missing or extra fields, oversize input and deep nesting, and
re-encodes the result to reject any non-canonical form (so one value has exactly one encoding and
one hash).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, ClassVar, TypeVar

import msgpack

from btt_chain.primitives.errors import DecodeError
from btt_chain.primitives.hashing import blake2b_256

MAX_ENCODED_SIZE = 16 * 1024 * 1024
"""No single encoded object (a block included) may exceed 16 MiB."""
MAX_DEPTH = 16
"""No encoded document may nest deeper than this."""
MAX_ARG_DEPTH = 8
"""A generic value (a call argument) may nest at most this deep below itself."""
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
    """A wire field type: converts a Python value to its wire form and back, validating strictly."""

    name = "value"

    def to_wire(self, value: Any) -> Any:
        raise NotImplementedError

    def from_wire(self, wire: Any) -> Any:
        raise NotImplementedError


class UInt(Field):
    """Unsigned integer of at most `bits` bits (64 at most: carried as a msgpack integer)."""

    def __init__(self, bits: int) -> None:
        assert bits <= 64
        self.max = 2**bits - 1
        self.name = f"u{bits}"

    def to_wire(self, value: Any) -> Any:
        if type(value) is not int or not 0 <= value <= self.max:
            raise DecodeError(f"{self.name} out of range: {value!r}")
        return value

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


class AccountId(Bytes):
    """A 32-byte account id: rendered as an address wherever values are shown to people."""

    def __init__(self) -> None:
        super().__init__(32)
        self.name = "account"


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


class Generic(Field):
    """Any wire value (int, bytes, str, bool, nested lists); a runtime schema checks it further."""

    name = "any"

    def to_wire(self, value: Any) -> Any:
        wire = _generic_to_wire(value, 0)
        return wire

    def from_wire(self, wire: Any) -> Any:
        _check_generic(wire, 0, MAX_ARG_DEPTH)
        return wire


def _generic_to_wire(value: Any, depth: int) -> Any:
    if depth > MAX_ARG_DEPTH:
        raise DecodeError(f"nesting deeper than {MAX_ARG_DEPTH}")
    if isinstance(value, (list, tuple)):
        return [_generic_to_wire(v, depth + 1) for v in value]
    if isinstance(value, bool) or isinstance(value, (bytes, str)):
        return value
    if isinstance(value, int):
        if not 0 <= value <= U64_MAX:
            raise DecodeError(f"integer out of u64 range: {value}")
        return value
    raise DecodeError(f"unsupported value of type {type(value).__name__}")


class Nested(Field):
    """A field holding another Struct."""

    def __init__(self, cls: type[Struct]) -> None:
        self.cls = cls
        self.name = cls.__name__

    def to_wire(self, value: Any) -> Any:
        if not isinstance(value, self.cls):
            raise DecodeError(f"expected {self.name}, got {type(value).__name__}")
        return value.to_wire()

    def from_wire(self, wire: Any) -> Any:
        return self.cls.from_wire(wire)


U8 = UInt(8)
U16 = UInt(16)
U32 = UInt(32)
U64 = UInt(64)
AMOUNT = U128()
HASH = Bytes(32)
ACCOUNT = AccountId()
BOOL = Bool()


# --- structs -----------------------------------------------------------------------------------


_POSITIONAL: dict[type, bool] = {}
"""Struct class -> whether its constructor takes the wire fields positionally, in wire order (the fast decode)."""
_WIRE_NAMES: dict[type, tuple[str, ...]] = {}
"""Struct class -> its wire field names when they are all its fields (else empty): the fast `replace`."""


class Struct:
    """Base of frozen dataclasses with a fixed-order wire form. Subclasses list `WIRE` as (name, Field)."""

    WIRE: ClassVar[tuple[tuple[str, Field], ...]] = ()

    def to_wire(self) -> list[Any]:
        return [f.to_wire(getattr(self, name)) for name, f in self.WIRE]

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
        positional = _POSITIONAL.get(cls)
        if positional is None:
            field_names = [f.name for f in dataclasses.fields(cls) if f.init]  # type: ignore[arg-type]
            positional = _POSITIONAL[cls] = field_names == [name for name, _ in fields]
        if positional:
            return cls(*values)
        return cls(**{name: v for (name, _), v in zip(fields, values, strict=True)})

    def encode(self) -> bytes:
        """The canonical encoding, computed once per (immutable) value."""
        cached: bytes | None = self.__dict__.get("_encoded")
        if cached is None:
            cached = pack(self.to_wire())
            object.__setattr__(self, "_encoded", cached)
        return cached

    @classmethod
    def decode(cls: type[T], data: bytes, max_size: int = MAX_ENCODED_SIZE) -> T:
        value = cls.from_wire(unpack(data, max_size))
        object.__setattr__(value, "_encoded", bytes(data))
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


def encode_list(field: Field, values: Sequence[Any]) -> bytes:
    """Encode a homogeneous list with one field type."""
    return pack([field.to_wire(v) for v in values])
