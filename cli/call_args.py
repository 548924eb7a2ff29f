"""Turn what a user types for a call's arguments (a JSON array) into typed values, by the argument types
in the runtime metadata: amounts (u128) are BTT decimal strings, accounts are names, addresses or 0x ids."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from btt_chain.primitives.amounts import parse_btt
from btt_chain.primitives.errors import ConfigError
from runtime.modules import RUNTIME


def convert_call_args(call_name: str, raw_json: str, to_account: Callable[[str], bytes]) -> tuple[Any, ...]:
    """`raw_json` (e.g. '["ADDRESS", "10"]') as the Python arguments of `call_name`."""
    try:
        _, call = RUNTIME.lookup(call_name)
    except KeyError:
        raise ConfigError(f"unknown call {call_name!r} (module.call, e.g. balances.transfer)") from None
    try:
        values = json.loads(raw_json)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--args is not JSON: {exc.msg}") from None
    if not isinstance(values, list) or len(values) != len(call.args):
        names = ", ".join(f"{n}: {f.name}" for n, f in call.args)
        raise ConfigError(f"{call_name} takes a JSON array of {len(call.args)} arguments ({names})")
    return tuple(_convert(v, f.name, n, to_account) for (n, f), v in zip(call.args, values, strict=True))


def _convert(value: Any, kind: str, name: str, to_account: Callable[[str], bytes]) -> Any:
    if kind.startswith("list[") and isinstance(value, list):
        return [_convert(v, kind[5:-1], name, to_account) for v in value]
    if kind == "account" and isinstance(value, str):
        return to_account(value)
    if kind == "u128" and isinstance(value, (str, int)) and not isinstance(value, bool):
        return parse_btt(str(value))
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
