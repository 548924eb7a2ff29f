"""The chain spec: a validated, typed view of a genesis JSON file. Amounts are base units, never floats."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

RELEASE_KINDS = ("liquid", "linear", "milestones", "module", "reserve")
DEFAULT_HASH_CHAIN_LENGTH = 1_048_576
"""Reveals in a validator's hash chain unless `consensus.hash_chain_length` says otherwise (2**20)."""


@dataclass(frozen=True)
class TokenSpec:
    symbol: str
    decimals: int
    total_supply: int
    """Base units."""


@dataclass(frozen=True)
class ConsensusSpec:
    slot_ms: int
    epoch_slots: int
    max_drift_ms: int
    """How far ahead of the local clock a block's slot may be."""
    hash_chain_length: int = DEFAULT_HASH_CHAIN_LENGTH
    """Reveals in each validator's hash chain: its commitment is the chain's end after this many steps."""


@dataclass(frozen=True)
class TimeSpec:
    month_seconds: int
    year_seconds: int


@dataclass(frozen=True)
class ReleaseRule:
    """How an allocation row is released. liquid: at genesis. linear: nothing before cliff, then linear over
    duration. milestones: governance-approved tranches, never above a linear cap over duration. module: held by
    a module account and spent by its module. reserve: locked until an emergency referendum."""

    kind: str
    cliff_months: int = 0
    duration_months: int = 0


@dataclass(frozen=True)
class Holder:
    account: bytes
    """32-byte account id."""
    amount: int
    """Base units."""
    label: str
    """As written in the file: an address, a dev name or 'module:NAME'."""


@dataclass(frozen=True)
class AllocationRow:
    index: int
    category: str
    percent_ppm: int
    """Share of total supply in parts per million (10% = 100_000)."""
    amount: int
    release: ReleaseRule
    holders: tuple[Holder, ...]


@dataclass(frozen=True)
class ValidatorSpec:
    account: bytes
    session_key: bytes
    """ed25519 public key that signs blocks and votes (the account key unless given)."""
    bond: int
    """Base units, reserved from the account's genesis balance."""
    payee: bytes
    """Receives the author's share of fees (the account itself unless given)."""
    hash_chain_commitment: bytes
    """End of the session key's hash chain (32 bytes): the validator's first block reveals its preimage.
    Derived for dev session keys, given in the file otherwise (`btt-chain key inspect KEY --hash-chain`)."""


@dataclass(frozen=True)
class ParameterSpec:
    name: str
    value: int
    min: int
    max: int
    unit: str
    """'btt' (value in base units), 'bps' (basis points of 10,000) or 'count'."""
    track: str = "standard"
    """'standard': any referendum changes the value; 'emergency': only the emergency track (the seed's figures)."""


@dataclass(frozen=True)
class MilestoneBurn:
    name: str
    amount: int
    at_genesis: bool


@dataclass(frozen=True)
class PublishedRelease:
    label: str
    cumulative_percent: int


@dataclass(frozen=True)
class MiningPeriod:
    """One period of the mining pool's emission schedule: `amount` base units spread over `years`."""

    years: int
    amount: int
    """Base units."""


@dataclass(frozen=True)
class ComputeSpec:
    models: tuple[str, ...]
    """Reference models (names in `runtime.compute.model.REFERENCE_MODELS`) registered at genesis."""
    mining_periods: tuple[MiningPeriod, ...]
    """The mining pool's emission schedule, in order; the amounts sum to the pool's genesis holding."""


@dataclass(frozen=True)
class GovernanceSpec:
    """Genesis data of the governance houses (TOKENOMICS.md, Governance)."""

    institution_rows: tuple[int, ...]
    """Allocation row indices whose holders are the founding institutions."""
    institutions: tuple[Holder, ...]
    """The holders of those rows, module accounts left out: each votes with its allocation as weight."""
    institution_share_percent: tuple[int, ...]
    """Progressive decentralisation: the institutions' share by year (year 1 first, never rising); the last
    entry holds for every later year."""
    representatives: tuple[bytes, ...]
    """The community representatives at genesis (one account, one vote; changed by referendum)."""
    verifiers: tuple[bytes, ...] = ()
    """Asset verifiers appointed at genesis."""
    oracles: tuple[tuple[str, bytes], ...] = ()
    """Health oracles appointed at genesis, as (activity, account)."""


@dataclass(frozen=True)
class ChainSpec:
    id: str
    name: str
    chain_type: str
    """'dev', 'local' or 'live'. Dev names (alice, bob...) are accepted only on 'dev' and 'local'."""
    ss58_prefix: int
    genesis_time_ms: int
    """0 in a preset means: set when the spec is materialised (first node start, devnet)."""
    token: TokenSpec
    consensus: ConsensusSpec
    time: TimeSpec
    allocations: tuple[AllocationRow, ...]
    validators: tuple[ValidatorSpec, ...]
    parameters: tuple[ParameterSpec, ...]
    milestone_burns: tuple[MilestoneBurn, ...]
    """Burned from the Foundation allocation: at genesis, or once each by a governance referendum."""
    published_release: tuple[PublishedRelease, ...]
    compute: ComputeSpec
    governance: GovernanceSpec
    raw: dict[str, Any] = field(compare=False, repr=False)
    """The JSON document as loaded, for writing back and hashing."""

    def param(self, name: str) -> ParameterSpec:
        for p in self.parameters:
            if p.name == name:
                return p
        raise KeyError(name)
