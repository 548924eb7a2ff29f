"""One pallet's metadata from the runtime: its calls, events and errors enums, storage entries and constants.

Type paths are `<module>::pallet::Call`, `::Event`, `::Error` (the segment before `pallet` names the section, as
in FRAME's `pallet_balances::pallet::Call`). Call variants are the module's `CallDef`s at their indices with their
argument names (snake_case, as FRAME's); event and error variants are the classes of the module's `EVENTS` and
`ERRORS` tuples, by class name, at their positions there. Docs are a docstring's first line.
"""

from __future__ import annotations

from btt_chain.primitives.codec import Field, Struct
from runtime.events import Event

from ..metadata import overrides
from ..metadata.catalog import PalletSource
from ..metadata.constants import Constant
from ..metadata.registry import FieldInfo, Registry, TypeInfo, Variant, VariantInfo
from ..metadata.types import class_doc, field_type, fields_of, first_line, struct_type
from ..metadata.v14 import ConstantMetadata, PalletMetadata, StorageEntryMetadata
from ..storage_schema import HASHERS, StorageEntry, entries_of


def _enum(reg: Registry, module: str, kind: str, variants: tuple[VariantInfo, ...]) -> int | None:
    if not variants:
        return None
    return reg.named(f"{module}::pallet::{kind}", lambda: TypeInfo(Variant(variants), (module, "pallet", kind)))


def calls_type(reg: Registry, pallet: PalletSource) -> int | None:
    """The pallet's `Call` enum, or None for a pallet with no calls."""
    variants = tuple(VariantInfo(c.name, c.index, fields_of(reg, c.args), first_line(c.doc)) for c in pallet.calls)
    return _enum(reg, pallet.module, "Call", variants)


def event_fields(reg: Registry, event: type[Event]) -> tuple[FieldInfo, ...]:
    """An event's fields in the metadata: its `scale_fields` hook, an override, or its WIRE (see `overrides`)."""
    hook = getattr(event, overrides.HOOK, None)
    if hook is not None:
        return tuple(hook(reg))
    key = (event.MODULE, event.__name__)
    override = overrides.EVENT_FIELDS.get(key)
    if override is not None:
        return override(reg)
    fields = fields_of(reg, event.WIRE)
    names = overrides.EVENT_FIELD_NAMES.get(key)
    if names is not None:
        if len(names) != len(fields):
            raise ValueError(f"{key}: {len(names)} names for {len(fields)} fields")
        fields = tuple(FieldInfo(f.ty, name, f.type_name, f.docs) for f, name in zip(fields, names, strict=True))
    return fields


def event_type(reg: Registry, pallet: PalletSource) -> int | None:
    """The pallet's `Event` enum, or None for a pallet with no events."""
    variants = tuple(VariantInfo(e.__name__, i, event_fields(reg, e), class_doc(e))
                     for i, e in enumerate(pallet.events))
    return _enum(reg, pallet.module, "Event", variants)


def error_type(reg: Registry, pallet: PalletSource) -> int | None:
    """The pallet's `Error` enum (unit variants), or None for a pallet with no errors."""
    variants = tuple(VariantInfo(e.__name__, i, (), class_doc(e)) for i, e in enumerate(pallet.errors))
    return _enum(reg, pallet.module, "Error", variants)


def value_type(reg: Registry, value: Field | type[Struct]) -> int:
    return struct_type(reg, value) if isinstance(value, type) else field_type(reg, value)


def encode_value(value: Field | type[Struct], item: object) -> bytes:
    """The SCALE encoding of a storage value (a default)."""
    if isinstance(value, type):
        if not isinstance(item, value):
            raise TypeError(f"default {item!r} is not a {value.__name__}")
        return item.encode()
    return value.encode_scale(item)


def storage_entry(reg: Registry, entry: StorageEntry) -> StorageEntryMetadata:
    if len(entry.keys) != len(entry.hashers) or not set(entry.hashers) <= set(HASHERS):
        raise ValueError(f"{entry.pallet}.{entry.name}: one FRAME hasher per key part, got {entry.hashers}")
    key: int | None = None
    if len(entry.keys) == 1:
        key = field_type(reg, entry.keys[0])
    elif entry.keys:
        key = reg.tuple_of(*(field_type(reg, k) for k in entry.keys))
    optional = entry.default is None
    return StorageEntryMetadata(
        name=entry.name,
        modifier="Optional" if optional else "Default",
        value=value_type(reg, entry.value),
        key=key,
        hashers=entry.hashers,
        default=b"\x00" if optional else encode_value(entry.value, entry.default),
        docs=first_line(entry.doc),
    )


def storage(reg: Registry, module: str) -> tuple[StorageEntryMetadata, ...] | None:
    """The pallet's storage entries (`storage_schema.entries_of`), or None for a pallet with none."""
    entries = tuple(storage_entry(reg, e) for e in entries_of(module))
    names = [e.name for e in entries]
    if len(set(names)) != len(names):
        raise ValueError(f"{module}: storage names used twice: {names}")
    return entries or None


def constant(reg: Registry, c: Constant) -> ConstantMetadata:
    return ConstantMetadata(c.name, field_type(reg, c.field), c.encode(), first_line(c.doc))


def pallet_metadata(reg: Registry, pallet: PalletSource, constants: tuple[Constant, ...]) -> PalletMetadata:
    return PalletMetadata(
        name=pallet.name,
        index=pallet.index,
        storage=storage(reg, pallet.module),
        calls=calls_type(reg, pallet),
        event=event_type(reg, pallet),
        constants=tuple(constant(reg, c) for c in constants),
        error=error_type(reg, pallet),
    )
