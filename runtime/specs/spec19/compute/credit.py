"""Matured work credit as other modules read it (consensus power table, governance's compute house)."""

from __future__ import annotations

from collections.abc import Iterable

from runtime.overlay import Overlay

from ..compute import storage
from ..compute.types import CreditBucket


def recent_credit(state: Overlay, account: bytes, upto_epoch: int, window: int) -> int:
    """Credit of `account` that matured in the `window` epochs ending with `upto_epoch` (inclusive)."""
    return credit_in_window(storage.credit_history.get(state, account) or (), upto_epoch, window)


def credit_in_window(history: Iterable[CreditBucket], upto_epoch: int, window: int) -> int:
    """The credit of a credit history that matured in the `window` epochs ending with `upto_epoch` (inclusive): the
    rule of `recent_credit`, for a reader holding the history already."""
    if upto_epoch < 0 or window <= 0:
        return 0
    lowest = upto_epoch - window
    return sum(b.credit for b in history if lowest < b.epoch <= upto_epoch)
