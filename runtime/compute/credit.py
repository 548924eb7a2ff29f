"""Matured work credit as other modules read it (consensus power table, governance's compute house), and the per-epoch
totals it is summed from (spec 20).

Every read counts the credit of the epochs in its window that are at or above `storage.credit_floor`, from the same
records both ways: one provider's credit from its history, everyone's from `credit_totals` (from the histories
while a chain that took spec 20 has not yet run compute's migration 3 -> 4, which fills the totals from them).
Nothing at or above the floor is ever pruned from either, so the compute house's whole weight is exactly the sum of
its voters' weights, whatever the windows were or became."""

from __future__ import annotations

from collections.abc import Generator, Iterable

from runtime.overlay import Overlay

from ..compute import storage
from ..compute.types import CreditBucket
from ..storage_version import storage_version

TOTALS_VERSION = 4
"""The compute storage version from which the house's total is read from `credit_totals` (compute's migration 3 -> 4,
spec 20, has filled them from the histories)."""


def totals_whole(state: Overlay) -> bool:
    """Whether `credit_totals` holds every epoch at or above the floor: on a chain born at spec 20 or later, and on
    one that took it once compute's migration 3 -> 4 has run (until then the total is summed from the histories)."""
    return storage_version(state, "compute") >= TOTALS_VERSION


def totalled(state: Overlay, provider: bytes) -> bool:
    """Whether credit of `provider` maturing now goes to its epoch's total as well as to its history: always once the
    totals are whole; while compute's migration 3 -> 4 runs, for a provider whose history it has passed; never
    before it."""
    if totals_whole(state):
        return True
    passed = storage.credit_totals_passed.get(state)
    return passed is not None and provider <= passed


def recent_credit(state: Overlay, account: bytes, upto_epoch: int, window: int) -> int:
    """Credit of `account` that matured in the `window` epochs ending with `upto_epoch` (inclusive), at or above
    the floor."""
    history = storage.credit_history.get(state, account) or ()
    return credit_in_window(history, upto_epoch, window, storage.credit_floor.get(state))


def credit_in_window(history: Iterable[CreditBucket], upto_epoch: int, window: int, floor: int = 0) -> int:
    """The credit of a credit history that matured in the `window` epochs ending with `upto_epoch` (inclusive) and
    at or above `floor`: the rule of `recent_credit`, for a reader holding the history already."""
    if upto_epoch < 0 or window <= 0:
        return 0
    lowest = max(upto_epoch - window, floor - 1)
    return sum(b.credit for b in history if lowest < b.epoch <= upto_epoch)


def total_in_window(state: Overlay, upto_epoch: int, window: int) -> int:
    """Every provider's credit in the window, as the sum of `recent_credit` over all of them would count it."""
    steps = total_in_window_in_steps(state, upto_epoch, window, 1 << 62)
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return int(done.value)


def total_in_window_in_steps(state: Overlay, upto_epoch: int, window: int, per_step: int) -> Generator[None, None, int]:
    """`total_in_window` for a reader that hands its thread back between steps: the window's epochs from
    `credit_totals` (at most the work window's entries); only while a chain that took spec 20 has not yet run compute's
    migration 3 -> 4, from every provider's history instead, `per_step` histories between yields (gathered whole in
    the first step, as the state stood then)."""
    if upto_epoch < 0 or window <= 0:
        return 0
    lowest = max(upto_epoch - window, storage.credit_floor.get(state) - 1)  # counted: lowest < epoch <= upto
    if totals_whole(state):
        return sum(credit for epoch, credit in storage.credit_totals.items(state) if lowest < epoch <= upto_epoch)
    total = 0
    for n, (_, history) in enumerate(storage.credit_history.items(state), 1):
        total += sum(b.credit for b in history if lowest < b.epoch <= upto_epoch)
        if n % per_step == 0:
            yield
    return total


def add_matured(state: Overlay, provider: bytes, epoch: int, credit: int, window: int) -> None:
    """Record `credit` of `provider` as matured in `epoch`: its history (pruned below `epoch + 1 - window`, the
    buckets no work window counts any more) and the epoch's total."""
    history = [b for b in storage.credit_history.get(state, provider) or () if b.epoch > epoch - window]
    if history and history[-1].epoch == epoch:
        history[-1] = history[-1].replace(credit=history[-1].credit + credit)
    else:
        history.append(CreditBucket(epoch, credit))
    storage.credit_history.put(state, provider, tuple(history))
    if totalled(state, provider):
        storage.credit_totals.put(state, epoch, (storage.credit_totals.get(state, epoch) or 0) + credit)


def raise_floor(state: Overlay, epoch: int, window: int) -> int:
    """At `epoch`'s maturity with work window `window`: credit below `epoch - window` no longer counts, and the totals
    below it are pruned (the histories as their providers earn again). The totals read, for the caller to charge: at
    most the epochs since the floor last rose, which it does at every epoch's maturity (about the work window)."""
    new = epoch - window
    if new <= storage.credit_floor.get(state):
        return 0
    read = 0
    for e, _ in storage.credit_totals.items(state):
        read += 1
        if e >= new:
            break
        storage.credit_totals.remove(state, e)
    storage.credit_floor.put(state, new)
    return read
