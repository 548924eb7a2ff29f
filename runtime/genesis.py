"""Genesis state from plain data: each module's genesis storage, with the same rules the modules enforce.

Takes a GenesisConfig (plain values, no JSON) so the runtime stays free of the genesis file format.
"""

from __future__ import annotations

from dataclasses import dataclass

from runtime.overlay import DictState, Overlay

from .bonds import genesis as bonds_genesis
from .compute import genesis as compute_genesis
from .compute.model import ModelSpec
from .consensus import logic as consensus
from .params import storage as params
from .roles import genesis as roles_genesis
from .session import storage as session
from .session.types import ValidatorInfo
from .system import storage as system
from .system.types import AccountInfo
from .treasury import genesis as treasury_genesis
from .upgrade import write_genesis_versions
from .vesting.genesis import GenesisVesting, build_vesting_genesis


@dataclass(frozen=True)
class GenesisBalance:
    account: bytes
    free: int
    locked: int
    """Part of `free` that is frozen at genesis (allocations not yet released)."""


@dataclass(frozen=True)
class GenesisParam:
    name: str
    value: int
    min: int
    max: int
    unit: str
    track: str = "standard"
    """'standard' (any referendum) or 'emergency' (the seed's figures: the emergency track only)."""


@dataclass(frozen=True)
class GenesisConfig:
    supply: int
    burned_at_genesis: int
    genesis_time_ms: int
    chain_spec_hash: bytes
    balances: tuple[GenesisBalance, ...]
    validators: tuple[ValidatorInfo, ...]
    params: tuple[GenesisParam, ...]
    month_seconds: int = 2_592_000
    """Seconds in a month (30 days unless the genesis scales time, as a devnet does)."""
    year_seconds: int = 31_536_000
    vesting: tuple[GenesisVesting, ...] = ()
    """Release schedules of the linear and milestone allocation rows."""
    epoch_slots: int = 0
    """Slots per epoch: the bonds module rebuilds the active validator set at each new epoch (0: never)."""
    slot_ms: int = 1000
    commitments: tuple[tuple[bytes, bytes], ...] = ()
    """(session key, hash-chain commitment) of each genesis validator: its first block reveals the preimage."""
    models: tuple[ModelSpec, ...] = ()
    """Models registered at genesis (the reference models)."""
    mining_periods: tuple[tuple[int, int], ...] = ()
    """The mining pool's emission schedule as (duration ms, amount) periods."""
    milestones: tuple[tuple[str, int, bool], ...] = ()
    """Milestone burns as (name, amount, burned at genesis); the others are executed by referendum, once each."""
    institutions: tuple[tuple[bytes, int], ...] = ()
    """The founding institutions house: (account, voting weight = its genesis allocation)."""
    representatives: tuple[bytes, ...] = ()
    """The community representatives house at genesis (one account, one vote; changed by referendum)."""
    verifiers: tuple[bytes, ...] = ()
    """Asset verifiers appointed at genesis (governance appoints and removes them afterwards)."""
    oracles: tuple[tuple[str, bytes], ...] = ()
    """Health oracles appointed at genesis, as (activity, account)."""
    institution_share_bps: tuple[int, ...] = ()
    """Progressive decentralisation: the institutions' share by year (year 1 first; the last holds after)."""


def build_state(config: GenesisConfig) -> dict[bytes, bytes]:
    """The genesis key-value state. Raises ValueError if the figures do not add up."""
    # the balances go straight into the backend (a million accounts in a bench genesis); the rest through the overlay
    accounts: dict[bytes, bytes] = {}
    held = 0
    encodings: dict[tuple[int, int], bytes] = {}  # accounts with the same figures share one encoding
    account_key = system.account.key
    for b in config.balances:
        key = account_key(b.account)
        if key in accounts:
            raise ValueError("an account appears twice in the genesis balances")
        if b.locked > b.free:
            raise ValueError("locked exceeds free in a genesis balance")
        figures = (b.free, b.locked)
        enc = encodings.get(figures)
        if enc is None:
            enc = encodings[figures] = system.account.codec.encode(AccountInfo(0, b.free, 0, b.locked))
        accounts[key] = enc
        held += b.free
    backend = DictState()
    backend.data = accounts
    state = Overlay(backend)
    if held != config.supply - config.burned_at_genesis:
        raise ValueError(f"genesis balances hold {held}, expected supply minus genesis burns")
    for v in config.validators:
        acc = system.account.get(state, v.account)
        if acc.spendable < v.bond:
            raise ValueError("a validator's bond exceeds its spendable genesis balance")
        system.account.put(state, v.account, acc.replace(free=acc.free - v.bond, reserved=acc.reserved + v.bond))
    build_vesting_genesis(state, config.vesting, config.genesis_time_ms, config.month_seconds, config.year_seconds)
    session.validators.put(state, config.validators)
    session.queued.put(state, config.validators)  # epoch 1's set is the genesis set too
    for v in config.validators:
        session.key_owner.put(state, v.session_key, v.account)
    for p in config.params:
        params.value.put(state, p.name, p.value)
        params.bounds.put(state, p.name, (p.min, p.max))
        params.unit.put(state, p.name, p.unit)
        params.limits.put(state, p.name, (p.min, p.max))
        if p.track != "standard":
            params.track.put(state, p.name, params.TRACKS.index(p.track))
    commitments = dict(config.commitments)
    bonds_genesis.build(state, config.validators, config.epoch_slots, commitments)
    compute_genesis.build(state, config.models, config.mining_periods)
    treasury_genesis.build(state, config.milestones, config.burned_at_genesis)
    roles_genesis.build(state, config.representatives, config.institutions, config.institution_share_bps)
    roles_genesis.appoint(state, config.verifiers, config.oracles)
    consensus.build_genesis(state, config.epoch_slots, config.slot_ms, config.chain_spec_hash, config.commitments)
    system.genesis_supply.put(state, config.supply)
    system.total_issuance.put(state, config.supply - config.burned_at_genesis)
    system.total_burned.put(state, config.burned_at_genesis)
    system.genesis_time_ms.put(state, config.genesis_time_ms)
    system.timestamp_ms.put(state, config.genesis_time_ms)
    system.chain_spec_hash.put(state, config.chain_spec_hash)
    from .modules import RUNTIME  # the spec's own runtime (the modules import this one's types)

    write_genesis_versions(state, RUNTIME)
    backend.apply(state.changes())
    return backend.data
