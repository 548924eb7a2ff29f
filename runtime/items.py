"""Typed storage items over the overlay: single values and maps, under FRAME's keys.

Every item's key starts `twox128(Pallet) ++ twox128(Item)` (the PascalCase of btt's module and item names), then a
map's key: `hasher(key)` per FRAME's hashers. `System.Account` is `Blake2_128Concat(AccountId32)` and
`System.BlockHash` `Twox64Concat(u32)`, as FRAME has them. btt's other maps keep keys that iterate in order (ids as
big-endian bytes, composite keys whose leading parts group what is scanned together) under the `Identity` hasher:
the metadata gives such a key's type as the raw byte array it is (`[u8; N]`), or the SCALE parts it is built from
(string keys). Every item registers its `StorageEntry` (`runtime.storage_schema`) for the metadata."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from btt_chain.primitives import scale
from btt_chain.primitives.codec import Bytes, Field, Struct, Text
from btt_chain.primitives.errors import DecodeError
from btt_chain.primitives.hashing import blake2_128, twox64, twox128
from runtime.overlay import Overlay

from .storage_schema import StorageEntry, pascal_case, register

V = TypeVar("V")


class ValueCodec(Generic[V]):
    """Encodes a stored value as SCALE, with a Field or a Struct class (what `state_getStorage` returns).

    `encode` and `decode` are plain callables picked once for the kind (every read and write of an item calls one):
    a Struct with `encode_stored` and `decode_stored` (AccountInfo, the state's most used value) encodes and
    decodes a stored value itself."""

    def __init__(self, kind: Field | type[Struct]) -> None:
        self.kind = kind
        self._decode_at = kind.decode_scale if isinstance(kind, Field) else kind.decode_at
        self.encode: Callable[[V], bytes] = getattr(kind, "encode_stored", None) or (
            kind.encode_scale if isinstance(kind, Field) else _encode_struct  # type: ignore[assignment]
        )
        self.decode: Callable[[bytes], V] = getattr(kind, "decode_stored", None) or self.decode_at_start

    def decode_at_start(self, raw: bytes) -> V:
        """The value whose encoding is exactly `raw`."""
        value, pos = self._decode_at(raw, 0)
        if pos != len(raw):
            raise DecodeError(f"{len(raw) - pos} trailing bytes after a stored {getattr(self.kind, 'name', '')}")
        return value  # type: ignore[return-value]


def _encode_struct(value: Struct) -> bytes:
    return value.encode()


def _get_decoded(state: Overlay, key: bytes, codec: ValueCodec[V], default: Any) -> V:
    """The value at `key` decoded, through the overlay's per-block cache of decoded values."""
    if type(state) is Overlay:
        return state.get_decoded(key, codec.decode, default)
    raw = state.get(key)  # a bare StateReader
    return default if raw is None else codec.decode(raw)  # type: ignore[no-any-return]


def _put_encoded(state: Overlay, key: bytes, codec: ValueCodec[V], value: V) -> None:
    raw = codec.encode(value)
    if type(state) is Overlay:
        state.set_decoded(key, raw, value)
    else:
        state.set(key, raw)


def identity_key(k: bytes) -> bytes:
    """The `Identity` hasher: a key that is its own bytes."""
    return k


def storage_prefix(module: str, item: str) -> bytes:
    """FRAME's item prefix: twox128 of the pallet name, then of the item name (both PascalCase)."""
    return twox128(pascal_case(module).encode()) + twox128(pascal_case(item).encode())


class StorageValue(Generic[V]):
    """One value at a fixed key."""

    def __init__(self, module: str, item: str, kind: Field | type[Struct], default: Any = None, doc: str = "") -> None:
        self.key = storage_prefix(module, item)
        self.codec: ValueCodec[V] = ValueCodec(kind)
        self.default = default
        register(StorageEntry(module, item, (), (), kind, default, doc))

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
        key_encoder: Callable[[Any], bytes] = identity_key,
        key_decoder: Callable[[bytes], Any] = identity_key,
        default: Any = None,
        key_size: int | None = None,
        key_types: tuple[Field, ...] | None = None,
        doc: str = "",
        hashers: tuple[str, ...] | None = None,
        register_entry: bool = True,
    ) -> None:
        """`key_encoder` makes the key's bytes after the prefix (`Identity`); the metadata gives them as
        `key_types` when they are those fields' SCALE encodings, else as `[u8; key_size]` (default: 32 bytes, an
        account or a hash; 8 for the big-endian u64 of `u64_key`). `register_entry=False`: an earlier spec's item a
        migration reads (Substrate's `storage_alias`), kept out of the metadata."""
        self.prefix = storage_prefix(module, item)
        self.codec: ValueCodec[V] = ValueCodec(kind)
        self.key_encoder = key_encoder
        self.key_decoder = key_decoder
        self._identity = key_encoder is identity_key
        self._full_key = self._make_full_key(key_encoder)
        self.default = default
        if key_types is None:
            if key_encoder is str_key:
                key_types = (Text(MAX_KEY_TEXT),)
            else:
                size = key_size if key_size is not None else 8 if key_encoder is u64_key else 32
                key_types = (Bytes(size),)
        hashers = hashers if hashers is not None else ("Identity",) * len(key_types)
        if register_entry:
            register(StorageEntry(module, item, key_types, hashers, kind, default, doc))

    def key(self, k: Any) -> bytes:
        return self._full_key(k)

    def _make_full_key(self, key_encoder: Callable[[Any], bytes]) -> Callable[[Any], bytes]:
        """k -> its whole storage key, as one call (every read and write of the map makes one)."""
        prefix = self.prefix
        if key_encoder is identity_key:
            return lambda k: prefix + k
        return lambda k: prefix + key_encoder(k)

    # get, contains and put make an Identity map's key inline (`prefix + k`, one call less) and call the overlay
    # directly (`_get_decoded` and `_put_encoded`'s first case): a transfer reads and writes through them 14 times
    def get(self, state: Overlay, k: Any) -> V:
        key = self.prefix + k if self._identity else self._full_key(k)
        if type(state) is Overlay:
            return state.get_decoded(key, self.codec.decode, self.default)
        return _get_decoded(state, key, self.codec, self.default)

    def get_at(self, state: Overlay, key: bytes) -> V:
        """The value at the full storage `key` (from `key(k)`): for callers that keep keys they read often."""
        return _get_decoded(state, key, self.codec, self.default)

    def contains(self, state: Overlay, k: Any) -> bool:
        return state.get(self.prefix + k if self._identity else self._full_key(k)) is not None

    def put(self, state: Overlay, k: Any, value: V) -> None:
        key = self.prefix + k if self._identity else self._full_key(k)
        if type(state) is Overlay:
            state.set_decoded(key, self.codec.encode(value), value)
        else:
            _put_encoded(state, key, self.codec, value)

    def remove(self, state: Overlay, k: Any) -> None:
        state.delete(self._full_key(k))

    def items(self, state: Overlay) -> Iterator[tuple[Any, V]]:
        n = len(self.prefix)
        for key, raw in state.iterate(self.prefix):
            yield self.key_decoder(key[n:]), self.codec.decode(raw)


