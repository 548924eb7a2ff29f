"""Runtime calls by name without the runtime: the node's call table (`btt_callTable`) gives each call's fixed
indices and argument types, and the argument types name the fields of `btt_chain.primitives.codec`, which encode
the arguments as SCALE.

A struct argument (a carried `Call`, a `ModelSpec`) is given as a primitives Struct (it encodes itself) or as its
SCALE bytes; the node checks it against its own schema.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from btt_chain.primitives.codec import ACCOUNT, ADDRESS, AMOUNT, BOOL, Bytes, Compact, Field, ListOf, Text, UInt
from btt_chain.primitives.errors import ConfigError, DecodeError
from btt_chain.primitives.extrinsic import Call

MAX_CALL_ARGS = 16
_UINT = re.compile(r"u(8|16|32|64)")
_COMPACT = re.compile(r"compact<u(8|16|32|64|128)>")
_BYTES_N = re.compile(r"bytes([0-9]+)")
_LIST = re.compile(r"list\[(.+)\]")


class StructArg(Field):
    """A struct the client has no schema for: a value that encodes itself (`encode()`), or its SCALE bytes."""

    def __init__(self, name: str) -> None:
        self.name = name

    def encode_scale(self, value: Any) -> bytes:
        encode = getattr(value, "encode", None)
        if callable(encode) and not isinstance(value, (bytes, str)):
            encoded = encode()
            if isinstance(encoded, bytes):
                return encoded
        if isinstance(value, bytes):
            return value
        raise DecodeError(f"expected {self.name} (a struct value or its SCALE bytes), got {type(value).__name__}")


def field_for(type_name: str) -> Field:
    """The wire field of an argument type as the call table names it (`u128`, `account`, `list[bytes32]` ...)."""
    if type_name == "u128":
        return AMOUNT
    if type_name == "account":
        return ACCOUNT
    if type_name == "address":
        return ADDRESS
    if type_name == "bool":
        return BOOL
    if type_name == "str":
        return Text(max_len=1 << 20)  # the node enforces the call's own limit
    if type_name == "bytes":
        return Bytes()
    if m := _UINT.fullmatch(type_name):
        return UInt(int(m.group(1)))
    if m := _COMPACT.fullmatch(type_name):
        return Compact(int(m.group(1)))
    if m := _BYTES_N.fullmatch(type_name):
        return Bytes(int(m.group(1)))
    if m := _LIST.fullmatch(type_name):
        return ListOf(field_for(m.group(1)), 1 << 16)
    return StructArg(type_name)


@dataclass(frozen=True)
class CallSpec:
    """One call of the table: fixed indices and typed arguments."""

    module_index: int
    index: int
    name: str
    args: tuple[tuple[str, str], ...]
    """(argument name, type name) in order."""
    doc: str = ""


class CallTable:
    """The node's call table, by `module.call` name."""

    def __init__(self, metadata: dict[str, Any]) -> None:
        self.spec_version: int | None = metadata.get("spec_version")
        self._calls: dict[str, CallSpec] = {}
        for m in metadata.get("modules", []):
            for c in m.get("calls", []):
                name = f"{m['name']}.{c['name']}"
                args = tuple((a["name"], a["type"]) for a in c.get("args", []))
                self._calls[name] = CallSpec(int(m["index"]), int(c["index"]), name, args, c.get("doc", ""))

    def __contains__(self, name: object) -> bool:
        return name in self._calls

    def names(self) -> list[str]:
        return sorted(self._calls)

    def get_spec(self, name: str) -> CallSpec:
        spec = self._calls.get(name)
        if spec is None:
            raise ConfigError(f"unknown call {name!r} (module.call, e.g. balances.transfer_keep_alive)")
        return spec

    def build_call(self, name: str, *args: Any) -> Call:
        """`name(*args)` as a Call, arguments Python-typed (amounts as int base units, accounts as 32 bytes)."""
        spec = self.get_spec(name)
        if len(args) != len(spec.args):
            raise ConfigError(f"{name} takes {len(spec.args)} arguments ({', '.join(a for a, _ in spec.args)})")
        if len(args) > MAX_CALL_ARGS:
            raise ConfigError(f"{name}: more than {MAX_CALL_ARGS} arguments")
        encoded = []
        for (arg, kind), value in zip(spec.args, args, strict=True):
            try:
                encoded.append(field_for(kind).encode_scale(value))
            except DecodeError as exc:
                raise ConfigError(f"{name} argument {arg}: {exc}") from None
        return Call(spec.module_index, spec.index, b"".join(encoded))
