"""Metadata V15's layout (paritytech/frame-metadata `frame-metadata/src/v15.rs`) and its SCALE encoding.

    RuntimeMetadataPrefixed = b"meta" ++ 0x0f (V15) ++ RuntimeMetadataV15
    RuntimeMetadataV15      = { types: PortableRegistry, pallets: Vec<PalletMetadata>, extrinsic: ExtrinsicMetadata,
                                ty, apis: Vec<RuntimeApiMetadata>, outer_enums: OuterEnums,
                                custom: CustomMetadata }
    PalletMetadata          = V14's fields ++ docs: Vec<String>
    ExtrinsicMetadata       = { version: u8, address_ty, call_ty, signature_ty, extra_ty,
                                signed_extensions: Vec<SignedExtensionMetadata (V14's)> }
    RuntimeApiMetadata      = { name, methods: Vec<{ name, inputs: Vec<{ name, ty }>, output: ty, docs }>, docs }
    OuterEnums              = { call_enum_ty, event_enum_ty, error_enum_ty }
    CustomMetadata          = { map: BTreeMap<String, { ty, value: Vec<u8> }> }

Every `ty` is a `Compact<u32>` id in the registry; a BTreeMap is encoded as a Vec of (key, value) in key order.
"""

from __future__ import annotations

from dataclasses import dataclass

from btt_chain.primitives import scale

from ..metadata.registry import Registry, compact, encode_strs
from ..metadata.v14 import MAGIC, PalletMetadata, SignedExtensionMetadata

VERSION = 15


@dataclass(frozen=True)
class PalletMetadataV15:
    """A V14 pallet and its docs."""

    pallet: PalletMetadata
    docs: tuple[str, ...] = ()

    def encode(self) -> bytes:
        return self.pallet.encode() + encode_strs(self.docs)


@dataclass(frozen=True)
class ExtrinsicMetadataV15:
    version: int
    address_ty: int
    call_ty: int
    signature_ty: int
    extra_ty: int
    signed_extensions: tuple[SignedExtensionMetadata, ...]

    def encode(self) -> bytes:
        return b"".join((
            bytes((self.version,)), compact(self.address_ty), compact(self.call_ty), compact(self.signature_ty),
            compact(self.extra_ty), scale.encode_vec([s.encode() for s in self.signed_extensions]),
        ))


@dataclass(frozen=True)
class RuntimeApiParam:
    name: str
    ty: int

    def encode(self) -> bytes:
        return scale.encode_str(self.name) + compact(self.ty)


@dataclass(frozen=True)
class RuntimeApiMethodMetadata:
    name: str
    inputs: tuple[RuntimeApiParam, ...]
    output: int
    docs: tuple[str, ...] = ()

    def encode(self) -> bytes:
        return (scale.encode_str(self.name) + scale.encode_vec([p.encode() for p in self.inputs])
                + compact(self.output) + encode_strs(self.docs))


@dataclass(frozen=True)
class RuntimeApiMetadata:
    name: str
    methods: tuple[RuntimeApiMethodMetadata, ...]
    docs: tuple[str, ...] = ()

    def encode(self) -> bytes:
        names = [m.name for m in self.methods]
        if len(set(names)) != len(names):
            raise ValueError(f"runtime API {self.name}: a function named twice: {names}")
        return (scale.encode_str(self.name) + scale.encode_vec([m.encode() for m in self.methods])
                + encode_strs(self.docs))


@dataclass(frozen=True)
class OuterEnums:
    call_enum_ty: int
    event_enum_ty: int
    error_enum_ty: int

    def encode(self) -> bytes:
        return compact(self.call_enum_ty) + compact(self.event_enum_ty) + compact(self.error_enum_ty)


@dataclass(frozen=True)
class CustomValue:
    name: str
    ty: int
    value: bytes


def encode_custom(values: tuple[CustomValue, ...]) -> bytes:
    """`CustomMetadata`: a `BTreeMap<String, CustomValueMetadata>`, in the keys' (UTF-8 byte) order."""
    ordered = sorted(values, key=lambda v: v.name.encode())
    names = [v.name for v in ordered]
    if len(set(names)) != len(names):
        raise ValueError(f"custom metadata: a key used twice: {names}")
    return scale.encode_vec([scale.encode_str(v.name) + compact(v.ty) + scale.encode_bytes(v.value)
                             for v in ordered])


def encode_prefixed(types: Registry, pallets: tuple[PalletMetadataV15, ...], extrinsic: ExtrinsicMetadataV15,
                    runtime_ty: int, apis: tuple[RuntimeApiMetadata, ...], outer_enums: OuterEnums,
                    custom: tuple[CustomValue, ...] = ()) -> bytes:
    """`RuntimeMetadataPrefixed` holding `RuntimeMetadataV15`."""
    indices = [p.pallet.index for p in pallets]
    if indices != sorted(set(indices)):
        raise ValueError(f"pallets must be in index order, each index once: {indices}")
    api_names = [a.name for a in apis]
    if len(set(api_names)) != len(api_names):
        raise ValueError(f"a runtime API named twice: {api_names}")
    return b"".join((
        MAGIC, bytes((VERSION,)), types.encode(), scale.encode_vec([p.encode() for p in pallets]),
        extrinsic.encode(), compact(runtime_ty), scale.encode_vec([a.encode() for a in apis]),
        outer_enums.encode(), encode_custom(custom),
    ))
