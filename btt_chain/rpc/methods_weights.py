"""RPC methods of model weights blobs, which live outside the state in the node's content store:

`btt_modelWeights` (a blob's manifest, or one 64 KiB chunk of it, by model hash or weights hash: what wallets,
miners and tools fetch and check chunk by chunk), `btt_weightsStatus` (held, partial or missing, and whether the node
is fetching it) and the unsafe `btt_putModelWeights` (a model owner hands a blob to their own node, chunk by chunk,
before registering the model; other nodes then fetch it from this one). A node asked for a registered model's blob it
lacks starts fetching it from its peers and answers WEIGHTS_NOT_HELD: the caller asks again. Every call reads or
writes at most one chunk (a blob's first manifest is computed once, from the whole blob).
"""

from __future__ import annotations

from typing import Any

from btt_chain.rpc import params as p
from btt_chain.rpc.errors import METHOD_NOT_FOUND, WEIGHTS_NOT_HELD, RpcError, invalid_params
from btt_chain.rpc.registry import REGISTRY, Param, RpcContext, optional
from btt_chain.rpc.render import hex0x
from runtime.compute import storage as compute
from runtime.compute.model import MAX_WEIGHTS_BYTES, WEIGHTS_CHUNK
from storage.content import MAX_CHUNKS, ContentRejected, ContentStore, Manifest

method = REGISTRY.method

def _index(value: Any, ctx: RpcContext) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < MAX_CHUNKS:
        raise invalid_params(f"chunkIndex: expected a chunk index from 0 to {MAX_CHUNKS - 1}, got {str(value)[:40]}")
    return value


def _size(value: Any, ctx: RpcContext) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_WEIGHTS_BYTES:
        raise invalid_params(f"size: expected a size from 1 to {MAX_WEIGHTS_BYTES} bytes, got {str(value)[:40]}")
    return value


def _chunk(value: Any, ctx: RpcContext) -> bytes:
    return p.decode_hex(value, "data", max_len=WEIGHTS_CHUNK)


def _chunk_hashes(value: Any, ctx: RpcContext) -> list[bytes]:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_CHUNKS:
        raise invalid_params(f"chunkHashes: expected a list of 1 to {MAX_CHUNKS} 0x-hex hashes")
    return [p.decode_hex(v, f"chunk hash {i}", 32) for i, v in enumerate(value)]


def _resolve(ctx: RpcContext, h: bytes) -> tuple[bytes, bool]:
    """(weights hash, whether a registered model names it) for a model hash or a weights hash."""
    node = ctx.node
    reg = compute.models.get(node.chain.state(), h)
    if reg is not None:
        return reg.spec.weights_hash, True
    return h, h in node.model_weights.needed


def _status_row(ctx: RpcContext, weights_hash: bytes) -> dict[str, Any]:
    status = ctx.node.content.status(weights_hash)
    network = ctx.node.network
    fetching = network is not None and network.weights.is_fetching(weights_hash)
    return {"weightsHash": hex0x(weights_hash), "state": status.state, "fetching": fetching,
            "size": status.size or None, "have": status.have, "total": status.total or None}


def _manifest_row(weights_hash: bytes, manifest: Manifest) -> dict[str, Any]:
    return {"weightsHash": hex0x(weights_hash), "size": manifest.size, "chunks": manifest.chunks,
            "chunkHashes": [hex0x(h) for h in manifest.chunk_hashes]}


def _not_held(ctx: RpcContext, weights_hash: bytes, registered: bool) -> RpcError:
    """Start a fetch of a registered model's blob; the error that says what the node is doing about it."""
    network = ctx.node.network
    if registered and network is not None:
        network.weights.want(weights_hash)
    row = _status_row(ctx, weights_hash)
    short = f"the weights 0x{weights_hash.hex()}"
    if not registered:
        why = "no registered model names them, so this node does not fetch them"
    elif row["fetching"]:
        why = f"fetching them from its peers ({row['have']} of {row['total'] or '?'} chunks held): ask again"
    elif network is None or not network.p2p.peers():
        why = "it has no peers to fetch them from now: ask again later"
    else:
        why = "its peers did not have them moments ago: ask again later"
    return RpcError(WEIGHTS_NOT_HELD, f"this node does not hold {short} yet: {why}", row)


