"""ed25519 checks of a block in threads, without the GIL: the compiled batch (`btt_chain/node/_sigbatch.c`) applies the
chain's rule (`btt_chain.primitives.ed25519`: its constants and PyNaCl's own libsodium `crypto_sign_open`, handed over
at import) to a list of items, and any number of threads take items from one shared counter.

Why threads: libsodium's verification is ~40 us of C; a verify thread that held the GIL between items would wait up
to the interpreter's switch interval (5 ms) for it each time while the importing thread executes Python, so the loop
over items is in C and releases the GIL for the whole batch. The importing thread starts the batch on a verify
thread, executes the block, then takes what is left of the batch itself (`PendingBatch.result`), so neither core
idles and no process boundary is crossed (no pickling, no second copy of the block).

sr25519 (schnorrkel's bindings) and ECDSA (coincurve) hold the GIL while they verify (measured: two threads verify no
faster than one), so they stay with the worker processes of `btt_chain.node.sigcheck`.

Where the compiled part is not built, `AVAILABLE` is False and the checker uses its worker processes as before."""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Sequence

from btt_chain.primitives import ed25519

try:
    import nacl._sodium as _sodium

    from btt_chain.node import _sigbatch  # type: ignore[attr-defined]

    _sigbatch.configure(
        int(_sodium.ffi.cast("uintptr_t", _sodium.ffi.addressof(_sodium.lib, "crypto_sign_open"))),
        ed25519.L.to_bytes(32, "little"),
        ed25519.P.to_bytes(32, "little"),
        [y.to_bytes(32, "little") for y in sorted(ed25519.SMALL_ORDER_Y)],
    )
    AVAILABLE = True
except (ImportError, AttributeError):  # not built (no C compiler), or a PyNaCl without its cffi module
    _sigbatch = None
    AVAILABLE = False


class PendingBatch:
    """ed25519 checks under way on verify threads. `result()` takes what is left itself, waits for the items the
    threads are on, and gives one verdict per item."""

    def __init__(self, batch: object, futures: list[concurrent.futures.Future[int]]) -> None:
        self._batch = batch
        self._futures = futures
        self._verdicts: list[bool] | None = None

    def result(self) -> list[bool]:
        if self._verdicts is None:
            self._batch.run()  # type: ignore[attr-defined]
            for future in self._futures:
                future.result()
            self._verdicts = [v == 1 for v in self._batch.verdicts()]  # type: ignore[attr-defined]
        return self._verdicts


class ThreadVerifier:
    """`threads` verify threads (started on first use) that share each batch with the thread that asks for its
    result."""

    def __init__(self, threads: int) -> None:
        if not AVAILABLE:
            raise RuntimeError("the compiled signature batch (btt_chain/node/_sigbatch.c) is not built")
        self._threads = max(0, threads)
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def start(self, items: Sequence[tuple[bytes, bytes, bytes]], beside: bool = True) -> PendingBatch:
        """Begin checking ed25519 items (public key, message, 64-byte signature) under the chain's rule: on the
        verify threads when `beside`, else all of them by the caller when it asks for the result."""
        assert _sigbatch is not None
        batch = _sigbatch.Batch(list(items))
        futures: list[concurrent.futures.Future[int]] = []
        if beside and self._threads and batch.size() > 1:
            with self._lock:
                if self._pool is None:
                    self._pool = concurrent.futures.ThreadPoolExecutor(self._threads, thread_name_prefix="sig-verify")
                futures = [self._pool.submit(batch.run) for _ in range(min(self._threads, batch.size()))]
        return PendingBatch(batch, futures)

    def verify(self, items: Sequence[tuple[bytes, bytes, bytes]]) -> list[bool]:
        return self.start(items).result()

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None
