"""How a model's weights blob is hashed and cut for transfer: below both the runtime (a model's spec carries the
blob's `weights_hash`) and the node's content store and exchange (which serve and check it chunk by chunk), so that
storage need not import the runtime.

`weights_hash(blob)` = blake2b-256(b"btt-weights" || u64le(len(blob)) || h_0 || h_1 || ...), where h_i is
blake2b-256 of the i-th WEIGHTS_CHUNK-byte chunk: a node fetching a blob from peers gets the chunk hashes first
(checked against `weights_hash`), then checks every chunk on arrival.
"""

from __future__ import annotations

from btt_chain.primitives.hashing import blake2b_256

MAX_WEIGHTS_BYTES = 8 * 1024 * 1024
"""The largest blob any model may have; the chain's `compute.max_model_bytes` may set a lower bound."""
WEIGHTS_CHUNK = 64 * 1024
"""Bytes per hashed chunk of a blob (also the unit in which peers serve it)."""
WEIGHTS_DOMAIN = b"btt-weights"


def chunk_hashes(blob: bytes) -> list[bytes]:
    """blake2b-256 of each WEIGHTS_CHUNK-byte chunk of `blob`, in order."""
    return [blake2b_256(blob[i:i + WEIGHTS_CHUNK]) for i in range(0, len(blob), WEIGHTS_CHUNK)]


def weights_hash_of_chunks(size: int, hashes: list[bytes]) -> bytes:
    """The weights hash of a blob of `size` bytes whose chunk hashes are `hashes`."""
    return blake2b_256(WEIGHTS_DOMAIN + size.to_bytes(8, "little") + b"".join(hashes))


def weights_hash(blob: bytes) -> bytes:
    """The hash a spec carries for `blob` (see the module docstring)."""
    return weights_hash_of_chunks(len(blob), chunk_hashes(blob))
