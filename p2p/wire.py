"""Byte layouts on our own streams: the status handshake message and the request/response frames.

Every message is one varint-length-prefixed frame (libp2p's `encode_varint_prefixed`).
- status:   version (1 byte, = 1) | genesis hash (32 bytes) | opaque node status (rest; a node's is its
            `btt_chain.node.sync.PeerStatus` with the spec of its head and the specs it runs, an older node's empty:
            this layer never reads it, so both connect alike)
- request:  the caller's bytes
- response: code (1 byte) | payload; code OK carries the handler's bytes, every other code a UTF-8 reason
"""

from __future__ import annotations

from dataclasses import dataclass

from btt_chain.primitives.hashing import HASH_LEN
from p2p.errors import P2PError

STATUS_VERSION = 1
MAX_STATUS_BYTES = 64 * 1024

RESPONSE_OK = 0
RESPONSE_ERROR = 1
"""The handler raised, timed out or returned something unusable."""
RESPONSE_BUSY = 2
"""Too many concurrent requests from this peer."""
RESPONSE_TOO_LARGE = 3
"""The request was over the server's size limit."""

_CODE_NAMES = {RESPONSE_ERROR: "error", RESPONSE_BUSY: "busy", RESPONSE_TOO_LARGE: "request too large"}
MAX_REASON_BYTES = 200


@dataclass(frozen=True)
class Status:
    genesis_hash: bytes
    status: bytes


def encode_status(genesis_hash: bytes, status: bytes) -> bytes:
    return bytes([STATUS_VERSION]) + genesis_hash + status


def decode_status(data: bytes) -> Status:
    if len(data) < 1 + HASH_LEN or data[0] != STATUS_VERSION:
        raise P2PError("malformed status message")
    return Status(data[1 : 1 + HASH_LEN], data[1 + HASH_LEN :])


def encode_response(code: int, payload: bytes) -> bytes:
    return bytes([code]) + payload


def encode_failure(code: int, reason: str) -> bytes:
    return bytes([code]) + reason.encode("utf-8", "replace")[:MAX_REASON_BYTES]


def decode_response(frame: bytes) -> bytes:
    """The payload of an OK response; P2PError with the peer's reason for any other code."""
    if not frame:
        raise P2PError("empty response")
    code, payload = frame[0], frame[1:]
    if code == RESPONSE_OK:
        return payload
    name = _CODE_NAMES.get(code, f"code {code}")
    reason = payload[:MAX_REASON_BYTES].decode("utf-8", "replace")
    raise P2PError(f"peer refused the request ({name}){': ' + reason if reason else ''}")
