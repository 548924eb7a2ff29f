"""The chain spec: a validated, typed view of a genesis JSON file. Amounts are base units, never floats."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the numpy-backed model code is the node's; the light client reads specs too
    from runtime.compute.model import ModelSpec


RELEASE_KINDS = ("liquid", "linear", "milestones", "module", "reserve")
CHECKPOINT_SYNTAX = "HASH@NUMBER (the block's 32-byte hash in hex, '@', its number)"
_CHECKPOINT_HASH_RE = re.compile(r"(?:0x)?([0-9a-fA-F]{64})")
DEFAULT_HASH_CHAIN_LENGTH = 1_048_576
"""Reveals in a validator's hash chain unless `consensus.hash_chain_length` says otherwise (2**20)."""
MIN_HASH_CHAIN_LENGTH = 16
MAX_HASH_CHAIN_LENGTH = 16_777_216
"""Bounds of `consensus.hash_chain_length` (2**4 .. 2**24 reveals)."""


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
    elided_amount: int = 0
    """Base units held by holders the spec does not list: they are in its genesis state file (`genesis_state`)."""
    elided_holders: int = 0


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
    models: tuple[ModelSpec, ...]
    """Models registered at genesis: the shipped reference models by name (`runtime.compute.reference`), or specs
    written out in the chain spec in their JSON form (`runtime.compute.model_json`)."""
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
class GenesisStateRef:
    """A chain spec's `genesis_state`: its genesis state as a file (`genesis.snapshot`), by hash and state root."""

    file: str
    """As written in the spec: a path relative to the spec's directory."""
    path: Path
    """Where it is read from (resolved against the spec's directory)."""
    hash: bytes
    """blake2b-256 of the whole file."""
    state_root: bytes
    records: int
    size: int
    """Bytes of the file."""

    def as_json(self) -> dict[str, object]:
        return {"file": self.file, "hash": "0x" + self.hash.hex(), "state_root": "0x" + self.state_root.hex(),
                "records": self.records, "bytes": self.size}


@dataclass(frozen=True)
class TrustedCheckpoint:
    """A block known out of band to be on the real chain (weak subjectivity). A node refuses every chain that
    does not contain it and never reverts below it, so validators that have since unbonded (or whose old keys
    leaked) cannot feed a syncing node a long-range fork. Not part of the genesis hash."""

    hash: bytes
    """32-byte block hash."""
    number: int
    """Block number, 1 or more."""

    def __str__(self) -> str:
        return f"0x{self.hash.hex()}@{self.number}"

    @classmethod
    def parse(cls, text: str) -> TrustedCheckpoint:
        """`0xHASH@NUMBER` (the 0x is optional); ValueError with a one-line reason otherwise."""
        hash_part, at, number_part = text.strip().partition("@")
        if not at:
            raise ValueError(f"{text!r} is not {CHECKPOINT_SYNTAX}")
        try:
            block_hash = parse_checkpoint_hash(hash_part)
        except ValueError as exc:
            raise ValueError(f"hash {exc}") from None
        try:
            number = parse_checkpoint_number(number_part)
        except ValueError as exc:
            raise ValueError(f"number {exc}") from None
        return cls(block_hash, number)


def parse_checkpoint_hash(text: str) -> bytes:
    m = _CHECKPOINT_HASH_RE.fullmatch(text.strip())
    if m is None:
        raise ValueError(f"{text!r} is not 64 hex digits (a 32-byte block hash, 0x optional)")
    return bytes.fromhex(m.group(1))


def parse_checkpoint_number(value: str | int) -> int:
    if type(value) is int:
        number: int | None = value
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        number = int(value)
    else:
        number = None
    if number is None:
        raise ValueError(f"{value!r} is not a block number")
    if not 1 <= number < 2**64:
        raise ValueError(f"{number} is out of range (1 to 2^64-1; block 0 is genesis itself)")
    return number


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
    checkpoint: TrustedCheckpoint | None = None
    spec_version: int = 11
    """The spec whose rules run the chain from genesis (`spec_version` in the file; absent: 11)."""
    """Optional trusted checkpoint (`--checkpoint` overrides it); left out of the genesis hash, so a later
    edition of the spec can add one without changing the chain."""
    genesis_state: GenesisStateRef | None = None
    """Set when the genesis state is in a file (`genesis_state`) and some holders are not listed (`elided`)."""

    def param(self, name: str) -> ParameterSpec:
        for p in self.parameters:
            if p.name == name:
                return p
        raise KeyError(name)
