"""`build_metadata`: the runtime's SCALE metadata V14, what `state_getMetadata` serves."""

from __future__ import annotations

from runtime.dispatch import Runtime

from ..metadata import frame_types
from ..metadata.catalog import pallet_sources
from ..metadata.constants import ChainConstants
from ..metadata.pallets import pallet_metadata
from ..metadata.registry import FieldInfo, Registry, TypeInfo, Variant, VariantInfo
from ..metadata.v14 import EXTRINSIC_VERSION, ExtrinsicMetadata, SignedExtensionMetadata, encode_prefixed


def _outer_enum(key: str, pallets: list[tuple[str, int, int | None]]) -> TypeInfo:
    """`RuntimeCall` / `RuntimeEvent`: one variant per pallet that has calls / events, at the pallet's index,
    holding that pallet's enum."""
    variants = tuple(VariantInfo(name, index, (FieldInfo(ty),)) for name, index, ty in pallets if ty is not None)
    return TypeInfo(Variant(variants), tuple(key.split("::")))


def build_metadata(runtime: Runtime, constants: ChainConstants) -> bytes:
    """`RuntimeMetadataPrefixed` (b"meta" ++ 0x0e ++ V14) for `runtime`, with the chain's `constants`.

    Deterministic: the same runtime and constants give the same bytes."""
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
    extrinsic = ExtrinsicMetadata(frame_types.unchecked_extrinsic(reg), EXTRINSIC_VERSION, extensions)
    return encode_prefixed(reg, pallets, extrinsic, frame_types.outer_runtime(reg))
