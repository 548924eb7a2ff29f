"""A P2PService in its own OS process, driven over stdin/stdout with JSON lines (used by test_p2p_processes).

Events out: ready {peer_id, addrs}, connected {peer}, disconnected {peer}, gossip {from, data},
response {id, data | error}, mesh {id, peers}, peers {id, peers}.
Commands in: publish {topic, data}, request {id, peer, protocol, data}, mesh {id, topic}, peers {id}, stop.
It subscribes to "blocks" and serves "sync/echo" (returns the request) and "sync/sized" (returns int(request)
bytes). `data` fields are hex.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import threading
from pathlib import Path
from typing import Any

from p2p import P2PConfig, P2PError, P2PService


def emit(event: str, **fields: Any) -> None:
    sys.stdout.write(json.dumps({"event": event, **fields}) + "\n")
    sys.stdout.flush()


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--key", type=Path, required=True)
    parser.add_argument("--genesis", required=True)
    parser.add_argument("--bootnode", action="append", default=[])
    parser.add_argument("--listen-host", default="127.0.0.1")
    parser.add_argument("--tcp-rto-max-ms", type=int, default=P2PConfig.tcp_rto_max_ms,
                        help="the cap on each connection's retransmission backoff; 0 leaves the kernel's")
    parser.add_argument("--subscribe-after-start", action="store_true",
                        help="subscribe only once started (as the node does), not before")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(threadName)s %(name)s %(levelname)s %(message)s")

    service = P2PService(P2PConfig(args.port, args.key, bytes.fromhex(args.genesis), tuple(args.bootnode),
                                   listen_host=args.listen_host, tcp_rto_max_ms=args.tcp_rto_max_ms or None))

    def on_gossip(peer_id: str, data: bytes) -> bool:
        emit("gossip", **{"from": peer_id, "data": data.hex()})
        return True

    async def echo(peer_id: str, data: bytes) -> bytes:
        return data

    async def sized(peer_id: str, data: bytes) -> bytes:
        return bytes(range(256)) * (int(data) // 256) + bytes(int(data) % 256)

    if not args.subscribe_after_start:
        service.subscribe("blocks", on_gossip)
    service.set_request_handler("sync/echo", echo)
    service.set_request_handler("sync/sized", sized)
    service.on_peer_connected(lambda peer: emit("connected", peer=peer))
    service.on_peer_disconnected(lambda peer: emit("disconnected", peer=peer))
    await service.start()
    if args.subscribe_after_start:
        service.subscribe("blocks", on_gossip)
    emit("ready", peer_id=service.local_peer_id, addrs=service.listen_addrs)

    loop = asyncio.get_running_loop()
    commands: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()

    def read_stdin() -> None:
        for line in sys.stdin:
            if line.strip():
                loop.call_soon_threadsafe(commands.put_nowait, json.loads(line))
        loop.call_soon_threadsafe(commands.put_nowait, None)

    threading.Thread(target=read_stdin, daemon=True).start()
    tasks: set[asyncio.Task[None]] = set()

    async def run(command: dict[str, Any]) -> None:
        name = command["cmd"]
        if name == "publish":
            await service.publish(command["topic"], bytes.fromhex(command["data"]))
        elif name == "request":
            try:
                data = await service.request(command["peer"], command["protocol"], bytes.fromhex(command["data"]))
                emit("response", id=command["id"], data=data.hex())
            except P2PError as exc:
                emit("response", id=command["id"], error=str(exc))
        elif name == "mesh":
            emit("mesh", id=command["id"], peers=await service.gossip_peers(command["topic"]))
        elif name == "peers":
            emit("peers", id=command["id"], peers=[p.peer_id for p in service.peers()])

    while (command := await commands.get()) is not None and command["cmd"] != "stop":
        task = asyncio.ensure_future(run(command))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    for task in list(tasks):
        task.cancel()
    await service.stop()
    emit("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