@method("btt_modelWeights", Param("hash", p.any_hash), optional("chunkIndex", _index))
def btt_model_weights(ctx: RpcContext, h: bytes, index: int | None) -> dict[str, Any]:
    """A weights blob by model hash or weights hash: without `chunkIndex` its manifest {weightsHash, size, chunks,
    chunkHashes} (the weights hash commits to the size and the chunk hashes), with it {index, data} for that 64 KiB
    chunk. Error WEIGHTS_NOT_HELD (-32010) while the node lacks the blob; for a registered model it is then fetching
    it from its peers, so ask again."""
    weights_hash, registered = _resolve(ctx, h)
    store: ContentStore = ctx.node.content
    manifest = store.manifest(weights_hash)
    if manifest is None:
        raise _not_held(ctx, weights_hash, registered)
    if index is None:
        return _manifest_row(weights_hash, manifest)
    if index >= manifest.chunks:
        raise invalid_params(f"chunkIndex: the weights have chunks 0 to {manifest.chunks - 1}, not {index}")
    data = store.get_chunk(weights_hash, index)
    if data is None:  # damaged on disk and dropped just now
        raise _not_held(ctx, weights_hash, registered)
    return {"weightsHash": hex0x(weights_hash), "index": index, "data": hex0x(data)}


@method("btt_weightsStatus", Param("hash", p.any_hash))
def btt_weights_status(ctx: RpcContext, h: bytes) -> dict[str, Any]:
    """Whether this node holds a blob (by model hash or weights hash): {weightsHash, state: held | partial |
    missing, fetching, size, have, total} (chunks held and in all; size and total are null while nothing is known)."""
    weights_hash, _ = _resolve(ctx, h)
    return _status_row(ctx, weights_hash)


@method("btt_putModelWeights", Param("weightsHash", p.any_hash), Param("size", _size), Param("chunkIndex", _index),
        Param("data", _chunk), optional("chunkHashes", _chunk_hashes))
def btt_put_model_weights(ctx: RpcContext, weights_hash: bytes, size: int, index: int, data: bytes,
                          hashes: list[bytes] | None) -> dict[str, Any]:
    """Hand this node one 64 KiB chunk of a model's weights blob (a model owner, before registering the model), in
    any order, again harmlessly. With `chunkHashes` (the blob's manifest, which must hash to `weightsHash`; once is
    enough) every chunk is checked on arrival, as chunks from peers are; without them only the whole can be checked,
    against `weightsHash` when the last chunk arrives (a mismatch drops the upload). The blob's status as
    `btt_weightsStatus` gives it. The weights of a registered model (checked against the hash the chain holds, as a
    peer's answer would be) are taken from any caller, so an owner registers first and uploads after. A blob no
    registered model names only from loopback callers of a node run with `--rpc-methods unsafe`; it is kept an
    hour, in at most 64 MiB of such blobs."""
    store: ContentStore = ctx.node.content
    _, registered = _resolve(ctx, weights_hash)
    if not registered and not ctx.unsafe_allowed:
        raise RpcError(METHOD_NOT_FOUND, f"no registered model names the weights 0x{weights_hash.hex()}: register the "
                       "model first (its weights are then taken from anyone), or upload to a node run with "
                       "--rpc-methods unsafe from loopback")
    if not store.has(weights_hash):
        staged = store.staged_size(weights_hash)
        if staged is not None and staged != size:
            raise invalid_params(f"the weights 0x{weights_hash.hex()[:16]} are being received with another size "
                                 f"({staged} bytes)")
        try:
            if hashes is not None:
                store.begin(weights_hash, size, hashes)
            elif staged is None:
                store.begin_upload(weights_hash, size)
            store.add_chunk(weights_hash, index, data)
        except ContentRejected as exc:
            raise invalid_params(f"weights not kept: {exc}") from None
    return _status_row(ctx, weights_hash)
