"""The one dispatch table: every module's calls by fixed (module index, call index), built once."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from btt_chain.primitives import scale
from btt_chain.primitives.codec import AccountId, Compact, Field, ListOf, MultiAddress, Nested, Struct
from btt_chain.primitives.errors import DecodeError, InvalidExtrinsic
from btt_chain.primitives.extrinsic import TRANSACTION_VERSION, Call, CallEnd, NestedCall
from btt_chain.primitives.frozen import fast_init
from runtime.context import CallContext, Origin
from runtime.overlay import Overlay

Handler = Callable[..., None]
Hook = Callable[[CallContext], None]
ExtraWeight = Callable[["Runtime", Overlay, tuple[Any, ...]], int]
"""(runtime, the state the call would run on, decoded arguments) -> weight beyond the call's own: that of a call
it carries, or work that grows with what its arguments name (a model's multiply-accumulates, say)."""


@dataclass(frozen=True)
class Spends:
    """What a call takes from its origin's free balance (moves, reserves, stakes or burns), declared beside the call:
    the tx pool holds a sender to what its pooled calls take (`btt_chain.node.pool_funds`), and a NonTransfer proxy
    may make only calls that take nothing (`runtime.proxy.filters`). `NOTHING` when it takes nothing."""

    argument: str | None = None
    """The argument holding the base units it takes."""
    everything: bool = False
    """It takes whatever spendable balance is left when it runs (`balances.transfer_all`)."""
    calls: str | None = None
    """The argument holding the call, or the list of calls, it dispatches: it takes what they take."""
    payer: str | None = None
    """With `calls`: the argument naming the account those calls run as (a proxy's `real`); None: the caller."""
    calls_may_fail: bool = False
    """With `calls`: it succeeds, and pays its fee, when a call it carries fails for want of funds (a `batch` stops, a
    `force_batch` goes on), so what those calls take is what they may take, not what it must (the pool counts it up
    to the balance left)."""
    state: str = ""
    """What it takes (too) that only the state knows, in words (a deposit a parameter sets, an invoice's amount):
    the pool counts nothing for it and drops what its sender can no longer pay after the block that includes it."""
    assets: str = ""
    """The value other than the balance it moves (an asset's tokens), in words: the pool counts nothing for it."""

    @property
    def takes_nothing(self) -> bool:
        """It takes nothing of the origin's: no balance, no deposit, no asset, and it carries no call."""
        return self == NOTHING


NOTHING = Spends()
"""A call that takes nothing from its origin's free balance (it may pay the origin, or lock what it holds)."""
EVERYTHING = Spends(everything=True)


def spends_argument(name: str, state: str = "") -> Spends:
    """A call that takes the amount in argument `name` (and, `state`, what only the state knows besides)."""
    return Spends(argument=name, state=state)


def spends_by_state(what: str) -> Spends:
    """A call that takes an amount only the state knows, said in `what`."""
    return Spends(state=what)


def spends_calls(argument: str, payer: str | None = None, may_fail: bool = False) -> Spends:
    """A call that dispatches the call(s) in `argument`, as the account in argument `payer` (None: the caller);
    `may_fail`: it stands when one of them fails (`Spends.calls_may_fail`)."""
    return Spends(calls=argument, payer=payer, calls_may_fail=may_fail)


@dataclass(frozen=True)
class CallDef:
    """A dispatchable call: fixed index, typed arguments, a weight (its cost in weight units) and a handler."""

    index: int
    name: str
    args: tuple[tuple[str, Field], ...]
    weight: int
    handler: Handler
    doc: str = ""
    extra_weight: ExtraWeight | None = None
    """Weight that depends on the arguments and the state (a call carrying another call pays for it; re-executing
    a model costs by its size): added to `weight`. It must be cheap, bounded and never raise."""
    spends: Spends | None = None
    """What it takes from its origin's free balance (every call of the live runtime declares it; a test holds them
    to it). None only in an older spec's frozen tables: the pool then reads the newest spec's declaration."""


@dataclass(frozen=True)
class ModuleDef:
    """A runtime module: fixed index, calls, and hooks run at block start and end."""

    index: int
    name: str
    calls: tuple[CallDef, ...] = ()
    on_initialize: Hook | None = None
    on_finalize: Hook | None = None
    paused: Callable[[Overlay, Origin, str], None] | None = None
    """Raises the module's error when it takes no call of this name from this origin now: such a call is refused
    before its fee at the pool's door and in a block (`Executive`), and fails as a call when another call dispatches
    it. None in every spec before 19."""


@fast_init
@dataclass(frozen=True)
class DecodedCall:
    module: ModuleDef
    call: CallDef
    args: tuple[Any, ...]

    @property
    def full_name(self) -> str:
        return f"{self.module.name}.{self.call.name}"


@dataclass
class Runtime:
    """The assembled runtime: modules in index order and the dispatch table over all of them."""

    spec_version: int
    modules: Sequence[ModuleDef]
    transaction_version: int = TRANSACTION_VERSION
    storage_versions: Mapping[str, int] = field(default_factory=dict)
    """Module name -> the storage version this spec's code reads and writes (absent: 0)."""
    migrations: Sequence[Any] = ()
    """The `runtime.migration.Migration`s that bring the previous spec's state to this one's, in order."""
    stored_calls: Sequence[type[Struct]] = ()
    """This spec's stored values that hold a call (a referendum's): the calls in them decode by this runtime's table,
    as those in its calls' arguments do (`bind_calls`)."""
    _table: dict[tuple[int, int], tuple[ModuleDef, CallDef]] = field(default_factory=dict, init=False)
    _names: dict[str, tuple[ModuleDef, CallDef]] = field(default_factory=dict, init=False)
    _decoders: dict[tuple[int, int], tuple[ModuleDef, CallDef, tuple[ArgDecoder, ...], ArgsDecoder | None]] = field(
        default_factory=dict, init=False)
    """`_table` with each call's argument decoders (`decode_call`'s, every extrinsic's) and, for a transfer's
    arguments, the decoder of them all at once."""

    def __post_init__(self) -> None:
        seen_modules: set[int] = set()
        for m in self.modules:
            if m.index in seen_modules:
                raise ValueError(f"module index {m.index} used twice")
            seen_modules.add(m.index)
            for c in m.calls:
                key = (m.index, c.index)
                if key in self._table:
                    raise ValueError(f"call index {key} used twice")
                self._table[key] = (m, c)
                decoders = tuple(_arg_decoder(bind_calls(f, self.call_end)) for _, f in c.args)
                self._decoders[key] = (m, c, decoders, _args_decoder(c))
                self._names[f"{m.name}.{c.name}"] = (m, c)
        for cls in self.stored_calls:
            self._bind_stored(cls)

    def _bind_stored(self, cls: type[Struct]) -> None:
        """`cls`'s call fields decoded by this runtime's table (the class is this spec's own: `runtime.specs`). A class
        already bound to a runtime with the same table (this one's copy with other migrations) stays as it is; one
        bound to another table is a spec's class claimed by another spec: refused."""
        if not any(carries_call(f) for _, f in cls.WIRE):
            raise ValueError(f"{cls.__name__} holds no call")
        for _, f in cls.WIRE:
            bound = getattr(f.item if isinstance(f, ListOf) else f, "call_end", None)
            if bound is not None:
                if bound.__self__._table != self._table:
                    raise ValueError(f"{cls.__name__} is bound to another runtime's call table")
                return
        cls.WIRE = tuple((name, bind_calls(f, self.call_end)) for name, f in cls.WIRE)

    def call(self, name: str, *args: Any) -> Call:
        """Build a Call by name ('balances.transfer_keep_alive') with Python-typed arguments."""
        if name not in self._names:
            raise InvalidExtrinsic(f"unknown call {name!r}")
        m, c = self._names[name]
        if len(args) != len(c.args):
            raise InvalidExtrinsic(f"{name} takes {len(c.args)} arguments ({', '.join(a for a, _ in c.args)})")
        parts = []
        for (aname, f), v in zip(c.args, args, strict=False):
            try:
                parts.append(f.encode_scale(v))
            except DecodeError as exc:
                raise InvalidExtrinsic(f"{name} argument {aname}: {exc}") from None
        return Call(m.index, c.index, b"".join(parts))

    def call_decoders(self) -> dict[tuple[int, int], CallDecoders]:
        """(module index, call index) -> (module, call, each argument's decoder, the one-call decoder or None): what
        `decode_call` decodes by (a copy)."""
        return dict(self._decoders)

    def call_of(self, data: bytes, max_size: int) -> Call:
        """The one call encoded by exactly `data` (at most `max_size` bytes), where its arguments end found by this
        runtime's own table: a call carried as bytes (a multisig's `call_data`) is its runtime's to decode, as a call
        inside a call is (`bind_calls`); the newest spec's table (`Call.decode`) may know other calls or arguments.
        DecodeError if `data` is not one call."""
        if type(data) is not bytes or len(data) > max_size:
            raise DecodeError(f"expected a call of at most {max_size} bytes")
        call, end = Call.decode_nested(data, 0, 0, self.call_end)
        scale.finish(data, end, "Call")
        return call

    def decode_call(self, call: Call) -> DecodedCall:
        """Resolve a Call's indices and decode its arguments (SCALE, strictly, to the last byte) by the call's
        signature. A nested call inside them (a proposal) is decoded as deep as MAX_CALL_DEPTH allows."""
        entry = self._decoders.get((call.module, call.function))
        if entry is None:
            raise InvalidExtrinsic(f"no call at index ({call.module}, {call.function})")
        m, c, decoders, whole = entry
        data = call.args
        if whole is not None:
            args = whole(data)
            if args is not None:
                return DecodedCall(m, c, args)
        pos = 0
        decoded = []
        try:
            for decode in decoders:
                value, pos = decode(data, pos)
                decoded.append(value)
        except DecodeError as exc:  # the argument that failed is the one after those decoded
            raise InvalidExtrinsic(f"{m.name}.{c.name} argument {c.args[len(decoded)][0]}: {exc}") from None
        except RecursionError:
            raise InvalidExtrinsic(f"{m.name}.{c.name} argument {c.args[len(decoded)][0]}: nested too deep") from None
        if pos != len(data):
            raise InvalidExtrinsic(f"{m.name}.{c.name}: {len(data) - pos} bytes after its {len(c.args)} arguments")
        return DecodedCall(m, c, tuple(decoded))

    def call_end(self, data: bytes, pos: int, depth: int) -> int:
        """Where the call whose module index is at `pos` ends: its arguments decoded by its signature (for a call
        inside another value). DecodeError for an unknown call or bad arguments."""
        entry = self._table.get((data[pos], data[pos + 1]))
        if entry is None:
            raise DecodeError(f"no call at index ({data[pos]}, {data[pos + 1]})")
        m, c = entry
        pos += 2
        for aname, f in c.args:
            try:
                pos = _decode_arg(f, data, pos, depth, self.call_end)
            except DecodeError as exc:
                raise DecodeError(f"{m.name}.{c.name} argument {aname}: {exc}") from None
        return pos

    @staticmethod
    def account_arguments(decoded: DecodedCall) -> list[bytes]:
        """The accounts a call names among its arguments (a transfer's destination): what it will most likely read
        besides its signer's account. A hint for warming caches, never a rule."""
        named = zip(decoded.call.args, decoded.args, strict=True)
        return [v for (_, f), v in named if isinstance(f, AccountId | MultiAddress)]

    def weight(self, state: Overlay, decoded: DecodedCall) -> int:
        """What `decoded` costs in weight units when it runs on `state`: the call's own weight plus its extra."""
        c = decoded.call
        return c.weight + (c.extra_weight(self, state, decoded.args) if c.extra_weight is not None else 0)

    def dispatch(self, ctx: CallContext, origin: Origin, decoded: DecodedCall) -> None:
        if decoded.module.paused is not None:
            decoded.module.paused(ctx.state, origin, decoded.call.name)
        decoded.call.handler(ctx, origin, *decoded.args)

    def lookup(self, name: str) -> tuple[ModuleDef, CallDef]:
        return self._names[name]

    def metadata(self) -> dict[str, Any]:
        """The call table for wallets: module and call indices, argument names and types, weights."""
        return {
            "spec_version": self.spec_version,
            "modules": [
                {
                    "index": m.index,
                    "name": m.name,
                    "calls": [
                        {
                            "index": c.index,
                            "name": c.name,
                            "args": [{"name": a, "type": f.name} for a, f in c.args],
                            "weight": c.weight,
                            "doc": c.doc,
                        }
                        for c in m.calls
                    ],
                }
                for m in self.modules
            ],
        }


ArgDecoder = Callable[[bytes, int], tuple[Any, int]]
"""(data, position) -> (the argument's value, the position after it): a Field's `decode_scale`."""


def _arg_decoder(f: Field) -> ArgDecoder:
    """`f.decode_scale`; for a `Compact` (a transfer's amount), the `scale.decode_compact` it calls, one call nearer."""
    if type(f) is Compact:
        return partial(scale.decode_compact, limit=f.max)
    return f.decode_scale


ArgsDecoder = Callable[[bytes], "tuple[Any, ...] | None"]
CallDecoders = tuple[ModuleDef, CallDef, tuple["ArgDecoder", ...], "ArgsDecoder | None"]
"""A call's entry in the runtime's table: its module, itself, each argument's decoder, its one-call decoder or None."""
"""A call's arguments -> their values when they decode (the whole of them, strictly); None for anything else, left to
the general decoding to name."""


def _args_decoder(c: CallDef) -> ArgsDecoder | None:
    """The one-call decoder of `c`'s arguments when they are a `MultiAddress` then a `Compact` (a transfer's: `dest`,
    `value`); None for any other signature."""
    if len(c.args) != 2 or type(c.args[0][1]) is not MultiAddress or type(c.args[1][1]) is not Compact:
        return None
    limit = c.args[1][1].max  # type: ignore[attr-defined]

    def address_and_compact(data: bytes) -> tuple[bytes, int] | None:
        """What `MultiAddress.decode_scale` at 0, then `scale.decode_compact` at 33 up to `limit`, ending at the last
        byte, give (the same checks, in one call): else None."""
        size = len(data)
        if size < 34 or data[0]:  # the Id variant and its 32 bytes, and the compact's first byte
            return None
        first = data[33]
        mode = first & 0b11
        if mode == 0:
            if size != 34:
                return None
            value = first >> 2
        elif mode == 1:
            if size != 35:
                return None
            value = int.from_bytes(data[33:35], "little") >> 2
            if value < 1 << 6:
                return None
        elif mode == 2:
            if size != 37:
                return None
            value = int.from_bytes(data[33:37], "little") >> 2
            if value < 1 << 14:
                return None
        else:
            end = 38 + (first >> 2)  # the mode byte, then (first >> 2) + 4 bytes
            if size != end or data[end - 1] == 0:
                return None
            value = int.from_bytes(data[34:end], "little")
            if value < 1 << 30:
                return None
        if value > limit:
            return None
        return data[1:33], value

    return address_and_compact


def _decode_arg(f: Field, data: bytes, pos: int, depth: int, call_end: CallEnd) -> int:
    """The position after one argument; a nested call, or a list of them (a batch), is decoded one level deeper (so
    the depth limit holds however calls nest), by the table `call_end` of the runtime decoding it."""
    if isinstance(f, Nested) and f.cls is Call:
        return Call.decode_nested(data, pos, depth, call_end)[1]
    if isinstance(f, ListOf) and isinstance(f.item, Nested) and f.item.cls is Call:
        n, pos = scale.decode_length(data, pos, f.max_items, f.name)
        for _ in range(n):
            pos = Call.decode_nested(data, pos, depth, call_end)[1]
        return pos
    return f.decode_scale(data, pos)[1]


def carries_call(f: Field) -> bool:
    """Whether values of `f` hold a call: a `Nested(Call)`, or a list of them (a batch's calls)."""
    if isinstance(f, ListOf):
        f = f.item
    return isinstance(f, Nested) and f.cls is Call


def bind_calls(f: Field, call_end: CallEnd) -> Field:
    """`f` with the calls it holds decoded by the table `call_end` (`NestedCall`); any other field as it is. A call
    inside a call is always its own runtime's to decode: another spec's table may know other calls, or other bounds on
    the same call's arguments."""
    if not carries_call(f):
        return f
    if isinstance(f, ListOf):
        return ListOf(NestedCall(call_end), f.max_items)
    return NestedCall(call_end)
