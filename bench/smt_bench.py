"""How fast the state tree updates and proves at node scale: a benchmark, not a test.

Run: python -m bench.smt_bench [n_keys n_changes [leveldb_dir|- [cache_size]]]
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from pathlib import Path

from storage.kv import KeyValueStore
from storage.leveldb import LevelDBStore
from storage.memory import MemoryStore
from storage.schema import trie_node_key
from storage.smt import EMPTY_ROOT, SparseMerkleTree, verify_proof

BUILD_BATCH = 50_000
BLOCKS = 5
"""Consecutive update batches timed, like consecutive blocks: the first one's cache is the build's."""


def _key(i: int) -> bytes:
    # Shaped like a runtime storage key: a module/item prefix then an account-sized id.
    return b"balances:account:" + i.to_bytes(32, "big")


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)


def run(
    n_keys: int,
    n_changes: int,
    seed: int = 1,
    leveldb_dir: str | Path | None = None,
    cache_size: int = 200_000,
) -> dict[str, float]:
    """Build an n_keys tree, then time BLOCKS updates of n_changes existing keys, one of n_changes new keys,
    and one proof. Figures ending in _ms are wall-clock milliseconds.

    Nodes live in a MemoryStore (or a LevelDB store in `leveldb_dir`) under schema.trie_node_key, read and
    written the way the node does, so the tree's node cache (`cache_size` nodes) misses cost a real store read.
    """
    rng = random.Random(seed)
    store: KeyValueStore = MemoryStore() if leveldb_dir is None else LevelDBStore(leveldb_dir)

    def get_node(node_hash: bytes) -> bytes | None:
        return store.get(trie_node_key(node_hash))

    def persist(new_nodes: dict[bytes, bytes]) -> None:
        store.write({trie_node_key(h): enc for h, enc in new_nodes.items()})

    with store:
        tree = SparseMerkleTree(get_node, cache_size=cache_size)
        root = EMPTY_ROOT
        start = time.perf_counter()
        for base in range(0, n_keys, BUILD_BATCH):
            batch = {_key(i): rng.randbytes(40) for i in range(base, min(n_keys, base + BUILD_BATCH))}
            root, new_nodes = tree.update(root, batch)
            persist(new_nodes)
        build_ms = _ms(start)

        # As a restarted node would: a fresh tree (cold cache), warmed from the store top-down until full.
        tree = SparseMerkleTree(get_node, cache_size=cache_size)
        start = time.perf_counter()
        warmed = tree.warm(root)
        warm_ms = _ms(start)

        update_ms: list[float] = []
        persist_ms: list[float] = []
        for _ in range(BLOCKS):
            changes = {_key(i): rng.randbytes(40) for i in rng.sample(range(n_keys), n_changes)}
            start = time.perf_counter()
            root, new_nodes = tree.update(root, changes)
            update_ms.append(_ms(start))
            start = time.perf_counter()
            persist(new_nodes)
            persist_ms.append(_ms(start))

        # Fresh keys: each insert splits a leaf, so it makes a node or two more than a modification.
        inserts = {_key(n_keys + i): rng.randbytes(40) for i in range(n_changes)}
        start = time.perf_counter()
        insert_root, insert_nodes = tree.update(root, inserts)
        insert_ms = _ms(start)

        key, value = next(iter(changes.items()))
        start = time.perf_counter()
        proof = SparseMerkleTree(get_node).prove(root, key)  # a cold cache: every node read from the store
        prove_ms = _ms(start)
        start = time.perf_counter()
        ok = verify_proof(root, key, value, proof)
        verify_ms = _ms(start)
        if not ok:
            raise AssertionError("benchmark proof did not verify")

        return {
            "n_keys": n_keys,
            "n_changes": n_changes,
            "build_ms": build_ms,
            "warm_ms": warm_ms,
            "warm_nodes": warmed,
            "update_first_ms": update_ms[0],
            "update_median_ms": statistics.median(update_ms),
            "update_new_nodes": len(new_nodes),
            "persist_median_ms": statistics.median(persist_ms),
            "insert_ms": insert_ms,
            "insert_new_nodes": len(insert_nodes),
            "prove_cold_ms": prove_ms,
            "proof_depth": len(proof.siblings),
            "verify_ms": verify_ms,
        }


if __name__ == "__main__":
    n_keys = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    n_changes = int(sys.argv[2]) if len(sys.argv) > 2 else 5_000
    leveldb_dir = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] != "-" else None
    cache_size = int(sys.argv[4]) if len(sys.argv) > 4 else 200_000
    for name, figure in run(n_keys, n_changes, leveldb_dir=leveldb_dir, cache_size=cache_size).items():
        print(f"{name:>18}: {figure}")
