"""The chain database: blocks, canonical index, head pointers, flat state, state-tree nodes and undo journals.

Everything a block changes is written in one atomic batch by `commit_block`, so a crash at any moment
leaves the database at the last committed block.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import msgpack

from btt_chain.primitives.block import Block, Header
from btt_chain.primitives.codec import pack
from btt_chain.primitives.errors import StorageError
from storage import schema
from storage.kv import KeyValueStore


@dataclass(frozen=True)
class BlockMeta:
    """What importing a block produced, kept beside it for RPC: events and per-extrinsic outcomes (wire form)."""

    events: list[Any]
    outcomes: list[Any]

    def encode(self) -> bytes:
        return pack([self.events, self.outcomes])

    @classmethod
    def decode(cls, raw: bytes) -> BlockMeta:
        events, outcomes = msgpack.unpackb(raw, raw=False)
        return cls(events, outcomes)


class FlatState:
    """The runtime's StateReader over the flat state at the head block."""

    def __init__(self, kv: KeyValueStore) -> None:
        self._kv = kv

    def get(self, key: bytes) -> bytes | None:
        return self._kv.get(schema.STATE + key)

    def iterate(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        n = len(schema.STATE)
        for k, v in self._kv.iterate(schema.STATE + prefix):
            yield k[n:], v


class ChainDB:
    """Typed access to the chain database. The only writer of block data."""

    def __init__(self, kv: KeyValueStore) -> None:
        self.kv = kv
        self.state = FlatState(kv)

    # metadata --------------------------------------------------------------------------------------
    def genesis_hash(self) -> bytes | None:
        return self.kv.get(schema.META_GENESIS_HASH)

    def chain_spec_json(self) -> bytes | None:
        return self.kv.get(schema.META_CHAIN_SPEC)

    def head_hash(self) -> bytes:
        h = self.kv.get(schema.META_HEAD)
        if h is None:
            raise StorageError("database has no head block: it was never initialised")
        return h

    def finalized_hash(self) -> bytes:
        return self.kv.get(schema.META_FINALIZED) or self.head_hash()

    # blocks ----------------------------------------------------------------------------------------
    def get_block_bytes(self, block_hash: bytes) -> bytes | None:
        return self.kv.get(schema.block_key(block_hash))

    def get_block(self, block_hash: bytes) -> Block | None:
        raw = self.get_block_bytes(block_hash)
        return None if raw is None else Block.decode(raw)

    def get_header(self, block_hash: bytes) -> Header | None:
        raw = self.kv.get(schema.header_key(block_hash))
        return None if raw is None else Header.decode(raw)

    def canonical_hash(self, number: int) -> bytes | None:
        return self.kv.get(schema.canonical_key(number))

    def block_meta(self, block_hash: bytes) -> BlockMeta | None:
        raw = self.kv.get(schema.block_meta_key(block_hash))
        return None if raw is None else BlockMeta.decode(raw)

    def tx_location(self, xt_hash: bytes) -> tuple[bytes, int] | None:
        raw = self.kv.get(schema.tx_index_key(xt_hash))
        if raw is None:
            return None
        block_hash, index = msgpack.unpackb(raw)
        return block_hash, index

    def trie_node(self, node_hash: bytes) -> bytes | None:
        return self.kv.get(schema.trie_node_key(node_hash))

    # writes ----------------------------------------------------------------------------------------
    def initialise(
        self, genesis: Block, state: Mapping[bytes, bytes], nodes: Mapping[bytes, bytes], spec_json: bytes
    ) -> None:
        """Write the genesis block and state into an empty database, atomically."""
        if self.kv.get(schema.META_HEAD) is not None:
            raise StorageError("database is already initialised")
        h = genesis.hash()
        puts: dict[bytes, bytes] = {schema.state_key(k): v for k, v in state.items()}
        puts.update({schema.trie_node_key(k): v for k, v in nodes.items()})
        puts[schema.block_key(h)] = genesis.encode()
        puts[schema.header_key(h)] = genesis.header.encode()
        puts[schema.block_meta_key(h)] = BlockMeta([], []).encode()
        puts[schema.canonical_key(0)] = h
        puts[schema.META_GENESIS_HASH] = h
        puts[schema.META_CHAIN_SPEC] = spec_json
        puts[schema.META_HEAD] = h
        puts[schema.META_FINALIZED] = h
        self.kv.write(puts, sync=True)

    def commit_block(
        self,
        block: Block,
        encoded: bytes,
        changes: Mapping[bytes, bytes | None],
        nodes: Mapping[bytes, bytes],
        meta: BlockMeta,
        sync: bool = True,
    ) -> None:
        """Append `block` on top of the head: block, state changes, tree nodes, undo journal, indices, head."""
        h = block.hash()
        undo = []
        puts: dict[bytes, bytes] = {}
        deletes: list[bytes] = []
        for key, value in changes.items():
            old = self.state.get(key)
            undo.append([key, old is not None, old or b""])
            if value is None:
                deletes.append(schema.state_key(key))
            else:
                puts[schema.state_key(key)] = value
        for node_hash, enc in nodes.items():
            puts[schema.trie_node_key(node_hash)] = enc
        puts[schema.block_key(h)] = encoded
        puts[schema.header_key(h)] = block.header.encode()
        puts[schema.block_meta_key(h)] = meta.encode()
        puts[schema.undo_key(h)] = pack(undo)
        puts[schema.canonical_key(block.header.number)] = h
        for i, xt in enumerate(block.extrinsics):
            puts[schema.tx_index_key(xt.hash())] = pack([h, i])
        puts[schema.META_HEAD] = h
        self.kv.write(puts, deletes, sync=sync)
