"""Request/response (trio side): one stream per request, one varint-prefixed frame each way (see wire.py).

Limits: inbound requests over `max_request_bytes` are refused and their sender penalised; responses over
`max_response_bytes` are refused on both ends; at most `max_inbound_requests_per_peer` requests per peer are
served at once (more are answered `busy`); an inbound handler gets `request_handler_timeout` seconds.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import trio
from libp2p.abc import IHost, INetStream
from libp2p.custom_types import TProtocol
from libp2p.host.exceptions import StreamFailure
from libp2p.io.exceptions import MessageTooLarge
from libp2p.peer.id import ID
from libp2p.protocol_muxer.exceptions import MultiselectClientError
from libp2p.utils import encode_varint_prefixed
from libp2p.utils.varint import read_varint_prefixed_bytes_limited

from p2p import wire
from p2p.bridge import TrioThread, invoke
from p2p.config import P2PConfig, wire_protocol
from p2p.errors import P2PError
from p2p.handlers import Handlers
from p2p.peerbook import PENALTY_OVERSIZE_REQUEST, PeerBook

log = logging.getLogger("btt.p2p")

REQUEST_READ_TIMEOUT = 10.0


async def reset_quietly(stream: INetStream) -> None:
    with trio.move_on_after(1) as scope:
        scope.shield = True
        try:
            await stream.reset()
        except Exception:  # noqa: BLE001 - the stream is being abandoned anyway
            pass


async def close_quietly(stream: INetStream) -> None:
    with trio.move_on_after(1) as scope:
        scope.shield = True
        try:
            await stream.close()
        except Exception:  # noqa: BLE001
            pass


async def exchange(host: IHost, peer: ID, protocol: str, payload: bytes, max_response: int) -> bytes:
    """Open a stream, send one frame, read one response frame and return its OK payload (P2PError otherwise)."""
    try:
        stream = await host.new_stream(peer, [TProtocol(protocol)])
    except StreamFailure as exc:
        if isinstance(exc.__cause__, MultiselectClientError):
            raise P2PError(f"peer {peer} does not speak {protocol}") from None
        raise
    try:
        await stream.write(encode_varint_prefixed(payload))
        frame = await read_varint_prefixed_bytes_limited(stream, max_response + 1)
    except BaseException:
        await reset_quietly(stream)
        raise
    await close_quietly(stream)
    return wire.decode_response(frame)


async def read_request(stream: INetStream, limit: int) -> bytes:
    with trio.fail_after(REQUEST_READ_TIMEOUT):
        return await read_varint_prefixed_bytes_limited(stream, limit)


async def respond(stream: INetStream, frame: bytes) -> None:
    await stream.write(encode_varint_prefixed(frame))
    await close_quietly(stream)


class ReqResp:
    """Serves the registered protocols and makes outbound requests."""

    def __init__(
        self,
        config: P2PConfig,
        host: IHost,
        book: PeerBook,
        handlers: Handlers,
        bridge: TrioThread,
        penalise: Callable[[str, int, str], None],
    ) -> None:
        self.config = config
        self.host = host
        self.book = book
        self.handlers = handlers
        self.bridge = bridge
        self.penalise = penalise
        self._serving: dict[str, int] = {}
        self._registered: set[str] = set()

    def register(self, name: str) -> None:
        protocol = wire_protocol(self.config, name)
        if protocol in self._registered:
            return
        self._registered.add(protocol)
        self.host.set_stream_handler(TProtocol(protocol), self._server(name))

    async def request(self, peer_id: str, name: str, data: bytes, timeout: float) -> bytes:
        if not self.book.is_connected(peer_id):
            raise P2PError(f"peer {peer_id} is not connected")
        protocol = wire_protocol(self.config, name)
        try:
            with trio.fail_after(timeout):
                limit = self.config.max_response_bytes
                return await exchange(self.host, ID.from_base58(peer_id), protocol, data, limit)
        except P2PError:
            raise
        except trio.TooSlowError:
            raise P2PError(f"{name} request to {peer_id} timed out after {timeout:g} s") from None
        except MessageTooLarge:
            raise P2PError(
                f"{name} response from {peer_id} is larger than {self.config.max_response_bytes} bytes"
            ) from None
        except Exception as exc:  # noqa: BLE001 - stream, connection and muxer errors all mean "peer gone"
            raise P2PError(f"{name} request to {peer_id} failed: {exc!r}") from None

    def _server(self, name: str) -> Callable[[INetStream], Awaitable[None]]:
        async def serve(stream: INetStream) -> None:
            peer_id = stream.muxed_conn.peer_id.to_base58()
            if self.book.is_banned(peer_id):
                await reset_quietly(stream)
                return
            if self._serving.get(peer_id, 0) >= self.config.max_inbound_requests_per_peer:
                await self._try_respond(stream, wire.encode_failure(wire.RESPONSE_BUSY, "too many requests"))
                return
            self._serving[peer_id] = self._serving.get(peer_id, 0) + 1
            try:
                await self._serve_one(name, peer_id, stream)
            finally:
                self._serving[peer_id] -= 1
                if not self._serving[peer_id]:
                    del self._serving[peer_id]

        return serve

    async def _serve_one(self, name: str, peer_id: str, stream: INetStream) -> None:
        limit = self.config.max_request_bytes
        try:
            request = await read_request(stream, limit)
        except MessageTooLarge:
            self.penalise(peer_id, PENALTY_OVERSIZE_REQUEST, f"{name} request over {limit} bytes")
            await self._try_respond(stream, wire.encode_failure(wire.RESPONSE_TOO_LARGE, f"limit is {limit} bytes"))
            return
        except Exception as exc:  # noqa: BLE001 - includes trio.TooSlowError
            log.debug("reading %s request from %s failed: %r", name, peer_id, exc)
            await reset_quietly(stream)
            return
        frame = await self._answer(name, peer_id, request)
        await self._try_respond(stream, frame)

    async def _answer(self, name: str, peer_id: str, request: bytes) -> bytes:
        handler = self.handlers.protocols.get(name)
        if handler is None:
            return wire.encode_failure(wire.RESPONSE_ERROR, "no handler")
        timeout = self.config.request_handler_timeout
        try:
            response = await self.bridge.run_in_asyncio(invoke(handler, peer_id, request), timeout)
        except trio.TooSlowError:
            log.warning("%s handler did not answer %s within %g s", name, peer_id, timeout)
            return wire.encode_failure(wire.RESPONSE_ERROR, "handler timed out")
        except Exception as exc:  # noqa: BLE001 - the requester gets the reason, we keep running
            log.debug("%s handler failed for %s: %r", name, peer_id, exc)
            return wire.encode_failure(wire.RESPONSE_ERROR, str(exc) or type(exc).__name__)
        if not isinstance(response, bytes | bytearray | memoryview):
            log.error("%s handler returned %s, not bytes", name, type(response).__name__)
            return wire.encode_failure(wire.RESPONSE_ERROR, "handler returned no bytes")
        if len(response) > self.config.max_response_bytes:
            log.error("%s handler returned %d bytes, over max_response_bytes", name, len(response))
            return wire.encode_failure(wire.RESPONSE_ERROR, "response too large")
        return wire.encode_response(wire.RESPONSE_OK, bytes(response))

    async def _try_respond(self, stream: INetStream, frame: bytes) -> None:
        try:
            await respond(stream, frame)
        except Exception as exc:  # noqa: BLE001 - the requester went away
            log.debug("could not send response: %r", exc)
            await reset_quietly(stream)
