"""JSON-RPC error codes and the one exception a method raises to answer with an error object."""

from __future__ import annotations

from typing import Any

from btt_chain.primitives.errors import BttError

PARSE_ERROR = -32700
"""The body is not valid JSON."""
INVALID_REQUEST = -32600
"""Valid JSON, but not a JSON-RPC 2.0 request (or batch) this server accepts."""
METHOD_NOT_FOUND = -32601
"""No such method here: unknown, unsafe and not enabled, or a subscription asked for over HTTP."""
METHOD_NOT_FOUND_MESSAGE = "Method not found"
"""An unknown method's message, exactly jsonrpsee's (the name goes in `data`): polkadot-api's legacy layer falls back
to other methods only on this exact text."""
INVALID_PARAMS = -32602
"""Wrong number or type of parameters, bad hex, bad address, unknown block."""
INTERNAL_ERROR = -32603
"""The node failed while answering; the details are in its log."""
SERVER_LIMIT = -32000
"""A per-connection limit was reached (e.g. too many subscriptions)."""
SERVER_BUSY = -32001
"""The node's RPC queue is full: try again later."""
WEIGHTS_NOT_HELD = -32010
"""The node does not hold a model's weights blob (yet): `data` says whether it is fetching it; ask again later."""
UNSUPPORTED_SPEC = -32011
"""The block's runtime is a spec this node cannot run (`runtime.specs.UnsupportedSpec`): the message names the spec,
the block it takes effect from and the specs this node runs (`btt_upgrade` gives them as figures). Install a release
that runs it."""
INVALID_TRANSACTION = 1010
"""Substrate's code for an extrinsic the pool refused; `data` holds the reason."""


class RpcError(BttError):
    """A JSON-RPC error to send back to the caller."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            out["data"] = self.data
        return out


def invalid_params(message: str) -> RpcError:
    return RpcError(INVALID_PARAMS, message)


def invalid_request(message: str) -> RpcError:
    return RpcError(INVALID_REQUEST, f"Invalid request: {message}")


def invalid_transaction(reason: str) -> RpcError:
    return RpcError(INVALID_TRANSACTION, "Invalid Transaction", reason)


def unknown_block(block_hash: bytes, warp_base: tuple[int, bytes] | None = None) -> RpcError:
    """A block this node has no header of. The message keeps Substrate's words (`UnknownBlock: Header was not found
    in the database`): indexers (Subsquid) read an error containing "not found" as a block that is not there (yet),
    to be fetched again, and any other as a failure. A warp-synced node (`warp_base`: the block it started from) says
    that it holds no older block, which may be why."""
    message = f"unknown block 0x{block_hash.hex()}: header was not found in the database"
    if warp_base is not None:
        message += f" ({warp_note(warp_base)})"
    return invalid_params(message)


def warp_note(warp_base: tuple[int, bytes]) -> str:
    return (f"this node was warp-synced at block #{warp_base[0]} and holds no block between genesis and there: "
            "ask a node synced with --sync full for older blocks")
