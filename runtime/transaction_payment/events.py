"""Events of the (metadata-only) TransactionPayment pallet."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from btt_chain.primitives.codec import ACCOUNT, AMOUNT
from btt_chain.primitives.frozen import fast_init
from runtime.events import Event


@fast_init
@dataclass(frozen=True)
class TransactionFeePaid(Event):
    """A transaction fee `actual_fee`, of which `tip` was added to the minimum inclusion fee, has been paid by `who`."""

    MODULE: ClassVar[str] = "transaction_payment"
    who: bytes
    actual_fee: int
    tip: int
    WIRE = (("who", ACCOUNT), ("actual_fee", AMOUNT), ("tip", AMOUNT))


EVENTS = (
    TransactionFeePaid,
)
"""Fixed variant indices in the metadata: append only, never reorder or remove."""
