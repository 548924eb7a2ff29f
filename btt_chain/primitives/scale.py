"""A strict SCALE codec: Substrate's encoding, as parity-scale-codec writes it, decoded with no leniency.

Integers are little-endian and fixed-width; `Compact<T>` is the one-, two-, four-byte or big-integer mode and
only the shortest form of a value is accepted (parity-scale-codec rejects the others too); a bool is 0 or 1; a
`Vec` is a compact length then its items; an `Option` is 0, or 1 then the value. Decoders take the bytes and a
position and return (value, next position); `decode_all` and `finish` refuse trailing bytes. Every length is
bounded by its caller before anything is allocated, and every failure is a `DecodeError` that says what was
expected where.

Sources: parity-scale-codec `src/compact.rs` (the modes, `CompactAs` out-of-range errors) and the SCALE page of the
Polkadot docs (docs.polkadot.com, "SCALE encoding").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from btt_chain.primitives.errors import DecodeError

T = TypeVar("T")
Decoder = Callable[[bytes, int], tuple[T, int]]

U8_MAX = 2**8 - 1
U16_MAX = 2**16 - 1
U32_MAX = 2**32 - 1
U64_MAX = 2**64 - 1
U128_MAX = 2**128 - 1
U256_MAX = 2**256 - 1

_COMPACT_SINGLE = 2**6
_COMPACT_TWO = 2**14
_COMPACT_FOUR = 2**30

_ONE_BYTE = [bytes([i << 2]) for i in range(64)]
"""The compact encodings of 0..63, made once: most lengths, nonces and tips are one of these."""


# --- compact ---------------------------------------------------------------------------------------------------------


def encode_compact(value: int) -> bytes:
    """The one canonical `Compact` encoding of a non-negative integer below 2^536."""
    if value < _COMPACT_SINGLE:
        if value < 0:
            raise DecodeError(f"a compact integer cannot be negative: {value}")
        return _ONE_BYTE[value]
    if value < _COMPACT_TWO:
        return ((value << 2) | 0b01).to_bytes(2, "little")
    if value < _COMPACT_FOUR:
        return ((value << 2) | 0b10).to_bytes(4, "little")
    size = (value.bit_length() + 7) // 8
    if size > 67:
        raise DecodeError(f"integer of {size} bytes is too large for a compact encoding")
    return bytes([((size - 4) << 2) | 0b11]) + value.to_bytes(size, "little")


def decode_compact(data: bytes, pos: int, limit: int = U128_MAX) -> tuple[int, int]:
    """A minimal compact integer at `pos`, at most `limit`; (value, next position)."""
    try:
        first = data[pos]
    except IndexError:
        raise DecodeError("expected a compact integer, found the end of the input") from None
    mode = first & 0b11
    if mode == 0:
        value = first >> 2
        end = pos + 1
    elif mode == 1:
        end = pos + 2
        if end > len(data):
            raise DecodeError("truncated compact integer")
        value = int.from_bytes(data[pos:end], "little") >> 2
        if value < _COMPACT_SINGLE:
            raise DecodeError(f"non-minimal compact encoding of {value}")
    elif mode == 2:
        end = pos + 4
        if end > len(data):
            raise DecodeError("truncated compact integer")
        value = int.from_bytes(data[pos:end], "little") >> 2
        if value < _COMPACT_TWO:
            raise DecodeError(f"non-minimal compact encoding of {value}")
    else:
        size = (first >> 2) + 4
        end = pos + 1 + size
        if end > len(data):
            raise DecodeError("truncated compact integer")
        if data[end - 1] == 0:
            raise DecodeError("non-minimal compact encoding (a zero top byte)")
        value = int.from_bytes(data[pos + 1 : end], "little")
        if value < _COMPACT_FOUR:
            raise DecodeError(f"non-minimal compact encoding of {value}")
    if value > limit:
        raise DecodeError(f"compact integer {value} is over the limit of {limit}")
    return value, end


def decode_length(data: bytes, pos: int, max_items: int, what: str = "sequence") -> tuple[int, int]:
    """A compact item count at `pos`, refused above `max_items` before anything is read or allocated."""
    n, pos = decode_compact(data, pos, U32_MAX)
    if n > max_items:
        raise DecodeError(f"{what} of {n} items is over the limit of {max_items}")
    return n, pos


# --- fixed-width integers, bool, bytes, strings ---------------------------------------------------------------------


def encode_uint(value: int, size: int) -> bytes:
    """An unsigned integer in `size` little-endian bytes (1, 2, 4, 8, 16 or 32)."""
    if type(value) is not int or value < 0 or value.bit_length() > size * 8:
        raise DecodeError(f"u{size * 8} out of range: {value!r}")
    return value.to_bytes(size, "little")


def decode_uint(data: bytes, pos: int, size: int) -> tuple[int, int]:
    end = pos + size
    if end > len(data):
        raise DecodeError(f"expected a u{size * 8}, found {max(0, len(data) - pos)} bytes")
    return int.from_bytes(data[pos:end], "little"), end


def encode_bool(value: bool) -> bytes:
    if type(value) is not bool:
        raise DecodeError(f"expected bool, got {value!r}")
    return b"\x01" if value else b"\x00"


def decode_bool(data: bytes, pos: int) -> tuple[bool, int]:
    if pos >= len(data):
        raise DecodeError("expected a bool, found the end of the input")
    b = data[pos]
    if b > 1:
        raise DecodeError(f"a bool is 0 or 1, got {b}")
    return b == 1, pos + 1


def decode_fixed(data: bytes, pos: int, size: int) -> tuple[bytes, int]:
    """Exactly `size` bytes (an array `[u8; size]`)."""
    end = pos + size
    if end > len(data):
        raise DecodeError(f"expected {size} bytes, found {max(0, len(data) - pos)}")
    return bytes(data[pos:end]), end


def encode_bytes(value: bytes) -> bytes:
    """`Vec<u8>`: a compact length then the bytes."""
    return encode_compact(len(value)) + value


def decode_bytes(data: bytes, pos: int, max_len: int) -> tuple[bytes, int]:
    n, pos = decode_length(data, pos, max_len, "byte string")
    return decode_fixed(data, pos, n)


def encode_str(value: str) -> bytes:
    """`String`: UTF-8 bytes as a `Vec<u8>`."""
    return encode_bytes(value.encode("utf-8"))


def decode_str(data: bytes, pos: int, max_chars: int) -> tuple[str, int]:
    """A UTF-8 string of at most `max_chars` characters (so at most 4 x `max_chars` bytes)."""
    raw, pos = decode_bytes(data, pos, 4 * max_chars)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DecodeError(f"string is not valid UTF-8: {exc.reason}") from None
    if len(text) > max_chars:
        raise DecodeError(f"string of {len(text)} characters is over the limit of {max_chars}")
    return text, pos


# --- containers ----------------------------------------------------------------------------------------------------


def encode_vec(items: list[bytes] | tuple[bytes, ...]) -> bytes:
    """`Vec<T>` from the items' own encodings."""
    return encode_compact(len(items)) + b"".join(items)


