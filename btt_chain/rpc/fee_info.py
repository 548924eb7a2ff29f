"""What an extrinsic would pay, for fee estimates (`payment_queryInfo`, `payment_queryFeeDetails` and the
`TransactionPaymentApi` runtime calls): its call's weight and its inclusion fee in Substrate's parts.

The signature is never looked at, only decoded: wallets estimate with a dummy one (@polkadot/api's `paymentInfo`
signs with `0x01` bytes), and FRAME's `query_info` does not check it either. The fee is the one the executive would
charge (`runtime.fees.logic.compute_fee`, with the signer's discount), weighed by the runtime of the block the
extrinsic would go in: the runtime at the block asked about (`runtime_info.runtime_at`), its spec's own fee rules.

Substrate's `InclusionFee {base_fee, len_fee, adjusted_weight_fee}` has no discount: it is taken off the weight
fee first, then the length fee, then the base, so the three parts always add up to the fee charged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from btt_chain.primitives.errors import DecodeError, InvalidExtrinsic
from btt_chain.primitives.extrinsic import Extrinsic
from runtime.fees.logic import FeeDetails
from runtime.overlay import Overlay
from runtime.specs import package_module

if TYPE_CHECKING:
    from runtime.dispatch import Runtime


@dataclass(frozen=True)
class FeeQuote:
    weight: int
    """The call's weight (ref time; btt measures no proof size)."""
    fee: FeeDetails

    @property
    def inclusion_parts(self) -> tuple[int, int, int]:
        """(base_fee, len_fee, adjusted_weight_fee), the discount taken off the weight fee, then the length fee,
        then the base."""
        discount = self.fee.discount
        parts = [self.fee.weight_fee, self.fee.length_fee, self.fee.base]
        for i, part in enumerate(parts):
            taken = min(part, discount)
            parts[i] -= taken
            discount -= taken
        weight_fee, length_fee, base = parts
        return base, length_fee, weight_fee


def quote(state: Overlay, encoded: bytes, length: int, runtime: Runtime) -> FeeQuote:
    """The fee of the extrinsic `encoded` (counted as `length` bytes) on `state` under `runtime` (the block it would
    go in). DecodeError if it is not an extrinsic whose call this runtime knows; its signature is not checked."""
    xt = Extrinsic.decode_checked(encoded)
    try:
        weight = runtime.weight(state, runtime.decode_call(xt.call))
    except InvalidExtrinsic as exc:
        raise DecodeError(str(exc)) from None
    return FeeQuote(weight, compute_fee(runtime, state, length, weight, xt.signer))


def compute_fee(runtime: Runtime, state: Overlay, length: int, weight: int, signer: bytes | None = None) -> FeeDetails:
    """`runtime.fees.logic.compute_fee` of `runtime`'s own spec."""
    fee: FeeDetails = package_module(runtime.spec_version, "runtime.fees.logic").compute_fee(state, length, weight,
                                                                                               signer)
    return fee
