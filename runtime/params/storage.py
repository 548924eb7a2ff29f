"""Storage of the params module: value and [min, max] per parameter name."""

from __future__ import annotations

from btt_chain.primitives.codec import AMOUNT, ListOf, Text
from runtime.items import StorageMap, str_from_key, str_key
from runtime.overlay import Overlay

M = "params"

value: StorageMap[int] = StorageMap(M, "value", AMOUNT, str_key, str_from_key)
bounds: StorageMap[tuple[int, int]] = StorageMap(M, "bounds", ListOf(AMOUNT, 2), str_key, str_from_key)
unit: StorageMap[str] = StorageMap(M, "unit", Text(8), str_key, str_from_key)


def get_param(state: Overlay, name: str) -> int:
    v = value.get(state, name)
    if v is None:
        raise KeyError(f"parameter {name!r} is not in genesis")
    return v
