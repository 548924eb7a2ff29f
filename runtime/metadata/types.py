"""btt's field vocabulary as scale-info types: each `Field` (and each `Struct` a field nests) maps to one type id.

| btt | scale-info |
|---|---|
| `UInt(n)` (U8/U16/U32/U64) | `un` |
| `U128` (AMOUNT) | `u128` |
| `Compact(n)` (COMPACT_AMOUNT = `Compact(128)`) | `Compact<un>` |
| `Bool` | `bool` |
| `Text` | `str` |
| `Bytes(size=32)` (HASH) | `primitive_types::H256` |
| `Bytes(size=n)` | `[u8; n]` |
| `Bytes(max_len=...)` | `Vec<u8>` |
| `AccountId` (ACCOUNT) | `sp_core::crypto::AccountId32` |
| `MultiAddress` (ADDRESS) | `sp_runtime::multiaddress::MultiAddress<AccountId32, ()>` |
| `ListOf(item)` | `Vec<item>` |
| `Nested(Call)` | `btt_runtime::RuntimeCall` |
| `Nested(Era)` | `sp_runtime::generic::era::Era` |
| `Nested(S)` | a composite of `S.WIRE`'s fields, path from S's module and name (below) |

A Struct's path: `runtime.compute.model.ModelSpec` is `btt_runtime::compute::model::ModelSpec`.

The hook: a Field (instance) or a Struct (class) that is not one of these, or whose value is a FRAME type with its own
path and shape, declares its type itself with a `scale_type` method (a classmethod on a Struct):

    @classmethod
    def scale_type(cls, reg: Registry) -> int:
        from ..metadata import frame_types
        return frame_types.account_info(reg)   # System.Account's value: FRAME's AccountInfo

It receives the registry being built (`runtime.metadata.registry.Registry`: `primitive("u256")`, `sequence(ty)`,
`array(n, ty)`, `compact(ty)`, `tuple_of(...)`, `named(key, build)`; `field_type` and `struct_type` below for
btt's own fields) and returns the id of its type; it must describe exactly the bytes its `encode_scale` writes. An
optional `SCALE_TYPE_NAME` string attribute gives the Rust-style name shown beside a field (`type_name`).
"""

from __future__ import annotations

from typing import Any

from btt_chain.primitives.codec import (
    AMOUNT,
    COMPACT_AMOUNT,
    HASH,
    U128,
    AccountId,
    Bool,
    Bytes,
    Compact,
    Field,
    ListOf,
    MultiAddress,
    Nested,
    Struct,
    Text,
    UInt,
)
from btt_chain.primitives.extrinsic import Call, Era

from ..metadata import frame_types
from ..metadata.registry import Composite, FieldInfo, Registry, TypeInfo

HOOK = "scale_type"
"""The name of the hook method a Field or a Struct class may define: (registry) -> type id."""
TYPE_NAME_HOOK = "SCALE_TYPE_NAME"


def field_type(reg: Registry, field: Field) -> int:
    """The type id of `field`'s values."""
    hook = getattr(field, HOOK, None)
    if hook is not None:
        return int(hook(reg))
    if isinstance(field, MultiAddress):
        return frame_types.multi_address(reg)
    if isinstance(field, AccountId):
        return frame_types.account_id32(reg)
    if isinstance(field, Bytes):
        if field.size is None:
            return reg.byte_vec()
        if field.size == 32:
            return frame_types.h256(reg)
        return frame_types.byte_array(reg, field.size)
    if isinstance(field, UInt):
        return reg.primitive(f"u{field.bits}")
    if isinstance(field, U128):
        return reg.primitive("u128")
    if isinstance(field, Compact):
        return reg.compact(reg.primitive(f"u{field.bits}"))
    if isinstance(field, Bool):
        return reg.primitive("bool")
    if isinstance(field, Text):
        return reg.primitive("str")
    if isinstance(field, ListOf):
        return reg.sequence(field_type(reg, field.item))
    if isinstance(field, Nested):
        return struct_type(reg, field.cls)
    raise TypeError(f"no scale-info type for the field {field!r} ({type(field).__name__}): give it a "
                    f"`{HOOK}(reg)` method")


def field_type_name(field: Field) -> str | None:
    """The Rust-style name shown beside a field of this type (FRAME's `type_name`), for people and UIs."""
    named = getattr(field, TYPE_NAME_HOOK, None)
    if isinstance(named, str):
        return named
    if getattr(field, HOOK, None) is not None:
        return None
    if field is AMOUNT or field is COMPACT_AMOUNT:
        return "T::Balance"
    if field is HASH:
        return "T::Hash"
    if isinstance(field, MultiAddress):
        return "AccountIdLookupOf<T>"
    if isinstance(field, AccountId):
        return "T::AccountId"
    if isinstance(field, Bytes):
        return "Vec<u8>" if field.size is None else f"[u8; {field.size}]"
    if isinstance(field, (UInt, Compact)):
        return f"u{field.bits}"
    if isinstance(field, U128):
        return "u128"
    if isinstance(field, Bool):
        return "bool"
    if isinstance(field, Text):
        return "String"
    if isinstance(field, ListOf):
        inner = field_type_name(field.item)
        return f"Vec<{inner}>" if inner else None
    if isinstance(field, Nested):
        if field.cls is Call:
            return "Box<<T as Config>::RuntimeCall>"
        return field.cls.__name__
    return None


def fields_of(reg: Registry, wire: tuple[tuple[str, Field], ...]) -> tuple[FieldInfo, ...]:
    """Named fields, one per (name, Field) pair of a WIRE list."""
    return tuple(FieldInfo(field_type(reg, f), name, field_type_name(f)) for name, f in wire)


def struct_path(cls: type) -> tuple[str, ...]:
    """`runtime.compute.model.ModelSpec` -> `btt_runtime::compute::model::ModelSpec`;
    `btt_chain.primitives.x.Y` -> `btt_primitives::x::Y`."""
    parts = cls.__module__.split(".")
    if parts[0] == "runtime":
        parts[0] = frame_types.RUNTIME_CRATE
    elif parts[:2] == ["btt_chain", "primitives"]:
        parts = ["btt_primitives", *parts[2:]]
    return (*parts, cls.__qualname__)


def first_line(doc: str | None) -> tuple[str, ...]:
    """The docs kept in metadata: a docstring's first line (none for an empty one)."""
    line = (doc or "").strip().split("\n", 1)[0].strip()
    return (line,) if line else ()


def class_doc(cls: type) -> tuple[str, ...]:
    """A class's own docstring's first line; not the signature `dataclass` writes for an undocumented class."""
    doc: Any = cls.__dict__.get("__doc__")
    if not isinstance(doc, str) or doc.startswith(f"{cls.__name__}("):
        return ()
    return first_line(doc)


def struct_type(reg: Registry, cls: type[Struct]) -> int:
    """The type id of a Struct's values: its hook's type, FRAME's for a call and an era, else a composite of its
    WIRE fields."""
    hook = getattr(cls, HOOK, None)
    if hook is not None:
        return int(hook(reg))
    if cls is Call:
        return frame_types.runtime_call(reg)
    if cls is Era:
        return frame_types.era(reg)
    key = f"{cls.__module__}.{cls.__qualname__}"
    return reg.named(key, lambda: TypeInfo(Composite(fields_of(reg, cls.WIRE)), struct_path(cls), (), class_doc(cls)))
