"""A strict decoder of `RuntimeMetadataPrefixed` V14 and V15, written from paritytech/frame-metadata's `v14.rs` and
`v15.rs` and scale-info's portable form, independent of the node's encoder (no import from `runtime.metadata`), and
a decoder of any value by its type id in the decoded registry (what dedot and polkadot-api do with a runtime API's
answer). Strict: minimal compacts only, bools 0 or 1, known enum indices, no trailing bytes.

Decoded metadata is plain dicts and lists: `{"version", "types": {id: type}, "pallets", "extrinsic", "ty", "apis",
"outer_enums", "custom"}`; a type is `{"path", "params", "def": (kind, ...), "docs"}`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

PRIMITIVES = ("bool", "char", "str", "u8", "u16", "u32", "u64", "u128", "u256", "i8", "i16", "i32", "i64", "i128",
              "i256")
HASHERS = ("Blake2_128", "Blake2_256", "Blake2_128Concat", "Twox128", "Twox256", "Twox64Concat", "Identity")


class Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise ValueError(f"out of data at {self.pos} (wanted {n} bytes)")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def u8(self) -> int:
        return self.take(1)[0]

    def uint(self, size: int) -> int:
        return int.from_bytes(self.take(size), "little")

    def compact(self) -> int:
        first = self.data[self.pos] if self.pos < len(self.data) else None
        if first is None:
            raise ValueError("out of data reading a compact")
        mode = first & 3
        if mode == 0:
            return self.u8() >> 2
        if mode == 1:
            value = self.uint(2) >> 2
            minimum = 1 << 6
        elif mode == 2:
            value = self.uint(4) >> 2
            minimum = 1 << 14
        else:
            n = (self.u8() >> 2) + 4
            value = self.uint(n)
            minimum = 1 << 30
            if n > 4 and value < 1 << (8 * (n - 1)):
                raise ValueError(f"non-minimal compact at {self.pos}")
        if value < minimum:
            raise ValueError(f"non-minimal compact {value} at {self.pos}")
        return value

    def boolean(self) -> bool:
        b = self.u8()
        if b > 1:
            raise ValueError(f"bool {b} at {self.pos - 1}")
        return b == 1

    def string(self) -> str:
        return self.take(self.compact()).decode("utf-8")

    def vec(self, item: Callable[[], T]) -> list[T]:
        return [item() for _ in range(self.compact())]

    def option(self, item: Callable[[], T]) -> T | None:
        tag = self.u8()
        if tag > 1:
            raise ValueError(f"option tag {tag} at {self.pos - 1}")
        return item() if tag else None

    def strings(self) -> list[str]:
        return self.vec(self.string)

    def finish(self) -> None:
        if self.pos != len(self.data):
            raise ValueError(f"{len(self.data) - self.pos} trailing bytes at {self.pos}")


# --- scale-info's portable registry --------------------------------------------------------------------------------


def _field(r: Reader) -> dict[str, Any]:
    return {"name": r.option(r.string), "type": r.compact(), "type_name": r.option(r.string), "docs": r.strings()}


def _type_def(r: Reader) -> tuple[Any, ...]:
    kind = r.u8()
    if kind == 0:
        return ("composite", r.vec(lambda: _field(r)))
    if kind == 1:
        def variant() -> dict[str, Any]:
            return {"name": r.string(), "fields": r.vec(lambda: _field(r)), "index": r.u8(), "docs": r.strings()}
        return ("variant", r.vec(variant))
    if kind == 2:
        return ("sequence", r.compact())
    if kind == 3:
        return ("array", r.uint(4), r.compact())
    if kind == 4:
        return ("tuple", r.vec(r.compact))
    if kind == 5:
        prim = r.u8()
        if prim >= len(PRIMITIVES):
            raise ValueError(f"primitive {prim}")
        return ("primitive", PRIMITIVES[prim])
    if kind == 6:
        return ("compact", r.compact())
    if kind == 7:
        return ("bitsequence", r.compact(), r.compact())
    raise ValueError(f"type def {kind} at {r.pos - 1}")


def _registry(r: Reader) -> dict[int, dict[str, Any]]:
    types: dict[int, dict[str, Any]] = {}
    for _ in range(r.compact()):
        type_id = r.compact()
        if type_id != len(types):
            raise ValueError(f"type ids out of order: {type_id} after {len(types)}")
        path = r.strings()
        params = r.vec(lambda: {"name": r.string(), "type": r.option(r.compact)})
        types[type_id] = {"path": path, "params": params, "def": _type_def(r), "docs": r.strings()}
    return types


# --- pallets, extrinsic, APIs --------------------------------------------------------------------------------------


def _storage_entry(r: Reader) -> dict[str, Any]:
    name = r.string()
    modifier = ("Optional", "Default")[r.u8()]
    kind = r.u8()
    if kind == 0:
        entry: dict[str, Any] = {"plain": r.compact()}
    elif kind == 1:
        hashers = [HASHERS[h] for h in r.vec(r.u8)]
        entry = {"hashers": hashers, "key": r.compact(), "value": r.compact()}
    else:
        raise ValueError(f"storage entry type {kind}")
    return {"name": name, "modifier": modifier, **entry, "default": r.take(r.compact()), "docs": r.strings()}


def _pallet(r: Reader, version: int) -> dict[str, Any]:
    pallet: dict[str, Any] = {"name": r.string()}
    pallet["storage"] = r.option(lambda: {"prefix": r.string(), "entries": r.vec(lambda: _storage_entry(r))})
    pallet["calls"] = r.option(r.compact)
    pallet["event"] = r.option(r.compact)
    pallet["constants"] = r.vec(lambda: {"name": r.string(), "type": r.compact(), "value": r.take(r.compact()),
                                          "docs": r.strings()})
    pallet["error"] = r.option(r.compact)
    pallet["index"] = r.u8()
    if version >= 15:
        pallet["docs"] = r.strings()
    return pallet


def _signed_extension(r: Reader) -> dict[str, Any]:
    return {"identifier": r.string(), "type": r.compact(), "additional_signed": r.compact()}


def _extrinsic(r: Reader, version: int) -> dict[str, Any]:
    if version == 14:
        return {"type": r.compact(), "version": r.u8(), "signed_extensions": r.vec(lambda: _signed_extension(r))}
    return {"version": r.u8(), "address_type": r.compact(), "call_type": r.compact(),
            "signature_type": r.compact(), "extra_type": r.compact(),
            "signed_extensions": r.vec(lambda: _signed_extension(r))}


def _api(r: Reader) -> dict[str, Any]:
    def method() -> dict[str, Any]:
        return {"name": r.string(), "inputs": r.vec(lambda: {"name": r.string(), "type": r.compact()}),
                "output": r.compact(), "docs": r.strings()}
    return {"name": r.string(), "methods": r.vec(method), "docs": r.strings()}


def decode_metadata(data: bytes) -> dict[str, Any]:
    """`RuntimeMetadataPrefixed` (V14 or V15) as plain data; ValueError on anything not exactly that layout."""
    r = Reader(data)
    if r.take(4) != b"meta":
        raise ValueError("no b'meta' magic")
    version = r.u8()
    if version not in (14, 15):
        raise ValueError(f"metadata version {version}")
    out: dict[str, Any] = {"version": version, "types": _registry(r)}
    out["pallets"] = r.vec(lambda: _pallet(r, version))
    out["extrinsic"] = _extrinsic(r, version)
    out["ty"] = r.compact()
    if version == 15:
        out["apis"] = r.vec(lambda: _api(r))
        out["outer_enums"] = {"call": r.compact(), "event": r.compact(), "error": r.compact()}
        out["custom"] = r.vec(lambda: (r.string(), {"type": r.compact(), "value": r.take(r.compact())}))
    r.finish()
    return out


# --- values by type ------------------------------------------------------------------------------------------------


def path_of(types: dict[int, dict[str, Any]], type_id: int) -> str:
    return "::".join(types[type_id]["path"])


def describe(types: dict[int, dict[str, Any]], type_id: int) -> str:
    """A type as Rust would write it: its path, or its shape."""
    t = types[type_id]
    if t["path"]:
        params = [describe(types, p["type"]) for p in t["params"] if p["type"] is not None]
        return "::".join(t["path"]) + (f"<{', '.join(params)}>" if params and t["path"] in (["Option"], ["Result"])
                                       else "")
    kind = t["def"]
    if kind[0] == "primitive":
        return str(kind[1])
    if kind[0] == "compact":
        return f"Compact<{describe(types, kind[1])}>"
    if kind[0] == "sequence":
        return f"Vec<{describe(types, kind[1])}>"
    if kind[0] == "array":
        return f"[{describe(types, kind[2])}; {kind[1]}]"
    if kind[0] == "tuple":
        return "(" + ", ".join(describe(types, x) for x in kind[1]) + ")"
    raise AssertionError(t)


def decode_value(types: dict[int, dict[str, Any]], type_id: int, data: bytes) -> Any:
    """The value of type `type_id` in `data` (all of it): composites as dicts (or lists for unnamed fields),
    variants as `{name: value}` (or the name alone for a unit variant), sequences as lists, u8 sequences as bytes."""
    r = Reader(data)
    value = _value(types, type_id, r)
    r.finish()
    return value


def decode_values(types: dict[int, dict[str, Any]], type_ids: list[int], data: bytes) -> list[Any]:
    """Values of the types `type_ids` one after the other in `data` (all of it): a runtime API's arguments."""
    r = Reader(data)
    values = [_value(types, type_id, r) for type_id in type_ids]
    r.finish()
    return values


