"""Typed storage items over the overlay: single values and maps, each with its own key prefix."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

import msgpack

from btt_chain.primitives.codec import Field, Struct, pack
from runtime.overlay import Overlay

V = TypeVar("V")


class ValueCodec(Generic[V]):
    """Encodes a stored value with a wire Field or a Struct class.

    State is trusted (the runtime wrote it), so decoding skips the canonical re-encoding check."""

    def __init__(self, kind: Field | type[Struct]) -> None:
        self.kind = kind

    def encode(self, value: V) -> bytes:
        if isinstance(self.kind, Field):
            return pack(self.kind.to_wire(value))
        return value.encode()  # type: ignore[attr-defined, no-any-return]

    def decode(self, raw: bytes) -> V:
        wire = msgpack.unpackb(raw, raw=False)
        return self.kind.from_wire(wire)  # type: ignore[no-any-return, union-attr, return-value]


def storage_prefix(module: str, item: str) -> bytes:
    return f"{module}.{item}/".encode()


class StorageValue(Generic[V]):
    """One value at a fixed key."""

    def __init__(self, module: str, item: str, kind: Field | type[Struct], default: Any = None) -> None:
        self.key = storage_prefix(module, item)
        self.codec: ValueCodec[V] = ValueCodec(kind)
        self.default = default

    def get(self, state: Overlay) -> V:
        raw = state.get(self.key)
        return self.default if raw is None else self.codec.decode(raw)  # type: ignore[no-any-return]

    def put(self, state: Overlay, value: V) -> None:
        state.set(self.key, self.codec.encode(value))

    def kill(self, state: Overlay) -> None:
        state.delete(self.key)


class StorageMap(Generic[V]):
    """A map from a key (encoded to bytes by `key_encoder`) to a value."""

    def __init__(
        self,
        module: str,
        item: str,
        kind: Field | type[Struct],
        key_encoder: Callable[[Any], bytes] = lambda k: k,
        key_decoder: Callable[[bytes], Any] = lambda b: b,
        default: Any = None,
    ) -> None:
        self.prefix = storage_prefix(module, item)
        self.codec: ValueCodec[V] = ValueCodec(kind)
        self.key_encoder = key_encoder
        self.key_decoder = key_decoder
        self.default = default

    def key(self, k: Any) -> bytes:
        return self.prefix + self.key_encoder(k)

    def get(self, state: Overlay, k: Any) -> V:
        raw = state.get(self.prefix + self.key_encoder(k))
        return self.default if raw is None else self.codec.decode(raw)  # type: ignore[no-any-return]

    def contains(self, state: Overlay, k: Any) -> bool:
        return state.get(self.prefix + self.key_encoder(k)) is not None

    def put(self, state: Overlay, k: Any, value: V) -> None:
        state.set(self.prefix + self.key_encoder(k), self.codec.encode(value))

    def remove(self, state: Overlay, k: Any) -> None:
        state.delete(self.prefix + self.key_encoder(k))

    def items(self, state: Overlay) -> Iterator[tuple[Any, V]]:
        n = len(self.prefix)
        for key, raw in state.iterate(self.prefix):
            yield self.key_decoder(key[n:]), self.codec.decode(raw)


def u64_key(n: int) -> bytes:
    return n.to_bytes(8, "big")


def u64_from_key(b: bytes) -> int:
    return int.from_bytes(b, "big")


def str_key(s: str) -> bytes:
    return s.encode()


def str_from_key(b: bytes) -> str:
    return b.decode()