def decode_vec(data: bytes, pos: int, item: Decoder[T], max_items: int) -> tuple[tuple[T, ...], int]:
    n, pos = decode_length(data, pos, max_items)
    out = []
    for _ in range(n):
        value, pos = item(data, pos)
        out.append(value)
    return tuple(out), pos


def encode_option(encoded: bytes | None) -> bytes:
    """`Option<T>` from the value's own encoding (None for `None`)."""
    return b"\x00" if encoded is None else b"\x01" + encoded


def decode_option(data: bytes, pos: int, item: Decoder[T]) -> tuple[T | None, int]:
    if pos >= len(data):
        raise DecodeError("expected an option, found the end of the input")
    tag = data[pos]
    if tag == 0:
        return None, pos + 1
    if tag != 1:
        raise DecodeError(f"an option's tag is 0 or 1, got {tag}")
    return item(data, pos + 1)


def decode_variant_index(data: bytes, pos: int, known: int | set[int] | frozenset[int], what: str) -> tuple[int, int]:
    """An enum's variant byte, refused unless it is one of `known` (a count, or the set of indices)."""
    if pos >= len(data):
        raise DecodeError(f"expected a {what} variant, found the end of the input")
    index = data[pos]
    if (index >= known) if isinstance(known, int) else (index not in known):
        raise DecodeError(f"unknown {what} variant {index}")
    return index, pos + 1


# --- whole inputs -----------------------------------------------------------------------------------------------------


def finish(data: bytes, pos: int, what: str = "value") -> None:
    """Refuse anything after a decoded value."""
    if pos != len(data):
        raise DecodeError(f"{len(data) - pos} trailing bytes after the {what}")


def decode_all(data: bytes, decoder: Decoder[T], what: str = "value", max_size: int | None = None) -> T:
    """Decode exactly the whole of `data` (bytes-like) with `decoder`."""
    if not isinstance(data, bytes):
        if not isinstance(data, (bytearray, memoryview)):
            raise DecodeError(f"expected bytes, got {type(data).__name__}")
        data = bytes(data)
    if max_size is not None and len(data) > max_size:
        raise DecodeError(f"encoding is {len(data)} bytes, over the limit of {max_size}")
    value, pos = decoder(data, 0)
    finish(data, pos, what)
    return value

