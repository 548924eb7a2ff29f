"""Turn what a user types for a call's arguments (a JSON array) into typed values, by the argument types
in the runtime metadata: amounts (u128) are BTT decimal strings, accounts are names, addresses or 0x ids."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from btt_chain.client.calls import CallTable
from btt_chain.primitives.amounts import parse_btt
from btt_chain.primitives.errors import ConfigError


def local_calls() -> CallTable:
    """This install's own runtime's call table (needs the node's dependencies), for checks before any node."""
    from runtime.modules import RUNTIME

    return CallTable(RUNTIME.metadata())


def convert_call_args(call_name: str, raw_json: str, to_account: Callable[[str], bytes],
                      calls: CallTable | None = None) -> tuple[Any, ...]:
    """`raw_json` (e.g. '["ADDRESS", "10"]') as the Python arguments of `call_name`, by the argument types of
    `calls` (the node's call table; default: this install's runtime)."""
    spec = (calls or local_calls()).get_spec(call_name)
    try:
        values = json.loads(raw_json)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--args is not JSON: {exc.msg}") from None
    except RecursionError:
        raise ConfigError("--args is not JSON: nested too deeply") from None
    if not isinstance(values, list) or len(values) != len(spec.args):
        names = ", ".join(f"{n}: {kind}" for n, kind in spec.args)
        raise ConfigError(f"{call_name} takes a JSON array of {len(spec.args)} arguments ({names})")
    return tuple(_convert(v, kind, n, to_account) for (n, kind), v in zip(spec.args, values, strict=True))


def _convert(value: Any, kind: str, name: str, to_account: Callable[[str], bytes]) -> Any:
    if kind.startswith("list[") and isinstance(value, list):
        return [_convert(v, kind[5:-1], name, to_account) for v in value]
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