class HashedMap(StorageMap[V]):
    """A map under one of FRAME's reversible hashers (`Blake2_128Concat`, `Twox64Concat`): key = hash(SCALE(k)) ++
    SCALE(k). For maps whose keys clients compute with FRAME's own rule (`System.Account`, `System.BlockHash`)."""

    def __init__(self, module: str, item: str, kind: Field | type[Struct], key_type: Field, hasher: str,
                 default: Any = None, doc: str = "") -> None:
        if hasher == "Blake2_128Concat":
            hash_of: Callable[[bytes], bytes] = blake2_128
            size = 16
        elif hasher == "Twox64Concat":
            hash_of, size = twox64, 8
        else:
            raise ValueError(f"no reversible hasher {hasher!r}")
        encode_key = key_type.encode_scale

        def key_encoder(k: Any) -> bytes:
            raw = encode_key(k)
            return hash_of(raw) + raw

        def key_decoder(b: bytes) -> Any:
            return decode_exact(key_type, b[size:])

        self._fixed_key_size = key_type.size if isinstance(key_type, Bytes) else None
        self._known: dict[Any, bytes] = {}
        super().__init__(module, item, kind, key_encoder, key_decoder, default, key_types=(key_type,), doc=doc,
                         hashers=(hasher,))

    def _make_full_key(self, key_encoder: Callable[[Any], bytes]) -> Callable[[Any], bytes]:
        prefix = self.prefix
        fixed = self._fixed_key_size
        # account -> its whole key: a transfer computes its two accounts' keys five times. A pure function of the
        # account, so never stale; emptied when it reaches KEY_MEMO_ENTRIES (~15 MB)
        known = self._known

        def full_key(k: Any) -> bytes:
            if type(k) is bytes and len(k) == fixed:  # an account: its bytes are its SCALE (the hot path)
                key = known.get(k)
                if key is None:
                    if len(known) >= KEY_MEMO_ENTRIES:
                        known.clear()
                    key = known[k] = prefix + key_encoder(k)
                return key
            return prefix + key_encoder(k)

        return full_key

    # get and put look a remembered account key up inline (one call less; `_make_full_key` fills the memo)
    def get(self, state: Overlay, k: Any) -> V:
        key = self._known.get(k) or self._full_key(k)
        if type(state) is Overlay:
            return state.get_decoded(key, self.codec.decode, self.default)
        return _get_decoded(state, key, self.codec, self.default)

    def put(self, state: Overlay, k: Any, value: V) -> None:
        key = self._known.get(k) or self._full_key(k)
        if type(state) is Overlay:
            state.set_decoded(key, self.codec.encode(value), value)
        else:
            _put_encoded(state, key, self.codec, value)


def decode_exact(field: Field, raw: bytes) -> Any:
    value, pos = field.decode_scale(raw, 0)
    scale.finish(raw, pos, field.name)
    return value


def u64_key(n: int) -> bytes:
    return n.to_bytes(8, "big")


ID_KEY = Bytes(8)
"""A key part made by `u64_key` (an id, a time) as the metadata types it in a composite key: `[u8; 8]`, big-endian
so that keys iterate in order (SCALE's u64 is little-endian)."""


def u64_from_key(b: bytes) -> int:
    return int.from_bytes(b, "big")


MAX_KEY_TEXT = 256
KEY_MEMO_ENTRIES = 65_536
"""Fixed-size keys a hashed map remembers the key part of (the accounts of the last blocks' transfers)."""


def str_key(s: str) -> bytes:
    """A string key as SCALE `String` (compact length, UTF-8)."""
    return scale.encode_str(s)


def str_from_key(b: bytes) -> str:
    return decode_exact(Text(MAX_KEY_TEXT), b)  # type: ignore[no-any-return]