def _value(types: dict[int, dict[str, Any]], type_id: int, r: Reader) -> Any:
    kind = types[type_id]["def"]
    if kind[0] == "primitive":
        name = kind[1]
        if name == "bool":
            return r.boolean()
        if name == "str":
            return r.string()
        if name.startswith("u"):
            return r.uint(int(name[1:]) // 8)
        raise AssertionError(f"primitive {name} not used by btt")
    if kind[0] == "compact":
        return r.compact()
    if kind[0] in ("sequence", "array"):
        item = kind[1] if kind[0] == "sequence" else kind[2]
        n = r.compact() if kind[0] == "sequence" else kind[1]
        if types[item]["def"] == ("primitive", "u8"):
            return r.take(n)
        return [_value(types, item, r) for _ in range(n)]
    if kind[0] == "tuple":
        return [_value(types, t, r) for t in kind[1]]
    if kind[0] == "composite":
        fields = kind[1]
        if fields and all(f["name"] is not None for f in fields):
            return {f["name"]: _value(types, f["type"], r) for f in fields}
        values = [_value(types, f["type"], r) for f in fields]
        return values[0] if len(values) == 1 else values
    if kind[0] == "variant":
        index = r.u8()
        found = [v for v in kind[1] if v["index"] == index]
        if not found:
            raise ValueError(f"{path_of(types, type_id)}: no variant {index}")
        variant = found[0]
        if not variant["fields"]:
            return variant["name"]
        inner = [_value(types, f["type"], r) for f in variant["fields"]]
        return {variant["name"]: inner[0] if len(inner) == 1 else inner}
    raise AssertionError(kind)


def encode_compact(value: int) -> bytes:
    """SCALE Compact (for building runtime API arguments by hand in tests)."""
    if value < 1 << 6:
        return bytes((value << 2,))
    if value < 1 << 14:
        return ((value << 2) | 1).to_bytes(2, "little")
    if value < 1 << 30:
        return ((value << 2) | 2).to_bytes(4, "little")
    n = (value.bit_length() + 7) // 8
    return bytes((((n - 4) << 2) | 3,)) + value.to_bytes(n, "little")
