"""Module `vesting`: release schedules that keep allocations locked until they unlock (linear after a
cliff, or governance-approved milestone tranches under a linear cap), and the lock source that keeps each
holder's `frozen` balance equal to what is still locked at the block's time."""

from . import frame_view  # noqa: F401  (registers FRAME's `Vesting.Vesting`, computed for clients)
