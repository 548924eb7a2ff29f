"""Storage of the params module: per parameter name its value, [min, max], unit, track and hard limits."""

from __future__ import annotations

from btt_chain.primitives.codec import AMOUNT, U8, ListOf, Text
from runtime.overlay import PARAMS_PREFIX, Overlay

from ..items import StorageMap, str_from_key, str_key

M = "params"

value: StorageMap[int] = StorageMap(M, "value", AMOUNT, str_key, str_from_key)
if value.prefix != PARAMS_PREFIX:  # Overlay.params_memo is emptied by writes under PARAMS_PREFIX
    raise RuntimeError(f"parameter values live under {value.prefix!r}, not {PARAMS_PREFIX!r}")
bounds: StorageMap[tuple[int, int]] = StorageMap(M, "bounds", ListOf(AMOUNT, 2), str_key, str_from_key)
unit: StorageMap[str] = StorageMap(M, "unit", Text(8), str_key, str_from_key)
track: StorageMap[int] = StorageMap(M, "track", U8, str_key, str_from_key)
"""0 (or absent): any referendum may change the value; 1: only the emergency track (the seed's figures)."""
limits: StorageMap[tuple[int, int]] = StorageMap(M, "limits", ListOf(AMOUNT, 2), str_key, str_from_key)
"""The genesis range: bounds may narrow inside it, never reach past it (absent: no limit beyond the bounds)."""

STANDARD = 0
EMERGENCY = 1
TRACKS = ("standard", "emergency")


_VALUE_KEYS: dict[str, bytes] = {}
"""Parameter name -> its storage key: names are few and read many times per block."""


def get_params(state: Overlay, names: tuple[str, ...]) -> tuple[int, ...]:
    """`get_param` of each name, in order, remembered as one tuple as `get_param` remembers one value (a fee reads
    the same three parameters for every extrinsic)."""
    memo = getattr(state, "params_memo", None)
    if memo is not None:
        known = memo.get(names)
        if known is not None:
            return known  # type: ignore[no-any-return]
    values = tuple([get_param(state, name) for name in names])
    if memo is not None:
        memo[names] = values
    return values


def get_param(state: Overlay, name: str) -> int:
    memo = getattr(state, "params_memo", None)
    if memo is not None:
        known = memo.get(name)
        if known is not None:
            return known
    key = _VALUE_KEYS.get(name)
    if key is None:
        key = _VALUE_KEYS[name] = value.key(name)
    raw = state.get(key)
    decoded = getattr(state, "decoded", None)
    hit = decoded.get(key) if decoded is not None and raw is not None else None
    v = hit[1] if hit is not None and hit[0] is raw else value.get_at(state, key)
    if v is None:
        raise KeyError(f"parameter {name!r} is not in genesis")
    if memo is not None:
        memo[name] = v
    return v
