"""The bridge between the node's asyncio loop and the dedicated trio thread that runs libp2p.

asyncio -> trio: `TrioToken.run_sync_soon` starts the call as a task in the trio side's bridge nursery; the
result comes back through `loop.call_soon_threadsafe` into an asyncio future. Cancelling the asyncio await
cancels the trio task.
trio -> asyncio: `asyncio.run_coroutine_threadsafe`; completion wakes the trio task via `run_sync_soon`.
A timeout or a cancellation on the trio side cancels the asyncio task.

No call outlives the trio run: when the nursery closes, pending asyncio awaits fail with P2PError. A call whose
asyncio await was cancelled (by its caller, a timeout or a stop) has its future cancelled with it, so whatever
the trio side answers later is dropped: every future the bridge fails has somebody awaiting it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import logging
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import trio

from p2p.errors import P2PError

log = logging.getLogger("btt.p2p")

T = TypeVar("T")


async def invoke(fn: Callable[..., Any], *args: Any) -> Any:
    """Call a sync-or-async callable on the asyncio loop and return its result."""
    result = fn(*args)
    if inspect.isawaitable(result):
        result = await result
    return result


def root_cause(exc: BaseException) -> BaseException:
    """The one exception inside nested single-member exception groups (trio wraps a crash once per nursery)."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


def _guarded(fn: Callable[..., object], *args: Any) -> None:
    # An exception escaping a run_sync_soon callback would abort the whole trio run.
    try:
        fn(*args)
    except Exception:
        log.exception("p2p thread: call from asyncio failed")


class TrioThread:
    """One trio event loop in its own thread, and the two directions of calls into and out of it."""

    def __init__(self, loop: asyncio.AbstractEventLoop, name: str) -> None:
        self.loop = loop
        self.name = name
        self.token: trio.lowlevel.TrioToken | None = None
        self.nursery: trio.Nursery | None = None
        """Set by the trio side while it accepts calls (host and pubsub running)."""
        self.failure: BaseException | None = None
        self._thread: threading.Thread | None = None
        self.finished: asyncio.Future[None] = loop.create_future()

    # lifecycle
    def start(self, main: Callable[[], Awaitable[None]]) -> None:
        """Run `main` with trio.run in a new daemon thread."""
        self._thread = threading.Thread(target=self._thread_main, args=(main,), name=self.name, daemon=True)
        self._thread.start()

    def _thread_main(self, main: Callable[[], Awaitable[None]]) -> None:
        try:
            trio.run(self._root, main)
        except BaseException as exc:  # noqa: BLE001 - a crash must be recorded, whatever it is
            failure = root_cause(exc)
            log.error("p2p thread %s crashed: %r", self.name, failure, exc_info=exc)
            self.failure = failure
        finally:
            self.token = None
            self.call_soon_in_asyncio(self._set_finished)

    def _set_finished(self) -> None:
        if not self.finished.done():
            self.finished.set_result(None)

    async def _root(self, main: Callable[[], Awaitable[None]]) -> None:
        self.token = trio.lowlevel.current_trio_token()
        await main()

    def join(self, timeout: float) -> bool:
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and self.token is not None

    def check(self) -> None:
        """Raise P2PError if calls cannot be made now."""
        if self.failure is not None:
            raise P2PError(f"p2p layer failed: {self.failure!r}")
        if self.nursery is None or self.token is None:
            raise P2PError("p2p layer is not running")

    # asyncio -> trio
    def call_soon_in_trio(self, fn: Callable[..., object], *args: Any) -> None:
        """Run a plain function on the trio thread soon (from any thread)."""
        token = self.token
        if token is None:
            raise P2PError("p2p layer is not running")
        try:
            token.run_sync_soon(_guarded, fn, *args)
        except trio.RunFinishedError:
            raise P2PError("p2p layer has stopped") from None

    async def run_in_trio(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Await `fn(*args)` on the trio thread, from the asyncio loop."""
        self.check()
        future: asyncio.Future[T] = self.loop.create_future()
        control: dict[str, Any] = {"cancelled": False, "scope": None}

        def spawn() -> None:
            try:
                if self.nursery is None:
                    raise RuntimeError("no nursery")
                self.nursery.start_soon(self._trio_call, future, control, fn, args)
            except RuntimeError:  # none, or closed to new arrivals: the trio side is shutting down
                self._resolve(future, error=P2PError("p2p layer is not running"))

        self.call_soon_in_trio(spawn)
        try:
            waiting: set[asyncio.Future[Any]] = {future, self.finished}
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            if not future.done():  # the trio run ended without running or finishing our call
                future.cancel()
                raise P2PError("p2p layer stopped during the call")
            return future.result()
        except asyncio.CancelledError:
            control["cancelled"] = True
            scope = control["scope"]
            if scope is not None:
                try:
                    self.call_soon_in_trio(scope.cancel)
                except P2PError:
                    pass
            raise
        finally:
            # Nobody reads the future after this. An answer still to come from the trio side (the call's own
            # error, or "stopped during the call" as the trio run ends) must find it done and be dropped; one
            # that came just as our caller was cancelled is marked read. Otherwise asyncio logs "Future exception
            # was never retrieved" when the future is collected.
            if not future.done():
                future.cancel()
            elif not future.cancelled():
                future.exception()

    async def _trio_call(
        self, future: asyncio.Future[T], control: dict[str, Any], fn: Callable[..., Awaitable[T]], args: tuple[Any, ...]
    ) -> None:
        if control["cancelled"]:
            return
        with trio.CancelScope() as scope:
            control["scope"] = scope
            try:
                result = await fn(*args)
            except trio.Cancelled:
                self._resolve(future, error=P2PError("p2p layer stopped during the call"))
                raise
            except Exception as exc:  # noqa: BLE001 - handed to the awaiting asyncio caller
                self._resolve(future, error=exc)
                return
            self._resolve(future, result=result)
        if scope.cancelled_caught:
            self._resolve(future, error=P2PError("call cancelled"))

    def _resolve(self, future: asyncio.Future[T], result: Any = None, error: BaseException | None = None) -> None:
        def settle() -> None:
            if future.done():
                return
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)

        self.call_soon_in_asyncio(settle)

    # trio -> asyncio
    def call_soon_in_asyncio(self, fn: Callable[..., object], *args: Any) -> None:
        """Run a plain function on the asyncio loop soon (from any thread); dropped if the loop is closed."""
        try:
            self.loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:
            log.debug("asyncio loop closed; dropped a call from the p2p thread")

    async def run_in_asyncio(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        """Await `coro` on the asyncio loop from the trio thread; trio.TooSlowError after `timeout` seconds."""
        try:
            cf: concurrent.futures.Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        except RuntimeError:
            coro.close()
            raise P2PError("asyncio loop is closed") from None
        done = trio.Event()
        token = trio.lowlevel.current_trio_token()

        def wake(_: object) -> None:
            try:
                token.run_sync_soon(done.set)
            except trio.RunFinishedError:
                pass

        cf.add_done_callback(wake)
        try:
            with trio.fail_after(timeout):
                await done.wait()
        except BaseException:
            cf.cancel()
            raise
        try:
            return cf.result()
        except concurrent.futures.CancelledError:
            raise P2PError("handler was cancelled") from None
