"""The mining pool's emission schedule: how much of the Computing Power Mining Reward Pool each epoch releases.

The schedule is genesis data: a sequence of periods (duration, amount), laid back to back from genesis.
A period covers `ceil(duration_ms / epoch_ms)` whole epochs (so a period whose length is not a multiple of
the epoch ends with the epoch that contains its end) and spreads its amount evenly over them by the floor
of the cumulative share: after k of its n epochs it has emitted `amount * k // n`. Each epoch therefore
emits `floor(amount / n)` or `ceil(amount / n)`, each period emits its amount exactly, and the whole
schedule emits the sum of the amounts exactly; after the last period nothing more is emitted.

Pure integer functions of (periods, epoch length, epoch): no storage, no clock, no floats.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class EmissionPeriod:
    """One row of the emission schedule: `amount` base units released evenly over `duration_ms`."""

    duration_ms: int
    """Length of the period in milliseconds of chain time (> 0)."""
    amount: int
    """Base units the period emits in total (>= 0)."""


@dataclass(frozen=True, slots=True)
class ScheduleRow:
    """One period of a schedule as laid out in epochs, for an RPC or the CLI to print."""

    index: int
    """1-based position of the period in the schedule."""
    first_epoch: int
    """First epoch (0-based, counted from genesis) in which the period emits."""
    last_epoch: int
    """Last epoch (inclusive) of the period."""
    epochs: int
    """Number of epochs the period spans: ceil(duration_ms / epoch_ms)."""
    amount: int
    """Base units the period emits in total."""
    per_epoch: int
    """floor(amount / epochs): what most epochs of the period emit (some emit one base unit more)."""


def validate_periods(periods: Sequence[EmissionPeriod], epoch_ms: int) -> None:
    """Raise ValueError unless `periods` is a usable schedule for epochs of `epoch_ms` milliseconds."""
    if type(epoch_ms) is not int or epoch_ms <= 0:
        raise ValueError(f"emission schedule: epoch length must be a positive number of milliseconds, got {epoch_ms!r}")
    if len(periods) == 0:
        raise ValueError("emission schedule: no periods")
    for i, period in enumerate(periods, start=1):
        if not isinstance(period, EmissionPeriod):
            raise ValueError(f"emission schedule: period {i} is not an EmissionPeriod: {period!r}")
        if type(period.duration_ms) is not int or period.duration_ms <= 0:
            raise ValueError(f"emission schedule: period {i} has a non-positive duration: {period.duration_ms!r} ms")
        if type(period.amount) is not int or period.amount < 0:
            raise ValueError(f"emission schedule: period {i} has a negative or non-integer amount: {period.amount!r}")


def epochs_in_period(period: EmissionPeriod, epoch_ms: int) -> int:
    """The number of whole epochs `period` spans: ceil(duration_ms / epoch_ms), at least 1."""
    validate_periods((period,), epoch_ms)
    return -(-period.duration_ms // epoch_ms)


def total_epochs(periods: Sequence[EmissionPeriod], epoch_ms: int) -> int:
    """The number of epochs after which the schedule has emitted everything."""
    validate_periods(periods, epoch_ms)
    return sum(-(-p.duration_ms // epoch_ms) for p in periods)


def total_emission(periods: Sequence[EmissionPeriod]) -> int:
    """Everything the schedule ever emits: the sum of the period amounts."""
    return sum(p.amount for p in periods)


def cumulative_emission(periods: Sequence[EmissionPeriod], epoch_ms: int, epochs: int) -> int:
    """Base units emitted over the first `epochs` epochs since genesis (epochs 0 .. epochs-1)."""
    validate_periods(periods, epoch_ms)
    if type(epochs) is not int or epochs < 0:
        raise ValueError(f"emission schedule: epoch count must be a non-negative integer, got {epochs!r}")
    emitted = 0
    remaining = epochs
    for period in periods:
        n = -(-period.duration_ms // epoch_ms)
        if remaining >= n:
            emitted += period.amount
            remaining -= n
        else:
            emitted += period.amount * remaining // n
            break
    return emitted


def epoch_emission(periods: Sequence[EmissionPeriod], epoch_ms: int, epoch: int) -> int:
    """Base units the pool releases in `epoch` (0-based from genesis); 0 after the last period."""
    if type(epoch) is not int or epoch < 0:
        raise ValueError(f"emission schedule: epoch must be a non-negative integer, got {epoch!r}")
    return cumulative_emission(periods, epoch_ms, epoch + 1) - cumulative_emission(periods, epoch_ms, epoch)


def schedule_rows(periods: Sequence[EmissionPeriod], epoch_ms: int) -> list[ScheduleRow]:
    """The schedule laid out in epochs, one row per period."""
    validate_periods(periods, epoch_ms)
    rows: list[ScheduleRow] = []
    first = 0
    for index, period in enumerate(periods, start=1):
        n = -(-period.duration_ms // epoch_ms)
        rows.append(
            ScheduleRow(
                index=index,
                first_epoch=first,
                last_epoch=first + n - 1,
                epochs=n,
                amount=period.amount,
                per_epoch=period.amount // n,
            )
        )
        first += n
    return rows
