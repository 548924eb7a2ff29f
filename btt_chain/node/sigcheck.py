"""Signature checks: once per extrinsic (cached by hash), big batches beside the caller. A check is (account,
message, MultiSignature), verified by `btt_chain.primitives.signatures.verify_multi`.

With workers, a big batch's ed25519 checks go to verify threads (`btt_chain.node.sigbatch`: the chain's rule in a
compiled loop that releases the GIL, the caller taking what is left when it asks for the result) and the other
schemes' to worker processes (their libraries hold the GIL). Where the compiled batch is not built, every scheme goes
to the worker processes, and a block's stateless checks too (`start_precheck`).

Worker processes are started before the node loads state, so forking does not copy a large heap.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
from collections import OrderedDict
from collections.abc import Sequence
from itertools import islice

from btt_chain.node import sigbatch
from btt_chain.node.precheck import NO_SIGNATURE, PrecheckResult, join_parts, precheck_part
from btt_chain.primitives.signatures import ED25519, verify_multi

PARALLEL_THRESHOLD = 256
"""Below this many signatures the round trip to workers costs more than it saves."""


def _verify_chunk(items: Sequence[tuple[bytes, bytes, bytes]]) -> list[bool]:
    return [verify_multi(account, msg, sig) for account, msg, sig in items]


class SignatureChecker:
    """Verifies (public key, message, signature) triples, remembering the ones already found valid."""

    def __init__(self, workers: int = 0, cache_size: int = 200_000, threads: bool | None = None) -> None:
        """`workers`: verify threads for ed25519 and worker processes for the other schemes (0: every check in the
        caller's thread). `threads`: False keeps every scheme in the worker processes (None: threads when the
        compiled batch is built)."""
        self._cache: OrderedDict[bytes, None] = OrderedDict()
        self._cache_size = cache_size
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._workers = workers
        use_threads = sigbatch.AVAILABLE if threads is None else threads
        self._threads: sigbatch.ThreadVerifier | None = (
            sigbatch.ThreadVerifier(workers if workers > 0 else 0) if use_threads else None
        )
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

    def remember_many(self, keys: Sequence[bytes]) -> None:
        """`remember` each of `keys` in their order (a block's valid signatures: ~5,000 at once)."""
        cache = self._cache
        move_to_end = cache.move_to_end
        for key in keys:  # each to the end, as `remember` puts it; the oldest dropped once, after
            if key in cache:
                move_to_end(key)
            elif key != NO_SIGNATURE:
                cache[key] = None
        excess = len(cache) - self._cache_size
        if excess > 0:
            for key in list(islice(cache, excess)):
                del cache[key]

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
        cache = self._cache
        results = [k in cache or k == NO_SIGNATURE for k in keys]
        todo = [i for i, ok in enumerate(results) if not ok]
        batch = [items[i] for i in todo]
        if self._threads is not None and batch:
            return self._start_threads(keys, results, todo, batch)
        if self._pool is not None and len(batch) >= PARALLEL_THRESHOLD:
            n = self._workers
            size = (len(batch) + n - 1) // n
            futures = [self._pool.submit(_verify_chunk, batch[i : i + size]) for i in range(0, len(batch), size)]
            return PendingChecks(self, keys, results, todo, futures=futures)
        return PendingChecks(self, keys, results, todo, checked=_verify_chunk(batch))

    def _start_threads(
        self, keys: Sequence[bytes], results: list[bool], todo: list[int], batch: list[tuple[bytes, bytes, bytes]]
    ) -> PendingChecks:
        """ed25519 items to the verify threads (the caller joins in at `result()`; without workers it checks them
        all now); the other schemes' to the worker processes when there are enough of them, else checked here."""
        assert self._threads is not None
        ed_at: list[int] = []
        ed_items: list[tuple[bytes, bytes, bytes]] = []
        other_at: list[int] = []
        other: list[tuple[bytes, bytes, bytes]] = []
        for at, item in enumerate(batch):
            sig = item[2]
            if len(sig) == 65 and sig[0] == ED25519:
                ed_at.append(at)
                ed_items.append((item[0], item[1], sig[1:]))
            else:
                other_at.append(at)
                other.append(item)
        # a small batch is checked here and now (the compiled loop, no thread's round trip)
        beside = self._workers > 0 and len(ed_items) >= PARALLEL_THRESHOLD
        pending = self._threads.start(ed_items, beside) if ed_items else None
        futures = None
        checked_other: list[bool] | None = None
        if other and self._pool is not None and len(other) >= PARALLEL_THRESHOLD:
            n = self._workers
            size = (len(other) + n - 1) // n
            futures = [self._pool.submit(_verify_chunk, other[i : i + size]) for i in range(0, len(other), size)]
        elif other:
            checked_other = _verify_chunk(other)
        split = _Split(len(batch), ed_at, pending, other_at, futures, checked_other)
        if not beside and futures is None:
            return PendingChecks(self, keys, results, todo, checked=split.result())
        return PendingChecks(self, keys, results, todo, split=split)

    @property
    def verifies_beside(self) -> bool:
        """Whether a big batch is checked beside the caller (on verify threads or in worker processes)."""
        return self._workers > 0 and (self._pool is not None or self._threads is not None)

    @property
    def has_workers(self) -> bool:
        """Whether a block's stateless checks go to worker processes (`start_precheck`): with workers, unless the
        verify threads take its signatures (the importer then hashes the block itself, a few ms)."""
        return self._pool is not None and self._threads is None

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
        if self._threads is not None:
            self._threads.close()


class _Split:
    """A batch's checks in two parts: ed25519 on the verify threads, the other schemes in worker processes (or
    checked already); `result()` gives the verdicts in the batch's order."""

    def __init__(
        self, n: int, ed_at: list[int], pending: sigbatch.PendingBatch | None, other_at: list[int],
        futures: list[concurrent.futures.Future[list[bool]]] | None, checked_other: list[bool] | None,
    ) -> None:
        self._n = n
        self._ed_at = ed_at
        self._pending = pending
        self._other_at = other_at
        self._futures = futures
        self._checked_other = checked_other

    def result(self) -> list[bool]:
        out = [False] * self._n
        if self._pending is not None:
            for at, ok in zip(self._ed_at, self._pending.result(), strict=True):
                out[at] = ok
        other = self._checked_other
        if other is None and self._futures is not None:
            other = [ok for f in self._futures for ok in f.result()]
        if other is not None:
            for at, ok in zip(self._other_at, other, strict=True):
                out[at] = ok
        return out


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
        split: _Split | None = None,
    ) -> None:
        self._checker = checker
        self._keys = keys
        self._results = results
        self._todo = todo
        self._futures = futures
        self._checked = checked
        self._split = split
        self._done: list[bool] | None = None

    def result(self) -> list[bool]:
        if self._done is not None:
            return self._done
        checked = self._checked
        if checked is None and self._split is not None:
            checked = self._split.result()
        if checked is None:
            assert self._futures is not None
            checked = [ok for f in self._futures for ok in f.result()]
        results, keys = self._results, self._keys
        valid = []
        for i, ok in zip(self._todo, checked, strict=True):
            results[i] = ok
            if ok:
                valid.append(keys[i])
        self._checker.remember_many(valid)
        self._done = results
        return self._done
