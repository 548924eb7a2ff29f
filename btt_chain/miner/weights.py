"""Model weights for tools that run beside a node (miner, clinic, challenger): fetched from the node over RPC
(`btt_modelWeights`: the manifest, then chunk by chunk, each checked against its hash and the whole against the
weights hash), kept in memory, and installed as this process's weights source so the runtime's own inference
runs on them. The shipped reference models need no fetch."""

from __future__ import annotations

import threading
from typing import Any

from btt_chain.miner.watch import RpcCaller
from btt_chain.primitives.errors import BttError
from btt_chain.primitives.hashing import blake2b_256
from runtime.compute import weights_source
from runtime.compute.model import WEIGHTS_CHUNK, weights_hash_of_chunks

MAX_HELD = 8
"""Blobs kept in memory (each at most 8 MiB)."""


class WeightsNotServed(BttError):
    """The node does not hold the weights yet (it fetches them from its peers: ask again) or sent bad data."""


def _hex(text: Any, what: str) -> bytes:
    if not isinstance(text, str) or not text.startswith("0x"):
        raise WeightsNotServed(f"the node sent a malformed {what}")
    try:
        return bytes.fromhex(text[2:])
    except ValueError:
        raise WeightsNotServed(f"the node sent a malformed {what}") from None


def fetch_weights(rpc: RpcCaller, weights_hash: bytes) -> bytes:
    """The blob `weights_hash` from the node, verified; WeightsNotServed if the node lacks it or lies."""
    try:
        manifest = rpc.call("btt_modelWeights", "0x" + weights_hash.hex())
    except BttError as exc:
        raise WeightsNotServed(f"the node does not serve the weights 0x{weights_hash.hex()[:16]} yet: {exc}") from None
    size = manifest.get("size") if isinstance(manifest, dict) else None
    hashes = [_hex(h, "chunk hash") for h in manifest.get("chunkHashes", [])] if isinstance(manifest, dict) else []
    if type(size) is not int or weights_hash_of_chunks(size, hashes) != weights_hash:
        raise WeightsNotServed("the node's manifest does not match the weights hash")
    if len(hashes) != (size + WEIGHTS_CHUNK - 1) // WEIGHTS_CHUNK:
        raise WeightsNotServed("the node's manifest has the wrong number of chunks")
    parts = []
    for i, h in enumerate(hashes):
        row = rpc.call("btt_modelWeights", "0x" + weights_hash.hex(), i)
        data = _hex(row.get("data") if isinstance(row, dict) else None, "chunk")
        if blake2b_256(data) != h:
            raise WeightsNotServed(f"chunk {i} of the weights does not match its hash")
        parts.append(data)
    blob = b"".join(parts)
    if len(blob) != size:
        raise WeightsNotServed("the node's chunks do not add up to the weights' size")
    return blob


class RpcWeights:
    """A weights source backed by a node: shipped blobs first, then blobs fetched (and kept) on demand."""

    def __init__(self, rpc: RpcCaller) -> None:
        self.rpc = rpc
        self._held: dict[bytes, bytes] = {}
        self._lock = threading.Lock()
        self._shipped = weights_source.shipped()

    def get_weights(self, weights_hash: bytes) -> bytes | None:
        blob = self._shipped.get_weights(weights_hash)
        if blob is not None:
            return blob
        with self._lock:
            blob = self._held.get(weights_hash)
        if blob is not None:
            return blob
        try:
            blob = fetch_weights(self.rpc, weights_hash)
        except WeightsNotServed:
            return None
        with self._lock:
            if len(self._held) >= MAX_HELD:
                self._held.pop(next(iter(self._held)))
            self._held[weights_hash] = blob
        return blob


def use_node_weights(rpc: RpcCaller) -> RpcWeights:
    """Install a node-backed weights source for this process; it is returned."""
    source = RpcWeights(rpc)
    weights_source.install(source)
    return source


def upload_weights(rpc: RpcCaller, weights_hash: bytes, blob: bytes) -> None:
    """Put `blob` into the node's content store chunk by chunk (`btt_putModelWeights`: taken from anyone once a
    registered model names it; before that, only on a node run with `--rpc-methods unsafe`); from there peers
    fetch it by hash."""
    for index, start in enumerate(range(0, len(blob), WEIGHTS_CHUNK)):
        rpc.call("btt_putModelWeights", "0x" + weights_hash.hex(), len(blob), index,
                 "0x" + blob[start:start + WEIGHTS_CHUNK].hex())
