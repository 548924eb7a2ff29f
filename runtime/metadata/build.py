"""`build_metadata`: the runtime's SCALE metadata V14, what `state_getMetadata` and `Metadata_metadata` serve;
`build_metadata_v15`: V15, what `Metadata_metadata_at_version(15)` serves.

Both are made from one `assemble`: the same pallets (the runtime's modules and the metadata-only pallets, through
`catalog.pallet_sources`), the same types with the same ids and the same signed extensions. V15 then appends what
only it holds (the outer error enum, the runtime APIs' types) to the registry V14 ends with, so V14's types are the
first ones of V15's, id for id, and a module added to the runtime appears in both or in neither.
"""

from __future__ import annotations

from dataclasses import dataclass

from runtime.dispatch import Runtime

from ..metadata import frame_types
from ..metadata.apis import runtime_apis
from ..metadata.catalog import PalletSource, docs_of, pallet_sources
from ..metadata.constants import ChainConstants
from ..metadata.pallets import pallet_metadata
from ..metadata.registry import FieldInfo, Registry, TypeInfo, Variant, VariantInfo
from ..metadata.v14 import (
    EXTRINSIC_VERSION,
    ExtrinsicMetadata,
    PalletMetadata,
    SignedExtensionMetadata,
    encode_prefixed,
)
from ..metadata.v15 import ExtrinsicMetadataV15, OuterEnums, PalletMetadataV15
from ..metadata.v15 import encode_prefixed as encode_prefixed_v15

METADATA_VERSIONS = (14, 15)
"""The metadata versions this spec's runtime serves (`Metadata_metadata_versions`)."""
RUNTIME_ERROR = f"{frame_types.RUNTIME_CRATE}::RuntimeError"


def _outer_enum(key: str, pallets: list[tuple[str, int, int | None]]) -> TypeInfo:
    """`RuntimeCall` / `RuntimeEvent` / `RuntimeError`: one variant per pallet that has calls / events / errors, at
    the pallet's index, holding that pallet's enum."""
    variants = tuple(VariantInfo(name, index, (FieldInfo(ty),)) for name, index, ty in pallets if ty is not None)
    return TypeInfo(Variant(variants), tuple(key.split("::")))


@dataclass(frozen=True)
class Assembled:
    """What V14 holds, with the registry it was built in."""

    reg: Registry
    sources: tuple[PalletSource, ...]
    pallets: tuple[PalletMetadata, ...]
    extensions: tuple[SignedExtensionMetadata, ...]
    extrinsic_ty: int
    runtime_ty: int


def assemble(runtime: Runtime, constants: ChainConstants) -> Assembled:
    """The types, pallets and extrinsic format of `runtime`, with the chain's `constants` (deterministic: the same
    runtime and constants give the same registry, id for id)."""
    reg = Registry()
    frame_types.runtime_call(reg)  # reserved: calls may carry calls (a governance proposal)
    frame_types.runtime_event(reg)
    # the FRAME types clients look up by path, whether or not a pallet names them
    for make in (frame_types.account_info, frame_types.event_records, frame_types.digest, frame_types.weight,
                 frame_types.dispatch_info, frame_types.dispatch_error, frame_types.era):
        make(reg)

    sources = pallet_sources(runtime)
    pallets = tuple(pallet_metadata(reg, p, constants.of(p.module)) for p in sources)
    reg.define(frame_types.RUNTIME_CALL, _outer_enum(
        frame_types.RUNTIME_CALL, [(p.name, p.index, p.calls) for p in pallets]))
    reg.define(frame_types.RUNTIME_EVENT, _outer_enum(
        frame_types.RUNTIME_EVENT, [(p.name, p.index, p.event) for p in pallets]))

    extensions = tuple(SignedExtensionMetadata(name, ty, extra)
                       for name, ty, extra in frame_types.signed_extensions(reg))
    extrinsic_ty = frame_types.unchecked_extrinsic(reg)
    return Assembled(reg, sources, pallets, extensions, extrinsic_ty, frame_types.outer_runtime(reg))


def build_metadata(runtime: Runtime, constants: ChainConstants) -> bytes:
    """`RuntimeMetadataPrefixed` (b"meta" ++ 0x0e ++ V14) for `runtime`, with the chain's `constants`.

    Deterministic: the same runtime and constants give the same bytes."""
    a = assemble(runtime, constants)
    extrinsic = ExtrinsicMetadata(a.extrinsic_ty, EXTRINSIC_VERSION, a.extensions)
    return encode_prefixed(a.reg, a.pallets, extrinsic, a.runtime_ty)


def build_metadata_v15(runtime: Runtime, constants: ChainConstants) -> bytes:
    """`RuntimeMetadataPrefixed` (b"meta" ++ 0x0f ++ V15) for `runtime`: V14's pallets with their docs, the extrinsic
    format by its parts, the runtime APIs (`runtime.metadata.apis`) and the outer call, event and error enums.

    Deterministic, and V14's registry is the start of V15's (see the module's docstring)."""
    a = assemble(runtime, constants)
    reg = a.reg
    error_enum = reg.named(RUNTIME_ERROR, lambda: _outer_enum(
        RUNTIME_ERROR, [(p.name, p.index, p.error) for p in a.pallets]))
    outer = OuterEnums(frame_types.runtime_call(reg), frame_types.runtime_event(reg), error_enum)
    extra = reg.tuple_of(*(e.ty for e in a.extensions))
    extrinsic = ExtrinsicMetadataV15(EXTRINSIC_VERSION, frame_types.multi_address(reg), outer.call_enum_ty,
                                     frame_types.multi_signature(reg), extra, a.extensions)
    apis = runtime_apis(reg)
    pallets = tuple(PalletMetadataV15(p, docs_of(s.module)) for p, s in zip(a.pallets, a.sources, strict=True))
    return encode_prefixed_v15(reg, pallets, extrinsic, a.runtime_ty, apis, outer)
