"""scale-info's `PortableRegistry`, built in Python: every type the metadata names, by id, with no duplicates.

A type is a frozen `TypeInfo` (path, type parameters, definition, docs); `Registry.add` returns the id of an equal
type already present or appends it, so identical types share one id. Named types that are built once and looked up
by a key (a FRAME path, a Struct class) go through `Registry.named`; a type that contains itself through others (the
`RuntimeCall` enum holds governance's `Call`, which holds a `RuntimeCall`) is `reserve`d first, referred to by its
id, and `define`d once its parts exist. Ids are given in the order types are first asked for, so the same build
gives the same registry, byte for byte.

The SCALE layout is scale-info's portable form (paritytech/scale-info `src/ty/mod.rs`, `src/ty/fields.rs`,
`src/ty/variant.rs`, `src/portable.rs`): every type reference is a `Compact<u32>` id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from btt_chain.primitives import scale

PRIMITIVES = ("bool", "char", "str", "u8", "u16", "u32", "u64", "u128", "u256", "i8", "i16", "i32", "i64", "i128",
              "i256")
"""scale-info's `TypeDefPrimitive` variants, in their index order."""


def encode_strs(values: tuple[str, ...]) -> bytes:
    return scale.encode_vec([scale.encode_str(v) for v in values])


def encode_opt_str(value: str | None) -> bytes:
    return scale.encode_option(None if value is None else scale.encode_str(value))


def compact(value: int) -> bytes:
    return scale.encode_compact(value)


# --- the type model ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldInfo:
    """A field of a composite or a variant: named, or not (a tuple struct), with the Rust type's name for people."""

    ty: int
    name: str | None = None
    type_name: str | None = None
    docs: tuple[str, ...] = ()

    def encode(self) -> bytes:
        return encode_opt_str(self.name) + compact(self.ty) + encode_opt_str(self.type_name) + encode_strs(self.docs)


@dataclass(frozen=True)
class VariantInfo:
    name: str
    index: int
    fields: tuple[FieldInfo, ...] = ()
    docs: tuple[str, ...] = ()

    def encode(self) -> bytes:
        if not 0 <= self.index <= 255:
            raise ValueError(f"variant {self.name}: index {self.index} is not a u8")
        return (scale.encode_str(self.name) + scale.encode_vec([f.encode() for f in self.fields])
                + bytes((self.index,)) + encode_strs(self.docs))


@dataclass(frozen=True)
class Composite:
    fields: tuple[FieldInfo, ...] = ()

    def encode(self) -> bytes:
        return b"\x00" + scale.encode_vec([f.encode() for f in self.fields])


@dataclass(frozen=True)
class Variant:
    variants: tuple[VariantInfo, ...] = ()

    def encode(self) -> bytes:
        indices = [v.index for v in self.variants]
        if len(set(indices)) != len(indices):
            raise ValueError(f"variant indices used twice: {indices}")
        return b"\x01" + scale.encode_vec([v.encode() for v in self.variants])


@dataclass(frozen=True)
class Sequence:
    ty: int

    def encode(self) -> bytes:
        return b"\x02" + compact(self.ty)


@dataclass(frozen=True)
class Array:
    length: int
    ty: int

    def encode(self) -> bytes:
        return b"\x03" + scale.encode_uint(self.length, 4) + compact(self.ty)


@dataclass(frozen=True)
class Tuple:
    tys: tuple[int, ...] = ()

    def encode(self) -> bytes:
        return b"\x04" + scale.encode_vec([compact(t) for t in self.tys])


@dataclass(frozen=True)
class Primitive:
    name: str

    def encode(self) -> bytes:
        return b"\x05" + bytes((PRIMITIVES.index(self.name),))


@dataclass(frozen=True)
class CompactOf:
    ty: int

    def encode(self) -> bytes:
        return b"\x06" + compact(self.ty)


TypeDef = Composite | Variant | Sequence | Array | Tuple | Primitive | CompactOf


@dataclass(frozen=True)
class TypeParam:
    """A generic parameter: its name and the type it is (None for a parameter scale-info leaves open, `T`)."""

    name: str
    ty: int | None = None

    def encode(self) -> bytes:
        return scale.encode_str(self.name) + scale.encode_option(None if self.ty is None else compact(self.ty))


