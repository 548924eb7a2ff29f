"""Provider registration and the eligible set that assignment draws from."""

from __future__ import annotations

from dataclasses import dataclass

from runtime.bonds import logic as bonds
from runtime.compute import errors, events, params, storage
from runtime.compute.types import ENERGY_CLASSES, REGION_CLASSES, Provider
from runtime.context import CallContext
from runtime.overlay import Overlay


def register(ctx: CallContext, who: bytes, capacity: int, region: int, energy: int) -> None:
    """Register `who` as a provider; its bonds-module active bond must reach `compute.min_provider_bond`.
    A provider that left and comes back keeps its record: its missed deadlines and frauds still count."""
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
    minimum = ctx.param(params.MIN_PROVIDER_BOND)
    bonded = bonds.bonded(state, who)
    if bonded < minimum:
        raise errors.BondTooLow(f"active bond {bonded} is below the minimum provider bond {minimum}; bond first")
    if existing is None:
        record = Provider(capacity, region, energy)
    else:
        record = existing.replace(capacity=capacity, region=region, energy=energy)
    storage.providers.put(state, who, record)
    ctx.emit(events.ProviderRegistered(who, capacity, region, energy))


def deregister(ctx: CallContext, who: bytes) -> None:
    """Leave the provider set (no open assignment may remain); the bond then unbonds through the bonds module.

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


def eligible(state: Overlay, minimum_bond: int) -> list[Candidate]:
    """Providers with free capacity and at least the minimum active bond, by account."""
    out = []
    for who, provider in storage.providers.items(state):
        bond = bonds.bonded(state, who)
        if provider.active < provider.capacity and bond >= minimum_bond:
            out.append(Candidate(who, bond, provider))
    return out
