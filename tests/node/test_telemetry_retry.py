"""Telemetry against servers that misbehave (issue 53: it reconnected every 2 s, warning each time, to a server that
accepts then drops, and waited in silence on one that never answers the handshake): the pause between attempts
doubles from 2 s to 60 s and starts again only after a connection that lived a minute; one warning per outage, then
a summary line every 10 minutes; a handshake with no answer times out with a warning that says so. The servers are
real asyncio servers in this process; the client's clock, pauses and handshake timer are fakes, so no test waits for
real time to pass."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web

from btt_chain.node import telemetry
from btt_chain.node.telemetry import Telemetry, TelemetryEndpoint
from btt_chain.node.telemetry_retry import FIRST_RETRY_S, LIVED_S, MAX_RETRY_S, SUMMARY_EVERY_S, Outage
from tests.node.test_telemetry import fake_node

LIMIT_S = 30.0
"""A bound on waiting for what the client does next (real seconds): only a broken client reaches it."""


class FakeTime:
    """The client's clock and pauses: a pause is recorded and moves the clock at once; after `limit` pauses the next
    one never ends and is not recorded (the test then reads what happened, with nothing more going on)."""

    def __init__(self, limit: int) -> None:
        self.now = 1_000.0
        self.pauses: list[float] = []
        self.limit = limit
        self.stopped = False
        """The client is in the pause that never ends."""

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        if len(self.pauses) >= self.limit:
            self.stopped = True
            await asyncio.Event().wait()
        self.pauses.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


async def until(predicate: Callable[[], bool], what: str) -> None:
    deadline = asyncio.get_running_loop().time() + LIMIT_S
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.002)


class Dropping:
    """A WebSocket server that accepts and at once closes, `drop` times; then holds the next connection until
    `release` is set."""

    def __init__(self, drop: int) -> None:
        self.drop = drop
        self.connections = 0
        self.held = False
        self.release = asyncio.Event()

    async def handler(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.connections += 1
        if self.connections > self.drop:
            self.held = True
            await self.release.wait()
            self.held = False
        await ws.close()
        return ws


async def serve_app(handler: Callable[[web.Request], Awaitable[web.WebSocketResponse]]) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_get("/submit/", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"ws://127.0.0.1:{runner.addresses[0][1]}/submit/"


def lines(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "btt.telemetry" and r.levelno == level]


def start(url: str, fake: FakeTime, handshake_wait: Callable[[], Awaitable[None]] | None = None) -> asyncio.Task[None]:
    client = Telemetry(fake_node(), (TelemetryEndpoint.parse(f"{url} 0"),),  # type: ignore[arg-type]
                       clock=fake.clock, sleep=fake.sleep, handshake_wait=handshake_wait)
    return asyncio.create_task(client.run())


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def test_the_pause_doubles_to_its_cap_and_one_warning_per_outage_then_a_summary_every_ten_minutes() -> None:
    outage = Outage("ws://t/")
    now, pauses, warnings = 0.0, [], []
    for _ in range(16):
        retry = outage.failed(now, "refused")
        pauses.append(retry.pause_s)
        warnings += [(now, retry.warning)] if retry.warning else []
        now += retry.pause_s
    assert pauses == [2, 4, 8, 16, 32, 60] + [60] * 10
    assert [at for at, _ in warnings] == [0, 602]  # the first failure, then 10 minutes into the outage
    assert "retrying in 2 s, then less and less often (up to every 60 s)" in warnings[0][1]
    assert "still failing: 15 attempts in 602 s (the last: refused); retrying every 60 s" in warnings[1][1]
    # a connection that lived a minute ends the outage, said once; the next failure is a new outage
    assert outage.lived(now) == "telemetry: ws://t/: connected again after 16 failed attempts in 722 s"
    assert outage.lived(now) is None
    again = outage.failed(now + LIVED_S, "closed")
    assert again.pause_s == FIRST_RETRY_S and again.warning is not None and "closed" in again.warning
    assert (FIRST_RETRY_S, MAX_RETRY_S, LIVED_S, SUMMARY_EVERY_S) == (2.0, 60.0, 60.0, 600.0)


async def test_a_server_that_accepts_then_drops_is_retried_ever_less_often_and_warned_about_twice(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, "btt.telemetry")
    server = Dropping(drop=10**6)
    runner, url = await serve_app(server.handler)
    fake = FakeTime(limit=16)
    task = start(url, fake)
    try:
        await until(lambda: fake.stopped, "17 failed attempts")
    finally:
        await stop(task)
        await runner.cleanup()
    assert fake.pauses == [2, 4, 8, 16, 32, 60] + [60] * 10  # not 2 s each time
    assert server.connections == 17  # the 17th failure's pause is the one that never ends
    warnings = lines(caplog, logging.WARNING)
    assert len(warnings) == 2, warnings  # not one per attempt
    assert "the server accepted the connection, then closed it after 0.0 s" in warnings[0]
    assert "still failing: 15 attempts in 602 s" in warnings[1]
    assert lines(caplog, logging.INFO) == [f"telemetry: connected to {url}"]  # the first connection only


async def test_a_connection_that_lived_a_minute_starts_the_pauses_again(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(telemetry, "TICK_S", 0.005)
    caplog.set_level(logging.DEBUG, "btt.telemetry")
    server = Dropping(drop=3)
    runner, url = await serve_app(server.handler)
    fake = FakeTime(limit=4)
    task = start(url, fake)
    try:
        await until(lambda: server.held, "the fourth connection")
        await until(lambda: sum("connected to" in r.getMessage() for r in caplog.records) == 4,
                    "the client to hold the fourth connection")  # its clock read: the minute starts here
        assert fake.pauses == [2, 4, 8]
        fake.now += LIVED_S
        await until(lambda: any("connected again" in m for m in lines(caplog, logging.INFO)), "the outage's end")
        server.release.set()
        await until(lambda: len(fake.pauses) == 4, "the pause after the long connection")
        await until(lambda: fake.stopped, "the attempt after it")
    finally:
        await stop(task)
        await runner.cleanup()
    assert fake.pauses == [2, 4, 8, 2]
    assert f"telemetry: {url}: connected again after 3 failed attempts in 14 s" in lines(caplog, logging.INFO)
    warnings = lines(caplog, logging.WARNING)
    assert len(warnings) == 2 and "then closed it after 0.0 s" in warnings[0]
    assert "the server closed the connection; retrying in 2 s" in warnings[1]  # a new outage, not "accepted, then"


class Silent:
    """A TCP server that reads a client's WebSocket handshake and never answers it."""

    def __init__(self) -> None:
        self.requests = 0
        self.open = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.open += 1
        try:
            await reader.readuntil(b"\r\n\r\n")
            self.requests += 1
            await reader.read()  # until the client gives up and closes
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.open -= 1
            writer.close()


async def test_a_handshake_with_no_answer_times_out_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, "btt.telemetry")
    silent = Silent()
    server = await asyncio.start_server(silent.handle, "127.0.0.1", 0)
    url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/submit/"
    fake = FakeTime(limit=3)
    asked: list[int] = []

    async def handshake_wait() -> None:  # the timeout's time passes once the server holds the request, unanswered
        seen = silent.requests
        await until(lambda: silent.requests > seen, "the handshake request")
        asked.append(silent.requests)

    task = start(url, fake, handshake_wait)
    try:
        await until(lambda: fake.stopped, "four timed-out handshakes")
        await until(lambda: silent.open == 0, "the client closing what it gave up on")
    finally:
        await stop(task)
        server.close()
        await server.wait_closed()
    assert asked == [1, 2, 3, 4] and fake.pauses == [2, 4, 8]  # the 4th failure's pause never ends
    warnings = lines(caplog, logging.WARNING)
    assert warnings == [f"telemetry: {url}: no answer to the WebSocket handshake within 10 s; retrying in 2 s, then "
                        "less and less often (up to every 60 s), said again every 10 min while it fails"]
    assert not lines(caplog, logging.INFO)  # never said to be connected
