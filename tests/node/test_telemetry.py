"""Substrate telemetry (`--telemetry-url`, issue 43, item 3): the messages a telemetry server takes (substrate-
telemetry's NodeMessage V2), sent to a WebSocket server here: `system.connected`, then `block.import` and
`notify.finalized` as the node's head and finality move, `system.interval`; a dropped connection is made again
(with `system.connected` first); bad `--telemetry-url` values are one error line."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace
from typing import Any

import pytest
from aiohttp import WSMsgType, web

from btt_chain.node import telemetry
from btt_chain.node.telemetry import Telemetry, TelemetryEndpoint
from btt_chain.primitives.address import encode_address
from btt_chain.primitives.keys import dev_keypair
from tests.support.cli_runner import assert_one_error_line, run


def header(number: int) -> SimpleNamespace:
    return SimpleNamespace(number=number)


def fake_node() -> SimpleNamespace:
    chain = SimpleNamespace(genesis_hash=b"\x01" * 32, head_hash=b"\x02" * 32, head=header(7),
                            finalized_hash=b"\x03" * 32, finalized=header(5))
    return SimpleNamespace(
        chain=chain, spec=SimpleNamespace(name="My network", ss58_prefix=42),
        config=SimpleNamespace(name="v1", validator_key=dev_keypair("alice")), authority=True, started_ms=1234,
        p2p=SimpleNamespace(local_peer_id="12D3KooWtest"), pool=[1, 2], peer_count=lambda: 3,
    )


class Server:
    """A telemetry server: every message of every connection, and a way to drop the current one."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.arrived = asyncio.Event()
        self.current: web.WebSocketResponse | None = None

    async def handler(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.current = ws
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                self.messages.append(json.loads(msg.data))
                self.arrived.set()
        return ws

    async def until(self, predicate: Any, limit: float = 30) -> None:
        async def wait() -> None:
            while not predicate():
                self.arrived.clear()
                await self.arrived.wait()

        await asyncio.wait_for(wait(), limit)

    def payloads(self, msg: str) -> list[dict[str, Any]]:
        return [m["payload"] for m in self.messages if m["payload"]["msg"] == msg]


async def test_messages_as_a_telemetry_server_reads_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(telemetry, "TICK_S", 0.05)
    server = Server()
    app = web.Application()
    app.router.add_get("/submit/", server.handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    node = fake_node()
    endpoint = TelemetryEndpoint.parse(f"ws://127.0.0.1:{port}/submit/ 0")
    pauses: list[float] = []

    async def no_wait(seconds: float) -> None:  # the pause before connecting again (2 s): recorded, not waited
        pauses.append(seconds)

    task = asyncio.create_task(Telemetry(node, (endpoint,), sleep=no_wait).run())  # type: ignore[arg-type]
    try:
        await server.until(lambda: server.payloads("system.interval"))
        first = server.messages[0]
        assert first["id"] == 1 and first["ts"].endswith("+00:00")
        assert first["payload"] == {
            "msg": "system.connected", "chain": "My network", "genesis_hash": "0x" + "01" * 32, "name": "v1",
            "implementation": "btt-chain", "version": telemetry.node_version(),
            "validator": encode_address(dev_keypair("alice").public, 42), "authority": True,
            "network_id": "12D3KooWtest", "startup_time": "1234", "config": "",
            "target_os": first["payload"]["target_os"], "target_arch": first["payload"]["target_arch"],
            "target_env": "",
        }
        assert server.payloads("block.import") == [{"msg": "block.import", "best": "0x" + "02" * 32, "height": 7}]
        assert server.payloads("notify.finalized") == [{"msg": "notify.finalized", "best": "0x" + "03" * 32,
                                                        "height": "5"}]
        assert server.payloads("system.interval")[0] == {
            "msg": "system.interval", "peers": 3, "txcount": 2, "best": "0x" + "02" * 32, "height": 7,
            "finalized_hash": "0x" + "03" * 32, "finalized_height": 5,
        }
        node.chain.head_hash, node.chain.head = b"\x04" * 32, header(8)  # a new head: one block.import
        await server.until(lambda: len(server.payloads("block.import")) == 2)
        assert server.payloads("block.import")[1] == {"msg": "block.import", "best": "0x" + "04" * 32, "height": 8}
        assert server.current is not None
        await server.current.close()  # the server drops the node: it connects again and says who it is first
        await server.until(lambda: len(server.payloads("system.connected")) == 2)
        assert pauses == [2.0]
        again = server.messages.index(next(m for m in server.messages[1:]
                                           if m["payload"]["msg"] == "system.connected"))
        assert server.messages[again + 1]["payload"]["msg"] == "block.import"
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await runner.cleanup()


@pytest.mark.parametrize("value, fragment", [
    ("https://telemetry.example/submit/ 0", "is not a WebSocket URL"),
    ("wss://telemetry.example/submit/ ten", "verbosity 'ten' is not a number from 0 to 9"),
    ("wss://a/ 0 extra", "is not 'URL VERBOSITY'"),
    ("ws:// 0", "is not a WebSocket URL"),
])
def test_a_bad_telemetry_url_is_one_line(capsys: pytest.CaptureFixture[str], value: str, fragment: str) -> None:
    code, _, err = run(capsys, "node", "--dev", "--telemetry-url", value)
    assert_one_error_line(code, err, fragment)


def test_the_verbosity_may_be_left_out() -> None:
    assert TelemetryEndpoint.parse("wss://telemetry.example/submit/") == TelemetryEndpoint(
        "wss://telemetry.example/submit/", 0)
    assert TelemetryEndpoint.parse("ws://127.0.0.1:8001/submit 9").verbosity == 9
