"""JSON-RPC 2.0 framing: parse a request or batch, check the envelope, bind parameters, call, and encode.

Nothing a caller sends can raise out of here: bad JSON, bad envelopes and bad parameters become error
objects, and unexpected exceptions become -32603 (logged with their traceback).

The server answers through `handle_async`, which runs parsing and each call of a batch as separate units of the
server's RPC lane (`scheduler.CallLane`), so block authoring and import (on the same loop) wait for at most one
call, never for a whole batch; and which holds every reply to `max_response` bytes: a call whose answer is
larger gets an error that says how to ask for less, and a batch stops answering (with errors) once its replies
add up to the limit. A method whose answer comes later (`registry.Later`: work off the event loop) is awaited
outside the lane, and its answer encoded when it comes; the sync `handle` refuses such methods.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

from btt_chain.rpc.errors import (
    INTERNAL_ERROR,
    METHOD_NOT_FOUND,
    METHOD_NOT_FOUND_MESSAGE,
    PARSE_ERROR,
    SERVER_LIMIT,
    RpcError,
    invalid_request,
)
from btt_chain.rpc.registry import REGISTRY, Later, Registry, RpcContext, Stepwise, lone_surrogate
from btt_chain.rpc.scheduler import LaneBusy

log = logging.getLogger("btt.rpc")

MAX_BATCH = 100
MAX_RESPONSE = 4 * 1024 * 1024
"""Largest reply, one call or a whole batch (bytes of JSON)."""
_NO_ID = object()


MAX_TOKENS = 200_000
"""Most separators and openings (`,` `:` `[` `{`) one message may hold: parsing is bounded by this before it
starts (8 MiB of `[0,0,0,...]` would hold the loop for seconds; a batch of 100 calls of 1,000 numbers fits)."""


class _ParseFailed:
    """A message that is not JSON, or too costly to parse."""

    def __init__(self, error: RpcError) -> None:
        self.error = error


def _parse(raw: bytes | str) -> Any:
    data = raw.encode() if isinstance(raw, str) else raw
    tokens = data.count(b",") + data.count(b":") + data.count(b"[") + data.count(b"{")
    if tokens > MAX_TOKENS:
        return _ParseFailed(invalid_request(
            f"the message holds {tokens} JSON separators, over the limit of {MAX_TOKENS}: send fewer or smaller calls"))
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError, UnicodeDecodeError):
        return _ParseFailed(RpcError(PARSE_ERROR, "Parse error"))


async def _direct(fn: Callable[[], Any]) -> Any:
    return fn()


Runner = Callable[[Callable[[], Any]], Awaitable[Any]]
"""Runs one unit of RPC work and returns its result (the server's lane, or at once)."""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def error_response(request_id: Any, error: RpcError) -> str:
    return _dumps({"jsonrpc": "2.0", "id": request_id, "error": error.to_json()})


def _result(request_id: Any, result: Any) -> str | None:
    """The encoded result (None for a notification); raises if the result cannot be encoded."""
    return None if request_id is _NO_ID else _dumps({"jsonrpc": "2.0", "id": request_id, "result": result})


def _failure(request_id: Any, name: str, exc: Exception) -> str | None:
    """The encoded error a method's exception answers with: its RpcError, or -32603 for anything else (logged with
    its traceback). None for a notification."""
    if not isinstance(exc, RpcError):
        log.error("RPC method %s failed", name[:64], exc_info=exc)
        exc = RpcError(INTERNAL_ERROR, "Internal error: see the node log")
    return None if request_id is _NO_ID else error_response(request_id, exc)


@dataclass
class _Pending:
    """A call whose method answered `Later`: what its answer needs once the awaitable is done."""

    request_id: Any
    name: str
    later: Later | Stepwise


class CallObserver(Protocol):
    """Told of every call (a request object with a string `method`, in a batch or alone): Prometheus metrics."""

    def call_started(self, method: str, protocol: str) -> None:
        """`protocol`: 'http' or 'ws'. Told when the call is queued for the server's lane."""

    def call_finished(self, method: str, protocol: str, is_error: bool, seconds: float) -> None:
        """Told when its answer is ready (`seconds` since it was queued), or the lane refused it (an error). A call
        whose client left before it ran is never finished."""


def _method_of(request: Any) -> str | None:
    name = request.get("method") if isinstance(request, dict) else None
    return name if isinstance(name, str) else None


class Dispatcher:
    """Answers one HTTP body or WebSocket message. Synchronous: the node is read on the event-loop thread."""

    def __init__(self, registry: Registry = REGISTRY, max_batch: int = MAX_BATCH,
                 max_response: int = MAX_RESPONSE) -> None:
        self.registry = registry
        self.max_batch = max_batch
        self.max_response = max_response
        self.observer: CallObserver | None = None
        """Told of each call and its outcome (metrics); None: no one listens."""

    async def handle_async(self, raw: bytes | str, ctx: RpcContext, run: Runner | None = None) -> str | None:
        """As `handle`, with each step (parsing, then each call of a batch with its encoding) a separate unit for
        `run` (the server's RPC lane, `scheduler.CallLane`), and the reply bounded in size."""
        run = run or _direct
        payload = await run(lambda: _parse(raw))
        if isinstance(payload, _ParseFailed):
            return error_response(None, payload.error)
        if not isinstance(payload, list):
            return await self._run_call(payload, ctx, run)
        if not payload:
            return error_response(None, invalid_request("empty batch"))
        if len(payload) > self.max_batch:
            return error_response(
                None, invalid_request(f"batch of {len(payload)} requests is over the limit of {self.max_batch}")
            )
        answers: list[str] = []
        size = 2
        full = f"the batch's replies reached the limit of {self.max_response} bytes: send the rest in another request"
        for request in payload:
            if size >= self.max_response:
                answer = self._too_big(request, full)
            else:
                answer = await self._run_call(request, ctx, run)
                if answer is not None and size + len(answer) > self.max_response:
                    answer = self._too_big(request, full)
            if answer is not None:
                answers.append(answer)
                size += len(answer) + 1
        return "[" + ",".join(answers) + "]" if answers else None

    async def _run_call(self, request: Any, ctx: RpcContext, run: Runner) -> str | None:
        """One request as one unit of `run`, told to the observer (if any) with its outcome and time."""
        observer = self.observer
        method = _method_of(request) if observer is not None else None
        if observer is None or method is None:
            answer, _ = await self._run_unit(request, ctx, run)
            return answer
        protocol = "http" if ctx.subscriber is None else "ws"
        observer.call_started(method, protocol)
        started = time.perf_counter()
        try:
            answer, is_error = await self._run_unit(request, ctx, run)
        except LaneBusy:
            observer.call_finished(method, protocol, True, time.perf_counter() - started)
            raise
        observer.call_finished(method, protocol, is_error, time.perf_counter() - started)
        return answer

    async def _run_unit(self, request: Any, ctx: RpcContext, run: Runner) -> tuple[str | None, bool]:
        """The call as one unit of `run`; an answer that comes `Later` is awaited after the unit, outside the lane."""
        outcome = await run(partial(self._answer, request, ctx))
        if isinstance(outcome, _Pending):
            try:
                later = outcome.later
                if isinstance(later, Stepwise):
                    while True:  # each step its own unit of the lane
                        done, result = await run(later.advance)
                        if done:
                            break
                else:
                    result = await later.awaitable
                # encoded in a unit of its own: 500 rendered events are ~100 KB of JSON, never on the loop unheld
                answer = await run(partial(_result, outcome.request_id, result))
            except Exception as exc:
                return self._bounded(request, _failure(outcome.request_id, outcome.name, exc), True)
            return self._bounded(request, answer, False)
        return outcome  # type: ignore[no-any-return]

    def _answer(self, request: Any, ctx: RpcContext) -> tuple[str | None, bool] | _Pending:
        """The encoded answer (bounded in size) and whether it is an error; or the call whose answer comes later."""
        outcome = self._outcome(request, ctx)
        return outcome if isinstance(outcome, _Pending) else self._bounded(request, *outcome)

    def _bounded(self, request: Any, answer: str | None, is_error: bool) -> tuple[str | None, bool]:
        """The answer, or if it is over `max_response` an error that says so."""
        if answer is None or len(answer) <= self.max_response:
            return answer, is_error
        return self._too_big(request, f"the reply of {len(answer)} bytes is over the limit of {self.max_response}: "
                                      "ask for less (a smaller range or page)"), True

    @staticmethod
    def _too_big(request: Any, message: str) -> str | None:
        request_id = request.get("id", _NO_ID) if isinstance(request, dict) else None
        if request_id is _NO_ID:
            return None
        if isinstance(request_id, bool) or not isinstance(request_id, (str, int, type(None))):
            request_id = None
        return error_response(request_id, RpcError(SERVER_LIMIT, message))

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
        outcome = self._outcome(request, ctx)
        if isinstance(outcome, _Pending) and isinstance(outcome.later, Stepwise):  # its steps at once, here
            try:
                answer, is_error = _result(outcome.request_id, outcome.later.finish()), False
            except Exception as exc:
                answer, is_error = _failure(outcome.request_id, outcome.name, exc), True
            return self._bounded(request, answer, is_error)[0]
        if isinstance(outcome, _Pending):  # nothing here can wait for it: the server's handle_async can
            assert isinstance(outcome.later, Later)
            outcome.later.awaitable.close()
            error = RpcError(INTERNAL_ERROR, f"{outcome.name} answers later (work off the event loop): call it "
                                             "through the RPC server")
            return None if outcome.request_id is _NO_ID else error_response(outcome.request_id, error)
        return outcome[0]

    def _outcome(self, request: Any, ctx: RpcContext) -> tuple[str | None, bool] | _Pending:
        """The encoded answer (None for a notification) and whether the request failed."""
        if not isinstance(request, dict):
            return error_response(None, invalid_request("a request must be a JSON object")), True
        request_id = request.get("id", _NO_ID)
        if request_id is not _NO_ID and (
            isinstance(request_id, bool) or not isinstance(request_id, (str, int, type(None)))
        ):
            return error_response(None, invalid_request("id must be a string, an integer or null")), True
        if isinstance(request_id, str) and lone_surrogate(request_id) is not None:  # it could not be sent back
            return error_response(None, invalid_request("id: not valid UTF-8 text (it holds a lone surrogate)")), True
        reply_id = None if request_id is _NO_ID else request_id
        if request.get("jsonrpc") != "2.0":
            return error_response(reply_id, invalid_request('"jsonrpc" must be "2.0"')), True
        name = request.get("method")
        if not isinstance(name, str):
            return error_response(reply_id, invalid_request('"method" must be a string')), True
        if lone_surrogate(name) is not None:
            return error_response(reply_id, invalid_request('"method": not valid UTF-8 text (it holds a lone '
                                                            'surrogate)')), True
        params = request.get("params", [])
        if not isinstance(params, (list, dict)):
            return error_response(reply_id, invalid_request('"params" must be an array or an object')), True
        try:
            result = self._call(name, params, ctx)
            if isinstance(result, (Later, Stepwise)):
                return _Pending(request_id, name, result)
            # encoding inside the try: a result that cannot be encoded is an internal error
            return _result(request_id, result), False
        except Exception as exc:
            return _failure(request_id, name, exc), True

    def _call(self, name: str, params: list[Any] | dict[str, Any], ctx: RpcContext) -> Any:
        method = self.registry.get(name)
        if method is None:
            raise RpcError(METHOD_NOT_FOUND, METHOD_NOT_FOUND_MESSAGE, name[:64])
        if method.unsafe and not ctx.unsafe_allowed:
            raise RpcError(METHOD_NOT_FOUND, f"{name} is unsafe: it is served only to loopback callers of a node "
                                             "started with unsafe RPC methods")
        if method.ws_only and ctx.subscriber is None:
            raise RpcError(METHOD_NOT_FOUND, f"{name} is a subscription: it needs a WebSocket connection")
        args = method.bind(params, ctx)
        return method.handler(ctx, *args)
