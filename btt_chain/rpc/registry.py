"""The method table: every RPC method once, with its parameters, aliases and flags (unsafe, WebSocket only)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Generator, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from btt_chain.rpc.errors import invalid_params

if TYPE_CHECKING:
    from btt_chain.node.service import Node

_REQUIRED = object()


class Subscriber(Protocol):
    """The WebSocket connection a subscription method runs on."""

    def subscribe(self, kind: str, keys: tuple[bytes, ...] = ()) -> str: ...

    def unsubscribe(self, kind: str, subscription_id: str) -> bool: ...


@dataclass
class RpcContext:
    """What a method sees: the node, and for WebSocket callers the connection that takes subscriptions."""

    node: Node
    subscriber: Subscriber | None = None
    unsafe_allowed: bool = False


Parser = Callable[[Any, RpcContext], Any]


class Later:
    """A method's answer that is not ready at once (work done off the event loop, e.g. in a child process): the
    method returns `Later(coroutine)` after its checks, and the dispatcher awaits the coroutine outside the server's
    RPC lane, so other calls are served meanwhile, then answers with its result or error as if the method had
    returned or raised it."""

    __slots__ = ("awaitable",)

    def __init__(self, awaitable: Coroutine[Any, Any, Any]) -> None:
        self.awaitable = awaitable


class Stepwise:
    """A method's answer worked out in steps, each step its own unit of the server's RPC lane: the method returns
    `Stepwise(generator)` after its checks; each `yield` ends a step (the lane hands the event loop back there, and
    starts no step when the node's own slot is due), and the generator's return value is the answer. For a method
    whose bounded work is still too long for one unit on a busy machine (the explorer's events view rendering
    hundreds of events). Without the lane (a direct dispatch) the steps run one after the other at once."""

    __slots__ = ("steps",)

    def __init__(self, steps: Generator[None, None, Any]) -> None:
        self.steps = steps

    def advance(self) -> tuple[bool, Any]:
        """Run one step: (True, the answer) once the generator has returned, else (False, None)."""
        try:
            next(self.steps)
        except StopIteration as done:
            return True, done.value
        return False, None

    def finish(self) -> Any:
        """Run every remaining step; the answer."""
        while True:
            done, value = self.advance()
            if done:
                return value


@dataclass(frozen=True)
class Param:
    """One positional (or named) parameter: a parser that raises RpcError -32602, and a default if optional."""

    name: str
    parse: Parser
    default: Any = _REQUIRED

    @property
    def required(self) -> bool:
        return self.default is _REQUIRED


def optional(name: str, parse: Parser, default: Any = None) -> Param:
    """An optional parameter: missing or null means `default`."""
    return Param(name, parse, default)


@dataclass(frozen=True)
class MethodDef:
    name: str
    handler: Callable[..., Any]
    params: tuple[Param, ...] = ()
    aliases: tuple[str, ...] = ()
    unsafe: bool = False
    """Only served when the node runs with unsafe RPC methods, and only to loopback callers."""
    ws_only: bool = False
    """A subscription method: it needs a WebSocket connection."""

    def bind(self, params: Any, ctx: RpcContext) -> list[Any]:
        """Parse JSON params (an array or an object) into handler arguments; RpcError -32602 if they do not fit."""
        if isinstance(params, list):
            if len(params) > len(self.params):
                raise invalid_params(
                    f"{self.name} takes at most {len(self.params)} parameters ({self._names()}), got {len(params)}"
                )
            given = dict(zip((p.name for p in self.params), params, strict=False))
        else:
            unknown = sorted(set(params) - {p.name for p in self.params})
            if unknown:
                raise invalid_params(f"{self.name} has no parameter {unknown[0]!r} (it takes: {self._names()})")
            given = params
        args = []
        for p in self.params:
            value = given.get(p.name)
            if value is None:
                if p.required:
                    raise invalid_params(f"{self.name}: missing parameter {p.name!r} (it takes: {self._names()})")
                args.append(p.default)
                continue
            lone = lone_surrogate(value)
            if lone is not None:  # before any parser: none of them (nor a handler after them) meets such text
                raise invalid_params(f"{p.name}: not valid UTF-8 text: it holds a lone surrogate ({lone!r})")
            args.append(p.parse(value, ctx))
        return args

    def _names(self) -> str:
        return ", ".join(p.name if p.required else f"{p.name}?" for p in self.params) or "none"


def lone_surrogate(value: Any) -> str | None:
    """The first lone surrogate (`"\\ud800"` in JSON: no UTF-8 text holds one) in a parsed JSON value's strings
    and keys, or None. Iterative, so a deeply nested value cannot exhaust the stack."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not item.isascii():
                try:
                    item.encode()
                except UnicodeEncodeError as exc:
                    return item[exc.start]
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
    return None


class Registry:
    """Method definitions by name and alias. Built once at import; names are never registered twice."""

    def __init__(self) -> None:
        self._methods: dict[str, MethodDef] = {}

    def add(self, method: MethodDef) -> None:
        for name in (method.name, *method.aliases):
            if name in self._methods:
                raise ValueError(f"RPC method {name} registered twice")
            self._methods[name] = method

    def method(
        self, name: str, *params: Param, aliases: tuple[str, ...] = (), unsafe: bool = False, ws_only: bool = False
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator: register `fn(ctx, *args)` under `name`."""

        def register(fn: Callable[..., Any]) -> Callable[..., Any]:
            self.add(MethodDef(name, fn, params, aliases, unsafe, ws_only))
            return fn

        return register

    def get(self, name: str) -> MethodDef | None:
        return self._methods.get(name)

    def names(self, include_unsafe: bool) -> list[str]:
        return sorted(n for n, m in self._methods.items() if include_unsafe or not m.unsafe)

    def __iter__(self) -> Iterator[MethodDef]:
        seen: set[str] = set()
        for m in self._methods.values():
            if m.name not in seen:
                seen.add(m.name)
                yield m


REGISTRY = Registry()
"""The one method table; `btt_chain.rpc.methods` and `btt_chain.rpc.subscriptions` fill it."""