@dataclass(frozen=True)
class TypeInfo:
    definition: TypeDef
    path: tuple[str, ...] = ()
    params: tuple[TypeParam, ...] = ()
    docs: tuple[str, ...] = ()

    def encode(self) -> bytes:
        return (encode_strs(self.path) + scale.encode_vec([p.encode() for p in self.params])
                + self.definition.encode() + encode_strs(self.docs))


# --- the registry --------------------------------------------------------------------------------------------------


class Registry:
    """The types of one metadata, de-duplicated, with ids in the order they were first asked for."""

    def __init__(self) -> None:
        self._types: list[TypeInfo | None] = []
        self._ids: dict[TypeInfo, int] = {}
        self._named: dict[str, int] = {}
        self._building: set[str] = set()

    def __len__(self) -> int:
        return len(self._types)

    def add(self, ty: TypeInfo) -> int:
        """The id of `ty`: that of an equal type already here, else a new one."""
        found = self._ids.get(ty)
        if found is not None:
            return found
        self._types.append(ty)
        self._ids[ty] = len(self._types) - 1
        return len(self._types) - 1

    def named(self, key: str, build: Callable[[], TypeInfo]) -> int:
        """The id of the type known as `key` (a FRAME path, a class's qualified name), built by `build` the first
        time (its parts first, so they get the lower ids). A type reached again while it is being built must have
        been `reserve`d."""
        found = self._named.get(key)
        if found is not None:
            return found
        if key in self._building:
            raise ValueError(f"type {key} contains itself: reserve it before building it")
        self._building.add(key)
        try:
            ty = build()
        finally:
            self._building.discard(key)
        found = self._named.get(key)  # reserved meanwhile
        if found is not None:
            raise ValueError(f"type {key} was reserved while it was built: define it instead")
        type_id = self._named[key] = self.add(ty)
        return type_id

    def reserve(self, key: str) -> int:
        """An id for the type known as `key`, to be `define`d later (a type that contains itself). Idempotent."""
        found = self._named.get(key)
        if found is not None:
            return found
        self._types.append(None)
        type_id = self._named[key] = len(self._types) - 1
        return type_id

    def define(self, key: str, ty: TypeInfo) -> int:
        """Give the reserved type `key` its definition."""
        type_id = self._named[key]
        if self._types[type_id] is not None:
            raise ValueError(f"type {key} is already defined")
        self._types[type_id] = ty
        self._ids.setdefault(ty, type_id)
        return type_id

    def get(self, type_id: int) -> TypeInfo:
        ty = self._types[type_id]
        if ty is None:
            raise ValueError(f"type {type_id} is reserved but not defined")
        return ty

    def lookup(self, key: str) -> int | None:
        """The id of the named type `key`, if it was built or reserved."""
        return self._named.get(key)

    # shorthands for the unnamed type definitions

    def primitive(self, name: str) -> int:
        """A primitive by scale-info's lowercase name (`u32`, `str`, `bool`, ...)."""
        if name not in PRIMITIVES:
            raise ValueError(f"not a scale-info primitive: {name}")
        return self.add(TypeInfo(Primitive(name)))

    def sequence(self, ty: int) -> int:
        return self.add(TypeInfo(Sequence(ty)))

    def array(self, length: int, ty: int) -> int:
        return self.add(TypeInfo(Array(length, ty)))

    def tuple_of(self, *tys: int) -> int:
        return self.add(TypeInfo(Tuple(tuple(tys))))

    def compact(self, ty: int) -> int:
        return self.add(TypeInfo(CompactOf(ty)))

    def byte_vec(self) -> int:
        """`Vec<u8>`."""
        return self.sequence(self.primitive("u8"))

    def encode(self) -> bytes:
        """`PortableRegistry`: `Vec<PortableType { id: Compact<u32>, ty: Type }>`, ids 0, 1, 2, ... in order."""
        parts = []
        for type_id, ty in enumerate(self._types):
            if ty is None:
                key = next(k for k, v in self._named.items() if v == type_id)
                raise ValueError(f"type {key} (id {type_id}) was reserved but never defined")
            parts.append(compact(type_id) + ty.encode())
        return scale.encode_vec(parts)
