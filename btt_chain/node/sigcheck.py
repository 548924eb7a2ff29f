"""Signature checks: once per extrinsic (cached by hash), big batches in worker processes. A check is (account,
message, MultiSignature), verified by `btt_chain.primitives.signatures.verify_multi`.

Worker processes are started before the node loads state, so forking does not copy a large heap.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
from collections import OrderedDict
from collections.abc import Sequence

from btt_chain.node.precheck import NO_SIGNATURE, PrecheckResult, join_parts, precheck_part
from btt_chain.primitives.signatures import verify_multi

PARALLEL_THRESHOLD = 256
"""Below this many signatures the round trip to workers costs more than it saves."""


def _verify_chunk(items: Sequence[tuple[bytes, bytes, bytes]]) -> list[bool]:
    return [verify_multi(account, msg, sig) for account, msg, sig in items]


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
        if key == NO_SIGNATURE:
            return
        self._cache[key] = None
        self._cache.move_to_end(key)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    def verify_one(self, key: bytes, pub: bytes, msg: bytes, sig: bytes) -> bool:
        if key in self._cache:
            return True
        ok = verify_multi(pub, msg, sig)
        if ok:
            self.remember(key)
        return ok

    def verify_many(self, keys: Sequence[bytes], items: Sequence[tuple[bytes, bytes, bytes]]) -> list[bool]:
        """Check many signatures; cached ones are skipped, large batches are split across the workers."""
        return self.start(keys, items).result()

    def start(self, keys: Sequence[bytes], items: Sequence[tuple[bytes, bytes, bytes]]) -> PendingChecks:
        """Begin checking many signatures: a large batch goes to the workers and runs while the caller goes on
        (block import executes meanwhile); small ones, or all without workers, are checked now. Join with
        `result()`."""
        results = [k in self._cache or k == NO_SIGNATURE for k in keys]
        todo = [i for i, ok in enumerate(results) if not ok]
        batch = [items[i] for i in todo]
        if self._pool is not None and len(batch) >= PARALLEL_THRESHOLD:
            n = self._workers
            size = (len(batch) + n - 1) // n
            futures = [self._pool.submit(_verify_chunk, batch[i : i + size]) for i in range(0, len(batch), size)]
            return PendingChecks(self, keys, results, todo, futures=futures)
        return PendingChecks(self, keys, results, todo, checked=_verify_chunk(batch))

    @property
    def has_workers(self) -> bool:
        return self._pool is not None

    def start_precheck(
        self, encoded: bytes, births: list[bytes], genesis_hash: bytes, spec_version: int
    ) -> PendingPrecheck:
        """Run a block's stateless checks (btt_chain/node/precheck.py) in the workers, a run of its extrinsics each;
        needs workers."""
        assert self._pool is not None
        n = len(births)
        size = max(1, -(-n // self._workers))
        return PendingPrecheck([
            self._pool.submit(precheck_part, encoded, births[i : i + size], genesis_hash, spec_version, i)
            for i in range(0, n, size)
        ])

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


class PendingPrecheck:
    """A block's stateless checks under way in the workers (`SignatureChecker.start_precheck`)."""

    def __init__(self, parts: list[concurrent.futures.Future[tuple[list[bytes], list[bytes], list[bool]]]]) -> None:
        self._parts = parts

    def result(self) -> PrecheckResult:
        return join_parts([part.result() for part in self._parts])


class PendingChecks:
    """Signature checks under way (`SignatureChecker.start`); `result()` waits for them and caches the valid."""

    def __init__(
        self,
        checker: SignatureChecker,
        keys: Sequence[bytes],
        results: list[bool],
        todo: list[int],
        futures: list[concurrent.futures.Future[list[bool]]] | None = None,
        checked: list[bool] | None = None,
    ) -> None:
        self._checker = checker
        self._keys = keys
        self._results = results
        self._todo = todo
        self._futures = futures
        self._checked = checked
        self._done: list[bool] | None = None

    def result(self) -> list[bool]:
        if self._done is not None:
            return self._done
        checked = self._checked
        if checked is None:
            assert self._futures is not None
            checked = [ok for f in self._futures for ok in f.result()]
        for i, ok in zip(self._todo, checked, strict=True):
            self._results[i] = ok
            if ok:
                self._checker.remember(self._keys[i])
        self._done = self._results
        return self._done
