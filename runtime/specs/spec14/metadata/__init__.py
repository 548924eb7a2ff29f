"""SCALE metadata V14 for Substrate clients (@polkadot/api, substrate-interface), generated from the runtime.

`build_metadata(RUNTIME, ChainConstants(...))` returns `RuntimeMetadataPrefixed` (b"meta" ++ 0x0e ++ V14): the
types (scale-info's portable registry), one pallet per runtime module at the module's index, the extrinsic format
(v4, FRAME's signed extensions) and the runtime type. Nothing in it is written by hand: calls come from the modules'
`CallDef`s, events and errors from the `EVENTS` and `ERRORS` tuples of each module's `events.py` and `errors.py`
(positions = indices, append only), storage from `runtime.storage_schema`, field types from btt's `Field`s
(`runtime.metadata.types`). `event_index` and `error_index` give the same indices to the executive.

Hooks (see docs/metadata.md):
* `scale_type(reg) -> type id` on a Field or a Struct class: its type is not the default mapping (a FRAME type such
  as `frame_types.account_info`, or a field btt's vocabulary lacks);
* `scale_fields(reg) -> tuple[FieldInfo, ...]` on an Event class: its metadata fields are not its WIRE;
  `overrides.EVENT_FIELDS` / `EVENT_FIELD_NAMES` do the same from here for classes that do not say it themselves.

Modules: `registry` (types and their de-duplication), `frame_types` (FRAME's types by path), `types` (btt fields to
types), `catalog` (pallets, events, errors), `pallets`, `overrides`, `constants` (the published figures, read from a
block's state by `chain_constants`), `frame_constants` (FRAME's constant types), `v14` (the layout), `build`,
`indices`.
"""

from __future__ import annotations

from ..metadata.build import build_metadata
from ..metadata.constants import BlockLimits, ChainConstants, Constant, chain_constants
from ..metadata.indices import error_index, event_index

__all__ = ["BlockLimits", "ChainConstants", "Constant", "build_metadata", "chain_constants", "error_index",
           "event_index"]
