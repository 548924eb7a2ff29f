"""The incentives module's work at the start of every block: in the first block of an epoch, pay the redemption
requests of the epoch that ended (runtime/incentives/redemption.py), before any extrinsic of the block runs."""

from __future__ import annotations

from runtime.context import CallContext

from ..consensus.logic import epoch_of
from ..incentives import redemption, storage


def on_initialize(ctx: CallContext) -> None:
    if ctx.env.speculative:
        return  # a view for checking transactions, not a block: nothing of a settlement would be kept
    rnd = storage.open_round.get(ctx.state)
    # at most MAX_REQUESTS_PER_EPOCH payouts and their rows' indexes, once per epoch; every other block reads one value
    if rnd is not None and rnd.epoch < epoch_of(ctx.state, ctx.env.slot):
        redemption.settle(ctx, rnd)
