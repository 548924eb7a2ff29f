"""Matured work credit as other modules read it (consensus power table, governance's compute house)."""

from __future__ import annotations

from runtime.overlay import Overlay

from ..compute import storage


def recent_credit(state: Overlay, account: bytes, upto_epoch: int, window: int) -> int:
    """Credit of `account` that matured in the `window` epochs ending with `upto_epoch` (inclusive)."""
    if upto_epoch < 0 or window <= 0:
        return 0
    lowest = upto_epoch - window
    return sum(b.credit for b in storage.credit_history.get(state, account) or () if lowest < b.epoch <= upto_epoch)
