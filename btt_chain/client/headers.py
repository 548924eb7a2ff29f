"""A header as JSON-RPC serves it (Substrate's shape) back to its SCALE bytes and its hash, as Substrate clients
compute it: the node's JSON holds nothing else, so a client that needs a block hash computes it here."""

from __future__ import annotations

from typing import Any

from btt_chain.primitives import scale
from btt_chain.primitives.errors import DecodeError
from btt_chain.primitives.hashing import blake2b_256


def _hex(value: Any, what: str) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise DecodeError(f"header {what}: expected 0x-hex, got {value!r}")
    try:
        return bytes.fromhex(value[2:])
    except ValueError:
        raise DecodeError(f"header {what}: not hex") from None


def header_bytes(header: dict[str, Any]) -> bytes:
    """The SCALE header of Substrate's header JSON: parent, Compact(number), state root, extrinsics root, the logs."""
    logs = header.get("digest", {}).get("logs", [])
    return b"".join((
        _hex(header["parentHash"], "parentHash"),
        scale.encode_compact(int(header["number"], 16)),
        _hex(header["stateRoot"], "stateRoot"),
        _hex(header["extrinsicsRoot"], "extrinsicsRoot"),
        scale.encode_compact(len(logs)),
        *(_hex(item, "digest log") for item in logs),
    ))


def header_hash(header: dict[str, Any]) -> bytes:
    """The block hash of a header given as JSON (blake2b-256 of its SCALE bytes)."""
    return blake2b_256(header_bytes(header))


def header_number(header: dict[str, Any]) -> int:
    return int(header["number"], 16)
