"""Metadata V14's layout (paritytech/frame-metadata `frame-metadata/src/v14.rs`, `lib.rs`) and its SCALE encoding.

    RuntimeMetadataPrefixed = b"meta" ++ 0x0e (V14) ++ RuntimeMetadataV14
    RuntimeMetadataV14      = { types: PortableRegistry, pallets: Vec<PalletMetadata>, extrinsic, ty }
"""

from __future__ import annotations

from dataclasses import dataclass

from btt_chain.primitives import scale

from ..metadata.registry import Registry, compact, encode_strs
from ..storage_schema import HASHERS

MAGIC = b"meta"
"""`0x6174656d` as a little-endian u32."""
VERSION = 14
EXTRINSIC_VERSION = 4
MODIFIERS = ("Optional", "Default")


@dataclass(frozen=True)
class StorageEntryMetadata:
    name: str
    modifier: str
    """"Optional" (nothing stored reads as None) or "Default" (reads as `default`)."""
    value: int
    key: int | None = None
    """The key's type (a tuple of the key parts' types for more than one), None for a plain value."""
    hashers: tuple[str, ...] = ()
    default: bytes = b"\x00"
    docs: tuple[str, ...] = ()

    def encode(self) -> bytes:
        if self.key is None:
            if self.hashers:
                raise ValueError(f"storage {self.name}: a plain value has no hashers")
            ty = b"\x00" + compact(self.value)
        else:
            if not self.hashers:
                raise ValueError(f"storage {self.name}: a map needs hashers")
            hashers = scale.encode_vec([bytes((HASHERS.index(h),)) for h in self.hashers])
            ty = b"\x01" + hashers + compact(self.key) + compact(self.value)
        return (scale.encode_str(self.name) + bytes((MODIFIERS.index(self.modifier),)) + ty
                + scale.encode_bytes(self.default) + encode_strs(self.docs))


@dataclass(frozen=True)
class ConstantMetadata:
    name: str
    ty: int
    value: bytes
    docs: tuple[str, ...] = ()

    def encode(self) -> bytes:
        return scale.encode_str(self.name) + compact(self.ty) + scale.encode_bytes(self.value) + encode_strs(self.docs)


@dataclass(frozen=True)
class PalletMetadata:
    name: str
    index: int
    storage: tuple[StorageEntryMetadata, ...] | None = None
    """None for a pallet with no storage; the prefix is the pallet's name."""
    calls: int | None = None
    event: int | None = None
    constants: tuple[ConstantMetadata, ...] = ()
    error: int | None = None

    def encode(self) -> bytes:
        storage = None
        if self.storage is not None:
            storage = scale.encode_str(self.name) + scale.encode_vec([e.encode() for e in self.storage])

        def ty(type_id: int | None) -> bytes:
            return scale.encode_option(None if type_id is None else compact(type_id))

        return b"".join((
            scale.encode_str(self.name), scale.encode_option(storage), ty(self.calls), ty(self.event),
            scale.encode_vec([c.encode() for c in self.constants]), ty(self.error), bytes((self.index,)),
        ))


@dataclass(frozen=True)
class SignedExtensionMetadata:
    identifier: str
    ty: int
    additional_signed: int

    def encode(self) -> bytes:
        return scale.encode_str(self.identifier) + compact(self.ty) + compact(self.additional_signed)


@dataclass(frozen=True)
class ExtrinsicMetadata:
    ty: int
    version: int
    signed_extensions: tuple[SignedExtensionMetadata, ...]

    def encode(self) -> bytes:
        extensions = scale.encode_vec([s.encode() for s in self.signed_extensions])
        return compact(self.ty) + bytes((self.version,)) + extensions


def encode_prefixed(types: Registry, pallets: tuple[PalletMetadata, ...], extrinsic: ExtrinsicMetadata,
                    runtime_ty: int) -> bytes:
    """`RuntimeMetadataPrefixed` holding `RuntimeMetadataV14`."""
    indices = [p.index for p in pallets]
    if indices != sorted(set(indices)):
        raise ValueError(f"pallets must be in index order, each index once: {indices}")
    return b"".join((
        MAGIC, bytes((VERSION,)), types.encode(), scale.encode_vec([p.encode() for p in pallets]),
        extrinsic.encode(), compact(runtime_ty),
    ))
