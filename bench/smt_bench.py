"""How fast the state tree opens, updates and proves at node scale: a benchmark, not a test.

Run: python -m bench.smt_bench [n_keys n_changes [budget_leaves]]  (or `btt-chain bench smt`)

The leaves live in a LevelDB database in a temporary directory, written and read the way a node does
(`storage.state_tree`): opening reads them all once; an update of a bucket that is not held in memory reads it back.
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from typing import Any

from storage import schema
from storage.leveldb import LevelDBStore
from storage.smt import verify_proof
from storage.state_tree import TREE_LEAF_BUDGET, StateTree, leaf_records, put_leaves

BLOCKS = 5
"""Consecutive update batches timed, like consecutive blocks."""
WRITE_BATCH = 100_000


def _key(i: int) -> bytes:
    # Shaped like a runtime storage key: a module/item prefix then an account-sized id.
    return b"balances:account:" + i.to_bytes(32, "big")


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)


def run(n_keys: int, n_changes: int, budget_leaves: int = TREE_LEAF_BUDGET, seed: int = 1) -> dict[str, Any]:
    """Build an n_keys state's leaves, open the tree from them, then time BLOCKS updates of n_changes existing keys
    (each committed after its leaves are written), one of n_changes new keys, a proof at the head and one a block
    back. Figures ending in _ms are wall-clock milliseconds."""
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="btt-bench-smt-") as tmp, LevelDBStore(tmp) as kv:
        start = time.perf_counter()
        records = leaf_records({_key(i): rng.randbytes(40) for i in range(n_keys)})
        step = WRITE_BATCH * 64
        for at in range(0, len(records), step):
            part = records[at : at + step]
            kv.write({schema.TREE_LEAF + part[i : i + 32]: part[i + 32 : i + 64] for i in range(0, len(part), 64)})
        build_ms = _ms(start)
        tree = StateTree(kv, budget_leaves)
        start = time.perf_counter()
        root = tree.load_records(records)
        del records
        open_ms = _ms(start)

        update_ms: list[float] = []
        write_ms: list[float] = []
        changes: dict[bytes, bytes | None] = {}
        previous: dict[bytes, bytes | None] = {}
        for _ in range(BLOCKS):
            changes = {_key(i): rng.randbytes(40) for i in rng.sample(range(n_keys), n_changes)}
            with tree.transaction() as tx:
                start = time.perf_counter()
                root = tree.update(changes)
                update_ms.append(_ms(start))
                start = time.perf_counter()
                puts: dict[bytes, bytes] = {}
                deletes: list[bytes] = []
                put_leaves(puts, deletes, changes)
                kv.write(puts, deletes)
                write_ms.append(_ms(start))
                tx.commit()
            previous = {k: None for k in changes}  # only the keys matter for the rewind's cost

        # Fresh keys: each insert splits a leaf into a pair.
        inserts: dict[bytes, bytes | None] = {_key(n_keys + i): rng.randbytes(40) for i in range(n_changes)}
        with tree.transaction():
            start = time.perf_counter()
            tree.update(inserts)
            insert_ms = _ms(start)

        key, value = next(iter(changes.items()))
        assert value is not None
        start = time.perf_counter()
        proof = tree.prove(key)
        prove_ms = _ms(start)
        if not verify_proof(root, key, value, proof):
            raise AssertionError("benchmark proof did not verify")
        start = time.perf_counter()
        with tree.rewound(previous):  # the keys the last block changed, set back (here: to absent)
            tree.prove(key)
        rewound_ms = _ms(start)
        stats = tree.stats()
        return {
            "n_keys": n_keys,
            "n_changes": n_changes,
            "engine": stats["engine"],
            "bucket_bits": stats["bucket_bits"],
            "resident_leaves": stats["resident_leaves"],
            "budget_leaves": budget_leaves,
            "tree_memory_mib": round(tree.memory_bytes() / 2**20, 1),
            "leaves_build_ms": build_ms,
            "open_ms": open_ms,
            "update_first_ms": update_ms[0],
            "update_median_ms": statistics.median(update_ms),
            "leaf_write_median_ms": statistics.median(write_ms),
            "insert_ms": insert_ms,
            "prove_ms": prove_ms,
            "proof_depth": len(proof.siblings),
            "prove_one_block_back_ms": rewound_ms,
        }


if __name__ == "__main__":
    n_keys = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    n_changes = int(sys.argv[2]) if len(sys.argv) > 2 else 5_000
    budget = int(sys.argv[3]) if len(sys.argv) > 3 else TREE_LEAF_BUDGET
    for name, figure in run(n_keys, n_changes, budget).items():
        print(f"{name:>24}: {figure}")
