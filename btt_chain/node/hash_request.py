"""The request both content-by-hash protocols share (`weights/get`, `genesis/state`): `[hash32]` asks for the
content's manifest, `[hash32, chunk index]` for one chunk; msgpack, decoded strictly and bounded before decoding."""

from __future__ import annotations

from btt_chain.primitives.codec import pack, unpack
from btt_chain.primitives.errors import DecodeError
from btt_chain.primitives.hashing import HASH_LEN

MAX_REQUEST_BYTES = 64
"""A request is a hash and a chunk index: anything longer is refused before it is decoded."""


def is_hash(value: object) -> bool:
    return isinstance(value, bytes) and len(value) == HASH_LEN


def encode_request(content_hash: bytes, index: int | None = None) -> bytes:
    return pack([content_hash] if index is None else [content_hash, index])


def decode_request(raw: bytes, max_chunks: int, what: str) -> tuple[bytes, int | None]:
    """(content hash, chunk index below `max_chunks`, or None for the manifest); DecodeError naming `what` (e.g. "a
    weights request") for anything else."""
    value = unpack(raw, max_size=MAX_REQUEST_BYTES)
    if isinstance(value, list) and len(value) == 1 and is_hash(value[0]):
        return value[0], None
    if (isinstance(value, list) and len(value) == 2 and is_hash(value[0]) and type(value[1]) is int
            and 0 <= value[1] < max_chunks):
        return value[0], value[1]
    raise DecodeError(f"{what} must be [hash32] or [hash32, chunk index below {max_chunks}]")
