"""Typed storage items over the overlay: single values and maps, each with its own key prefix."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from btt_chain.primitives.codec import Field, Struct
from btt_chain.primitives.errors import DecodeError
from runtime.overlay import Overlay

V = TypeVar("V")


class ValueCodec(Generic[V]):
    """Encodes a stored value as SCALE, with a Field or a Struct class (what `state_getStorage` returns)."""

    def __init__(self, kind: Field | type[Struct]) -> None:
        self.kind = kind
        self._decode_at = kind.decode_scale if isinstance(kind, Field) else kind.decode_at

    def encode(self, value: V) -> bytes:
        if isinstance(self.kind, Field):
            return self.kind.encode_scale(value)
        return value.encode()  # type: ignore[attr-defined, no-any-return]

    def decode(self, raw: bytes) -> V:
        value, pos = self._decode_at(raw, 0)
        if pos != len(raw):
            raise DecodeError(f"{len(raw) - pos} trailing bytes after a stored {getattr(self.kind, 'name', '')}")
        return value  # type: ignore[return-value]


def _get_decoded(state: Overlay, key: bytes, codec: ValueCodec[V], default: Any) -> V:
    """The value at `key` decoded, through the overlay's per-block cache of decoded values."""
    raw = state.get(key)
    if raw is None:
        return default  # type: ignore[no-any-return]
    decoded = getattr(state, "decoded", None)
    if decoded is None:  # a bare StateReader
        return codec.decode(raw)
    hit = decoded.get(key)
    if hit is not None and hit[0] is raw:
        return hit[1]  # type: ignore[return-value]
    value = codec.decode(raw)
    decoded[key] = (raw, value)
    return value


def _put_encoded(state: Overlay, key: bytes, codec: ValueCodec[V], value: V) -> None:
    raw = codec.encode(value)
    state.set(key, raw)
    decoded = getattr(state, "decoded", None)
    if decoded is not None:
        decoded[key] = (raw, value)


def storage_prefix(module: str, item: str) -> bytes:
    return f"{module}.{item}/".encode()


class StorageValue(Generic[V]):
    """One value at a fixed key."""

    def __init__(self, module: str, item: str, kind: Field | type[Struct], default: Any = None) -> None:
        self.key = storage_prefix(module, item)
        self.codec: ValueCodec[V] = ValueCodec(kind)
        self.default = default

    def get(self, state: Overlay) -> V:
        return _get_decoded(state, self.key, self.codec, self.default)

    def put(self, state: Overlay, value: V) -> None:
        _put_encoded(state, self.key, self.codec, value)

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
        # _get_decoded inlined: this is the runtime's hottest read
        key = self.prefix + self.key_encoder(k)
        raw = state.get(key)
        if raw is None:
            return self.default  # type: ignore[no-any-return]
        decoded = getattr(state, "decoded", None)
        if decoded is None:
            return self.codec.decode(raw)
        hit = decoded.get(key)
        if hit is not None and hit[0] is raw:
            return hit[1]  # type: ignore[no-any-return]
        value = self.codec.decode(raw)
        decoded[key] = (raw, value)
        return value

    def get_at(self, state: Overlay, key: bytes) -> V:
        """The value at the full storage `key` (from `key(k)`): for callers that keep keys they read often."""
        return _get_decoded(state, key, self.codec, self.default)

    def contains(self, state: Overlay, k: Any) -> bool:
        return state.get(self.prefix + self.key_encoder(k)) is not None

    def put(self, state: Overlay, k: Any, value: V) -> None:
        _put_encoded(state, self.prefix + self.key_encoder(k), self.codec, value)

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
