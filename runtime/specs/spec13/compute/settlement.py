"""Money at the end of an assignment: the payment split and burn with work credit, and the fixed slashes. What a
final assignment releases (its hold on the provider's bond, the requester's unspent posting deposit) is
`assignment_state.move`'s; what a missed deadline costs is `outage`'s."""

from __future__ import annotations

from btt_chain.primitives.accounts import module_account
from btt_chain.primitives.amounts import UNIT
from runtime.context import CallContext

from ..balances import logic as balances
from ..bonds import logic as bonds
from ..compute import assignment_state, events, params, private, storage
from ..compute.types import SETTLED, Assignment, Job, PendingCredit

BPS = 10_000


def split(ctx: CallContext, payment: int) -> tuple[int, int, int, int, int]:
    """(burned, provider, development fund, foundation, operational reserve) of a payment, to the base unit:
    the burn first, then the rest by shares; rounding dust goes to the operational reserve."""
    burned = payment * ctx.param(params.PAYMENT_BURN) // BPS
    rest = payment - burned
    provider = rest * ctx.param(params.PROVIDER_SHARE) // BPS
    development = rest * ctx.param(params.DEVELOPMENT_SHARE) // BPS
    foundation = rest * ctx.param(params.FOUNDATION_SHARE) // BPS
    return burned, provider, development, foundation, rest - provider - development - foundation


def settle(ctx: CallContext, job: Job, a: Assignment, macs_per_item: int) -> Assignment:
    """The challenge window closed with no fault shown: pay the split, burn, and credit the work; the assignment is
    settled (`assignment_state.move`)."""
    burned, provider, development, foundation, reserve = split(ctx, a.portion)
    if burned:
        balances.slash_reserved(ctx, job.requester, burned)
    for dest, amount in (
        (a.provider, provider),
        (module_account("development_fund"), development),
        (module_account("foundation"), foundation),
        (module_account("operational_reserve"), reserve),
    ):
        if amount:
            balances.slash_reserved(ctx, job.requester, amount, dest)
    credit = min(macs_per_item * job.items, burned * ctx.param(params.CREDIT_PER_BURNED) // UNIT)
    if not private.earns_credit(ctx.state, job):
        credit = 0  # a private job whose clinic never revealed its decoys: nothing was checked
    if credit:
        mature = ctx.env.timestamp_ms + ctx.param(params.CREDIT_MATURITY)
        key = storage.pending_credit_key(mature, job.id, a.provider)
        storage.pending_credit.put(ctx.state, key, PendingCredit(credit, burned))
    settled = assignment_state.move(ctx, job, a, SETTLED)
    ctx.emit(
        events.JobReceipt(job.id, a.provider, job.model, job.items, a.output_root, a.portion, burned, provider, credit)
    )
    return settled


def slash(ctx: CallContext, provider: bytes, amount: int, reporter: bytes | None) -> tuple[int, int]:
    """Slash a fixed `amount` of the provider's bond (all of it if less is left); (burned, the reporter's reward)."""
    # The whole bond, unbonding chunks included: a provider that starts unbonding after it was assigned must not
    # escape the slash (bonds.slash reaches the chunks too).
    return bonds.slash(ctx, provider, amount, reporter)
