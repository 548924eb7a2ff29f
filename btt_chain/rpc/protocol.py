"""JSON-RPC 2.0 framing: parse a request or batch, check the envelope, bind parameters, call, and encode.

Nothing a caller sends can raise out of here: bad JSON, bad envelopes and bad parameters become error
objects, and unexpected exceptions become -32603 (logged with their traceback).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from btt_chain.rpc.errors import (
    INTERNAL_ERROR,
    METHOD_NOT_FOUND,
    PARSE_ERROR,
    RpcError,
    invalid_request,
)
from btt_chain.rpc.registry import REGISTRY, Registry, RpcContext

log = logging.getLogger("btt.rpc")

MAX_BATCH = 100
_NO_ID = object()


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def error_response(request_id: Any, error: RpcError) -> str:
    return _dumps({"jsonrpc": "2.0", "id": request_id, "error": error.to_json()})


class Dispatcher:
    """Answers one HTTP body or WebSocket message. Synchronous: the node is read on the event-loop thread."""

    def __init__(self, registry: Registry = REGISTRY, max_batch: int = MAX_BATCH) -> None:
        self.registry = registry
        self.max_batch = max_batch

    def handle(self, raw: bytes | str, ctx: RpcContext) -> str | None:
        """The encoded response (object or batch array), or None when every request was a notification."""
        try:
            payload = json.loads(raw, parse_constant=_reject_constant)
        except (ValueError, RecursionError, UnicodeDecodeError):
            return error_response(None, RpcError(PARSE_ERROR, "Parse error"))
        if isinstance(payload, list):
            if not payload:
                return error_response(None, invalid_request("empty batch"))
            if len(payload) > self.max_batch:
                return error_response(
                    None, invalid_request(f"batch of {len(payload)} requests is over the limit of {self.max_batch}")
                )
            answers = [a for a in (self._one(r, ctx) for r in payload) if a is not None]
            return "[" + ",".join(answers) + "]" if answers else None
        return self._one(payload, ctx)

    def _one(self, request: Any, ctx: RpcContext) -> str | None:
        if not isinstance(request, dict):
            return error_response(None, invalid_request("a request must be a JSON object"))
        request_id = request.get("id", _NO_ID)
        if request_id is not _NO_ID and (
            isinstance(request_id, bool) or not isinstance(request_id, (str, int, type(None)))
        ):
            return error_response(None, invalid_request("id must be a string, an integer or null"))
        reply_id = None if request_id is _NO_ID else request_id
        if request.get("jsonrpc") != "2.0":
            return error_response(reply_id, invalid_request('"jsonrpc" must be "2.0"'))
        name = request.get("method")
        if not isinstance(name, str):
            return error_response(reply_id, invalid_request('"method" must be a string'))
        params = request.get("params", [])
        if not isinstance(params, (list, dict)):
            return error_response(reply_id, invalid_request('"params" must be an array or an object'))
        try:
            result = self._call(name, params, ctx)
            if request_id is _NO_ID:
                return None
            # encoding inside the try: a result that cannot be encoded is an internal error
            return _dumps({"jsonrpc": "2.0", "id": request_id, "result": result})
        except RpcError as exc:
            return None if request_id is _NO_ID else error_response(request_id, exc)
        except Exception:
            log.exception("RPC method %s failed", name[:64])
            if request_id is _NO_ID:
                return None
            return error_response(request_id, RpcError(INTERNAL_ERROR, "Internal error: see the node log"))

    def _call(self, name: str, params: list[Any] | dict[str, Any], ctx: RpcContext) -> Any:
        method = self.registry.get(name)
        if method is None:
            raise RpcError(METHOD_NOT_FOUND, f"Method not found: {name[:64]}")
        if method.unsafe and not ctx.unsafe_allowed:
            raise RpcError(METHOD_NOT_FOUND, f"{name} is unsafe: it is served only to loopback callers of a node "
                                             "started with unsafe RPC methods")
        if method.ws_only and ctx.subscriber is None:
            raise RpcError(METHOD_NOT_FOUND, f"{name} is a subscription: it needs a WebSocket connection")
        args = method.bind(params, ctx)
        return method.handler(ctx, *args)
