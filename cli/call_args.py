"""Turn what a user types for a call's arguments (a JSON array) into typed values, by the argument types
in the runtime metadata: amounts (u128) are BTT decimal strings, accounts are names, addresses or 0x ids, a call an
argument carries (a batch's calls, a proxy's or a proposal's call, a multisig's call data) is
`{"call": "module.name", "args": [...]}` (its arguments converted the same way, up to MAX_CARRIED_DEPTH deep), an
optional argument is `null` or its value, and a proxy type is its name (Any, NonTransfer, ...) or its index."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from btt_chain.client.calls import CallTable, field_for
from btt_chain.primitives.amounts import parse_btt
from btt_chain.primitives.errors import ConfigError, DecodeError
from btt_chain.primitives.extrinsic import MAX_CALL_DEPTH, Call

MAX_CARRIED_DEPTH = MAX_CALL_DEPTH - 1
"""How deep `{"call": ...}` values may nest in --args: the runtime decodes calls in calls down to MAX_CALL_DEPTH - 1
levels below the outermost call (a command that wraps the calls, as `batch` does, adds one level: the dry run says
so before anything is sent)."""


def local_calls() -> CallTable:
    """This install's own runtime's call table (needs the node's dependencies), for checks before any node."""
    from runtime.modules import RUNTIME

    return CallTable(RUNTIME.metadata())


def convert_call_args(call_name: str, raw_json: str, to_account: Callable[[str], bytes],
                      calls: CallTable | None = None) -> tuple[Any, ...]:
    """`raw_json` (e.g. '["ADDRESS", "10"]') as the Python arguments of `call_name`, by the argument types of
    `calls` (the node's call table; default: this install's runtime)."""
    try:
        values = json.loads(raw_json)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--args is not JSON: {exc.msg}") from None
    except RecursionError:
        raise ConfigError("--args is not JSON: nested too deeply") from None
    return _Converter(calls or local_calls(), to_account).args(call_name, values, 0)


class _Converter:
    def __init__(self, calls: CallTable, to_account: Callable[[str], bytes]) -> None:
        self.calls = calls
        self.to_account = to_account

    def args(self, call_name: str, values: Any, depth: int) -> tuple[Any, ...]:
        spec = self.calls.get_spec(call_name)
        if not isinstance(values, list) or len(values) != len(spec.args):
            names = ", ".join(f"{n}: {kind}" for n, kind in spec.args)
            raise ConfigError(f"{call_name} takes a JSON array of {len(spec.args)} arguments ({names})")
        return tuple(self.value(v, kind, n, depth) for (n, kind), v in zip(spec.args, values, strict=True))

    def carried(self, value: Any, name: str, depth: int) -> Call:
        """A call given as {"call": "module.name", "args": [...]}."""
        if not (isinstance(value, dict) and set(value) == {"call", "args"} and isinstance(value["call"], str)):
            raise ConfigError(f'argument {name}: expected a call, {{"call": "module.name", "args": [...]}}, '
                              f"got {json.dumps(value)[:200]}")
        if depth + 1 > MAX_CARRIED_DEPTH:
            raise ConfigError(f"argument {name}: calls carried more than {MAX_CARRIED_DEPTH} deep")
        args = self.args(value["call"], value["args"], depth + 1)
        try:
            return self.calls.build_call(value["call"], *args)
        except DecodeError as exc:
            raise ConfigError(f"argument {name}: {value['call']}: {exc}") from None

    def value(self, value: Any, kind: str, name: str, depth: int) -> Any:
        if kind == "Call":
            return self.carried(value, name, depth)
        if kind == "bytes" and isinstance(value, dict):  # a multisig's call data
            return self.carried(value, name, depth).encode()
        if kind.startswith("option<") and kind.endswith(">"):
            if value is None:
                return b"\x00"
            inner = kind[7:-1]
            if inner == "proxy_type":
                return b"\x01" + bytes([_proxy_type(value, name)])
            return b"\x01" + field_for(inner).encode_scale(self.value(value, inner, name, depth))
        if kind == "u8" and name == "proxy_type" and isinstance(value, str):
            return _proxy_type(value, name)
        if kind.startswith("list[") and isinstance(value, list):
            return [self.value(v, kind[5:-1], name, depth) for v in value]
        return _convert(value, kind, name, self.to_account)


def _proxy_type(value: Any, name: str) -> int:
    from cli.proxy_cmd import PROXY_TYPES, type_index

    if type(value) is int and 0 <= value < len(PROXY_TYPES):
        return value
    if isinstance(value, str):
        try:
            return type_index(value)
        except ConfigError:
            pass
    raise ConfigError(f"argument {name}: expected a proxy type ({', '.join(PROXY_TYPES)}), got {json.dumps(value)}")


def _convert(value: Any, kind: str, name: str, to_account: Callable[[str], bytes]) -> Any:
    """A value of a plain type (no call, option or list in it)."""
    if kind in ("account", "address") and isinstance(value, str):
        return to_account(value)
    if kind in ("u128", "compact<u128>") and isinstance(value, (str, int)) and not isinstance(value, bool):
        return parse_btt(str(value))
    if kind.startswith("compact<u") and kind.endswith(">"):
        kind = kind[8:-1]
    if kind.startswith("u") and kind[1:].isdigit() and type(value) is int:
        return value
    if kind == "bool" and isinstance(value, bool):
        return value
    if kind == "str" and isinstance(value, str):
        return value
    if kind.startswith("bytes") and isinstance(value, str) and value.startswith("0x"):
        try:
            return bytes.fromhex(value[2:])
        except ValueError:
            raise ConfigError(f"argument {name}: {value!r} is not valid hex") from None
    raise ConfigError(f"argument {name}: expected {kind}, got {json.dumps(value)}")
