"""Signature checks: once per extrinsic (cached by hash), big batches in worker processes.

Worker processes are started before the node loads state, so forking does not copy a large heap.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
from collections import OrderedDict
from collections.abc import Sequence

from btt_chain.primitives.keys import verify

PARALLEL_THRESHOLD = 256
"""Below this many signatures the round trip to workers costs more than it saves."""


def _verify_chunk(items: Sequence[tuple[bytes, bytes, bytes]]) -> list[bool]:
    return [verify(pub, msg, sig) for pub, msg, sig in items]


class SignatureChecker:
    """Verifies (public key, message, signature) triples, remembering the ones already found valid."""

    def __init__(self, workers: int = 0, cache_size: int = 200_000) -> None:
        self._cache: OrderedDict[bytes, None] = OrderedDict()
        self._cache_size = cache_size
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._workers = workers
        if workers > 0:
            ctx = multiprocessing.get_context("fork")
            self._pool = concurrent.futures.ProcessPoolExecutor(workers, mp_context=ctx)
            # start the workers now, while the heap is small
            list(self._pool.map(_verify_chunk, [[]] * workers))

    def is_known_valid(self, key: bytes) -> bool:
        return key in self._cache

    def remember(self, key: bytes) -> None:
        self._cache[key] = None
        self._cache.move_to_end(key)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    def verify_one(self, key: bytes, pub: bytes, msg: bytes, sig: bytes) -> bool:
        if key in self._cache:
            return True
        ok = verify(pub, msg, sig)
        if ok:
            self.remember(key)
        return ok

    def verify_many(self, keys: Sequence[bytes], items: Sequence[tuple[bytes, bytes, bytes]]) -> list[bool]:
        """Check many signatures; cached ones are skipped, large batches are split across the workers."""
        results = [k in self._cache for k in keys]
        todo = [i for i, ok in enumerate(results) if not ok]
        if not todo:
            return results
        batch = [items[i] for i in todo]
        if self._pool is not None and len(batch) >= PARALLEL_THRESHOLD:
            n = self._workers
            size = (len(batch) + n - 1) // n
            chunks = [batch[i : i + size] for i in range(0, len(batch), size)]
            checked = [ok for part in self._pool.map(_verify_chunk, chunks) for ok in part]
        else:
            checked = _verify_chunk(batch)
        for i, ok in zip(todo, checked, strict=False):
            results[i] = ok
            if ok:
                self.remember(keys[i])
        return results

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
