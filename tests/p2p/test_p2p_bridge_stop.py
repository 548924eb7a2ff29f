"""Stopping the p2p layer with calls in flight (p2p/bridge.py): every future the bridge fails is awaited by
somebody, so asyncio never logs "Future exception was never retrieved" around a stop or restart."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import trio

from p2p import P2PError
from p2p.bridge import TrioThread
from tests.p2p.harness import Net, bootnode, limit, peer_ids, wait_until

NEVER_RETRIEVED = "never retrieved"


@pytest.fixture
async def loop_errors(caplog: pytest.LogCaptureFixture) -> AsyncIterator[list[str]]:
    """What the running loop's exception handler and the asyncio logger report while the test runs."""
    seen: list[str] = []
    loop = asyncio.get_running_loop()
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _, ctx: seen.append(f"{ctx.get('message')}: {ctx.get('exception')!r}"))
    with caplog.at_level(logging.ERROR, "asyncio"):
        yield seen
    loop.set_exception_handler(previous)
    seen.extend(record.getMessage() for record in caplog.records if record.name == "asyncio")


async def collected() -> None:
    """Let late callbacks from the trio thread run, then collect, so an unretrieved future reports now."""
    for _ in range(3):
        await asyncio.sleep(0.05)
        gc.collect()
    await asyncio.sleep(0)


async def test_stopping_the_trio_side_with_calls_in_flight_leaves_no_unretrieved_future(
    loop_errors: list[str],
) -> None:
    loop = asyncio.get_running_loop()
    thread = TrioThread(loop, "p2p-bridge-test")
    accepting = asyncio.Event()
    stop: list[trio.Event] = []

    async def trio_main() -> None:
        stop.append(trio.Event())
        async with trio.open_nursery() as nursery:
            thread.nursery = nursery
            thread.call_soon_in_asyncio(accepting.set)
            await stop[0].wait()
            thread.nursery = None
            nursery.cancel_scope.cancel()

    async def forever() -> None:
        await trio.sleep_forever()

    thread.start(trio_main)
    await accepting.wait()
    # the ways a caller stops awaiting a call: its task cancelled (a service stopping), its own timeout
    # (P2PService.request's wait_for), or it still awaits when the trio run ends
    cancelled = [asyncio.create_task(thread.run_in_trio(forever)) for _ in range(4)]
    timed_out = [asyncio.create_task(asyncio.wait_for(thread.run_in_trio(forever), 0.05)) for _ in range(4)]
    awaiting = [asyncio.create_task(thread.run_in_trio(forever)) for _ in range(4)]
    await asyncio.wait(timed_out)  # their own timeouts have fired (however late a busy machine runs them)
    for task in cancelled:
        task.cancel()
    thread.call_soon_in_trio(stop[0].set)  # in the same loop turn: trio answers while the callers unwind
    results = await asyncio.gather(*cancelled, *timed_out, *awaiting, return_exceptions=True)
    await thread.finished
    assert thread.join(limit(30))

    assert all(isinstance(r, asyncio.CancelledError) for r in results[:4])
    assert all(isinstance(r, TimeoutError) for r in results[4:8])
    assert all(isinstance(r, P2PError) and "stopped during the call" in str(r) for r in results[8:])
    del cancelled, timed_out, awaiting, results
    await collected()
    assert not [e for e in loop_errors if NEVER_RETRIEVED in e], loop_errors


class CancelsAsAnswered(TrioThread):
    """Cancels the caller in the same loop turn as its answer lands, before its await wakes up."""

    callers: list[asyncio.Task[Any]] = []

    def call_soon_in_asyncio(self, fn: Callable[..., object], *args: Any) -> None:
        def then_cancel() -> None:
            fn(*args)
            for task in self.callers:
                task.cancel()

        super().call_soon_in_asyncio(then_cancel)


async def test_an_error_answer_that_races_its_callers_cancellation_is_not_left_unretrieved(
    loop_errors: list[str],
) -> None:
    loop = asyncio.get_running_loop()
    thread = CancelsAsAnswered(loop, "p2p-bridge-race")
    accepting = asyncio.Event()
    stop = trio.Event()

    async def trio_main() -> None:
        async with trio.open_nursery() as nursery:
            thread.nursery = nursery
            thread.call_soon_in_asyncio(accepting.set)
            await stop.wait()
            thread.nursery = None

    async def refused() -> None:
        raise P2PError("refused")

    thread.start(trio_main)
    await accepting.wait()
    for _ in range(3):
        thread.callers = [asyncio.create_task(thread.run_in_trio(refused))]
        with pytest.raises(asyncio.CancelledError):
            await thread.callers[0]
    thread.callers = []
    thread.call_soon_in_trio(stop.set)
    await thread.finished
    await collected()
    assert not [e for e in loop_errors if NEVER_RETRIEVED in e], loop_errors


async def test_stopping_a_service_with_requests_and_publishes_in_flight_logs_no_unretrieved_future(
    net: Net, loop_errors: list[str]
) -> None:
    server = net.service("server")
    client = net.service("client", (bootnode(server),))
    arrived = asyncio.Event()

    async def hang(peer_id: str, data: bytes) -> bytes:
        arrived.set()
        await asyncio.Event().wait()
        return b""

    server.set_request_handler("sync/hang", hang)
    await asyncio.gather(server.start(), client.start())
    await wait_until(lambda: server.local_peer_id in peer_ids(client), what="connected")

    async def call(timeout: float) -> Any:
        return await client.request(server.local_peer_id, "sync/hang", b"", timeout=timeout)

    cancelled = [asyncio.create_task(call(30.0)) for _ in range(3)]  # like NetworkBridge.stop's tasks
    timed_out = [asyncio.create_task(call(0.2)) for _ in range(2)]
    awaiting = [asyncio.create_task(call(30.0)) for _ in range(3)]
    publishing = [asyncio.create_task(client.publish("blocks", b"x" * 100)) for _ in range(3)]
    await asyncio.wait_for(arrived.wait(), limit(30))
    await asyncio.sleep(0.3)
    for task in cancelled:
        task.cancel()
    await client.stop()
    results = await asyncio.gather(*cancelled, *timed_out, *awaiting, *publishing, return_exceptions=True)
    # a cancelled request may still see the answer that raced its cancellation (asyncio.wait_for returns it)
    assert all(isinstance(r, asyncio.CancelledError | P2PError) for r in results[:3]), results[:3]
    assert all(isinstance(r, P2PError) for r in results[3:8]), results[3:8]
    await server.stop()
    del cancelled, timed_out, awaiting, publishing, results
    await collected()
    assert not [e for e in loop_errors if NEVER_RETRIEVED in e], loop_errors
