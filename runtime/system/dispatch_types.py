"""What FRAME's `System.ExtrinsicSuccess` and `ExtrinsicFailed` carry, encoded exactly as FRAME encodes them:
`DispatchInfo {weight: Weight {ref_time: Compact<u64>, proof_size: Compact<u64>}, class: DispatchClass, pays_fee:
Pays}` and `DispatchError` (`Module = 3 {index: u8, error: [u8; 4]}`, `Other = 0` with no data).

Sources: polkadot-sdk `frame/support/src/dispatch.rs` (`DispatchInfo`, `DispatchClass`, `Pays`),
`primitives/runtime/src/lib.rs` (`DispatchError`, `ModuleError`), `primitives/weights/src/weight_v2.rs`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from btt_chain.primitives import scale
from btt_chain.primitives.codec import U8, Compact, Struct
from btt_chain.primitives.errors import DecodeError
from btt_chain.primitives.frozen import fast_init

NORMAL = 0
"""`DispatchClass::Normal`: every signed extrinsic of btt's."""
MANDATORY = 2
"""`DispatchClass::Mandatory`: an inherent (the block's `timestamp.set`), included whatever the block's load."""
PAYS_YES = 0
"""`Pays::Yes`: the signer paid the fee."""
PAYS_NO = 1
"""`Pays::No`: nobody paid (an inherent)."""
OTHER = 0
"""`DispatchError::Other`: an error with no module index (its text is not encoded)."""
MODULE = 3
"""`DispatchError::Module {index, error}`."""


@fast_init
@dataclass(frozen=True)
class DispatchInfo(Struct):
    """The weight an extrinsic was charged for (btt's weight units as `ref_time`; no proof size), its class and
    whether it paid."""

    ref_time: int
    proof_size: int = 0
    dispatch_class: int = NORMAL
    pays_fee: int = PAYS_YES

    WIRE = (("ref_time", Compact(64)), ("proof_size", Compact(64)), ("dispatch_class", U8), ("pays_fee", U8))

    @classmethod
    def scale_type(cls, reg: Any) -> int:
        """The metadata's type: FRAME's `frame_support::dispatch::DispatchInfo` (the same bytes as WIRE)."""
        from ..metadata import frame_types

        return frame_types.dispatch_info(reg)


@fast_init
@dataclass(frozen=True)
class DispatchErrorValue(Struct):
    """A `DispatchError`: `Module` with the failing pallet's index and its error's index (FRAME's `[u8; 4]` holds the
    index, then three zero bytes), or `Other`."""

    variant: int
    pallet: int = 0
    error: int = 0

    WIRE = (("variant", U8), ("pallet", U8), ("error", U8))

    @classmethod
    def scale_type(cls, reg: Any) -> int:
        """The metadata's type: FRAME's `sp_runtime::DispatchError`, every variant (btt writes Module and Other)."""
        from ..metadata import frame_types

        return frame_types.dispatch_error(reg)

    def encode_scale(self) -> bytes:
        if self.variant == MODULE:
            return bytes((MODULE, self.pallet, self.error, 0, 0, 0))
        if self.variant != OTHER or self.pallet or self.error:
            raise DecodeError(f"btt records only Module and Other dispatch errors, not {self!r}")
        return bytes((OTHER,))

    @classmethod
    def decode_at(cls, data: bytes, pos: int) -> tuple[DispatchErrorValue, int]:
        variant, pos = scale.decode_variant_index(data, pos, {OTHER, MODULE}, "dispatch error")
        if variant == OTHER:
            return cls(OTHER), pos
        raw, pos = scale.decode_fixed(data, pos, 5)
        if raw[2:] != b"\x00\x00\x00":
            raise DecodeError("a module error's last three bytes are zero")
        return cls(MODULE, raw[0], raw[1]), pos
