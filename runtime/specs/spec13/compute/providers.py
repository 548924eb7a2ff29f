"""Provider registration, the bond each open assignment holds, and the eligible set assignment draws from.

Every assignment not yet final (assigned, committed, verified inside its challenge window, or late) may still cost
its provider one fixed slash (`compute.fraud_slash` or `compute.withheld_slash`, whichever is larger). So a provider
registers only with a bond covering its whole capacity, is assigned only while its bond covers one more, and
cannot unbond below what its assignments hold (`bond_floor`, which the bonds module consults). A fraud therefore
costs the same whether it is caught alone or beside others: never a share of whatever bond is left.
"""

from __future__ import annotations

from dataclasses import dataclass

from runtime.context import CallContext
from runtime.overlay import Overlay

from ..bonds import logic as bonds
from ..compute import errors, events, market, params, storage
from ..compute.types import ENERGY_CLASSES, REGION_CLASSES, Provider
from ..params.storage import get_param


def slash_per_assignment(state: Overlay) -> int:
    """What one assignment can cost its provider at most: one fixed slash."""
    return max(get_param(state, params.FRAUD_SLASH), get_param(state, params.WITHHELD_SLASH))


def bond_floor(state: Overlay, who: bytes) -> int:
    """The active bond `who` must keep: one fixed slash for each of its assignments not yet final."""
    provider = storage.providers.get(state, who)
    return 0 if provider is None else provider.at_risk * slash_per_assignment(state)


def required_bond(state: Overlay, assignments: int) -> int:
    """The active bond a provider needs to hold `assignments` at once (never below the minimum provider bond)."""
    return max(get_param(state, params.MIN_PROVIDER_BOND), assignments * slash_per_assignment(state))


def register(ctx: CallContext, who: bytes, capacity: int, region: int, energy: int) -> None:
    """Register `who` as a provider; its active bond must cover `capacity` fixed slashes and the minimum
    provider bond. A provider that left and comes back keeps its record: its missed deadlines and frauds
    still count."""
    state = ctx.state
    existing = storage.providers.get(state, who)
    if existing is not None and existing.capacity:
        raise errors.AlreadyProvider()
    max_capacity = ctx.param(params.MAX_CAPACITY)
    if not 1 <= capacity <= max_capacity:
        raise errors.BadProviderClass(f"capacity must be 1 to {max_capacity}, got {capacity}")
    if region >= len(REGION_CLASSES):
        raise errors.BadProviderClass(f"region must be 0 to {len(REGION_CLASSES) - 1} ({', '.join(REGION_CLASSES)})")
    if energy >= len(ENERGY_CLASSES):
        raise errors.BadProviderClass(f"energy class must be 0 to {len(ENERGY_CLASSES) - 1} (A to E)")
    needed = required_bond(state, capacity)
    bonded = bonds.bonded(state, who)
    if bonded < needed:
        raise errors.BondTooLow(
            f"active bond {bonded} is below {needed}: the minimum provider bond, and at least one fixed slash "
            f"({slash_per_assignment(state)}) for each of the {capacity} assignments it may hold; bond more first"
        )
    if existing is None:
        record = Provider(capacity, region, energy)
    else:
        record = existing.replace(capacity=capacity, region=region, energy=energy)
    storage.providers.put(state, who, record)
    ctx.emit(events.ProviderRegistered(who, capacity, region, energy))


def deregister(ctx: CallContext, who: bytes) -> None:
    """Leave the provider set (no open assignment may remain); the bond then unbonds through the bonds module,
    down to what assignments still in their challenge window hold.

    The record stays with capacity 0 (never eligible): deleting it would let a provider wipe its missed
    deadlines by leaving and registering again, and its credit still maturing is scored with its own record."""
    provider = storage.providers.get(ctx.state, who)
    if provider is None or provider.capacity == 0:
        raise errors.NotProvider()
    if provider.active:
        raise errors.ProviderBusy(f"{provider.active} assignments are still open")
    storage.providers.put(ctx.state, who, provider.replace(capacity=0))
    ctx.emit(events.ProviderDeregistered(who))


@dataclass
class Candidate:
    account: bytes
    bond: int
    provider: Provider


def can_take_one_more(state: Overlay, c: Candidate) -> bool:
    """Free capacity within the provider's share of the market (`market.share_cap`), and a bond that covers one more
    assignment's slash."""
    return (c.provider.active < min(c.provider.capacity, market.share_cap(state))
            and c.bond >= required_bond(state, c.provider.at_risk + 1))


def eligible(state: Overlay, now_ms: int) -> list[Candidate]:
    """Providers that can take one more assignment and are not paused after a missed deadline, by account."""
    out = []
    for who, provider in storage.providers.items(state):
        if is_paused(state, who, now_ms):
            continue
        c = Candidate(who, bonds.bonded(state, who), provider)
        if can_take_one_more(state, c):
            out.append(c)
    return out


def is_paused(state: Overlay, who: bytes, now_ms: int) -> bool:
    """`who` is paused after a miss (`outage.pause`): no new assignment yet."""
    record = storage.outages.get(state, who)
    return record is not None and record.paused_until_ms > now_ms
