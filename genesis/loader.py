"""Load and validate chain specs (genesis JSON files and the built-in presets).

`load_chain_spec` reads a preset by name or a JSON file by path; `parse_chain_spec` checks a decoded document
and turns it into a `ChainSpec`. Validation collects every problem and raises one `GenesisError` whose message
has one line per problem, each starting with the JSON path of the offending value (for example
`allocations[3].percent: ...`). Amounts are decimal BTT strings or whole-BTT integers, parsed exactly into base
units; JSON floats are rejected everywhere.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections import OrderedDict
from pathlib import Path
from typing import Any

from btt_chain.primitives.accounts import MODULE_ACCOUNTS, module_account, multisig_account
from btt_chain.primitives.address import decode_address
from btt_chain.primitives.amounts import format_btt, parse_btt
from btt_chain.primitives.errors import ConfigError, GenesisError
from btt_chain.primitives.hash_chain import hash_chain_for
from btt_chain.primitives.keys import DEV_NAMES, dev_keypair, is_dev_name
from genesis.commitments import inspect_hint
from genesis.spec import (
    DEFAULT_HASH_CHAIN_LENGTH,
    MAX_HASH_CHAIN_LENGTH,
    MIN_HASH_CHAIN_LENGTH,
    RELEASE_KINDS,
    AllocationRow,
    ChainSpec,
    ComputeSpec,
    ConsensusSpec,
    GenesisStateRef,
    GovernanceSpec,
    Holder,
    MilestoneBurn,
    MiningPeriod,
    ParameterSpec,
    PublishedRelease,
    ReleaseRule,
    TimeSpec,
    TokenSpec,
    TrustedCheckpoint,
    ValidatorSpec,
    parse_checkpoint_hash,
    parse_checkpoint_number,
)
from runtime.assets import params as assets_params
from runtime.compute import params as compute_params
from runtime.compute.model import ModelSpec
from runtime.compute.model_json import spec_from_json
from runtime.compute.reference import reference_names, reference_spec
from runtime.governance import params as governance_params
from runtime.incentives import params as incentives_params
from runtime.params.groups import SHARE_GROUPS as RUNTIME_SHARE_GROUPS
from runtime.params.migrations import ADDED_IN
from runtime.params.storage import TRACKS
from runtime.payments import params as payments_params
from runtime.proxy import logic as proxy_logic
from runtime.roles.types import ACTIVITIES, MAX_REPRESENTATIVES, MAX_SCHEDULE_YEARS
from runtime.specs import FIRST_RECORDED, supported
from runtime.utility import logic as utility_logic

PRESETS = ("dev", "btt-21m", "btt-210m")
"""Built-in chain specs, in `genesis/presets/NAME.json`."""
PRESET_DIR = Path(__file__).parent / "presets"

CHAIN_TYPES = ("dev", "local", "live")
DEV_CHAIN_TYPES = ("dev", "local")
PARAMETER_UNITS = ("btt", "bps", "count")
BPS_DENOMINATOR = 10_000
PPM_PER_PERCENT = 10_000
PPM_TOTAL = 100 * PPM_PER_PERCENT
MAX_DECIMALS = 18
MAX_MONTHS = 1200
U64_MAX = 2**64 - 1
MODULE_PREFIX = "module:"
MULTISIG_PREFIX = "multisig:"
"""`multisig:THRESHOLD:ADDR1,ADDR2,...`: the keyless account of a THRESHOLD-of-N multisig."""
MAX_MULTISIG_SIGNATORIES = 100
FOUNDATION_ACCOUNT = "foundation"
RESERVE_ACCOUNT = "strategic_reserve"
MINING_POOL_ACCOUNT = "mining_pool"
MAX_YEARS = MAX_MONTHS // 12
"""The longest mining period."""


def added_after(spec: int) -> frozenset[str]:
    """The parameters a spec later than `spec` added (the migration to that spec writes them to a running chain)."""
    return frozenset(name for later, added in ADDED_IN.items() if later > spec for name in added)


def as_of_spec(doc: dict[str, Any], spec: int) -> dict[str, Any]:
    """A copy of chain-spec document `doc` (a preset's, say) as a chain born at `spec` has it: no `spec_version` for
    spec 11 (every chain born before specs were recorded), else that one; and none of the parameters later specs
    added, which its release never listed (they are part of the spec hash every chain's randomness starts from)."""
    out = dict(doc)
    if spec == FIRST_RECORDED:
        out.pop("spec_version", None)
    else:
        out["spec_version"] = spec
    later = added_after(spec)
    if later and isinstance(out.get("parameters"), dict):
        out["parameters"] = {k: v for k, v in out["parameters"].items() if k not in later}
    return out

_COMPUTE_UNITS = {
    compute_params.MIN_PROVIDER_BOND: "btt",
    compute_params.FRAUD_SLASH: "btt",
    compute_params.WITHHELD_SLASH: "btt",
    compute_params.MAX_MISSED_PER_EPOCH: "btt",
    compute_params.MISSED_ASSIGNMENT_FEE: "btt",
    compute_params.MODEL_DEPOSIT_BASE: "btt",
    compute_params.MODEL_DEPOSIT_PER_KIB: "btt",
    compute_params.MIN_ASSIGNMENT_HOLD: "btt",
    compute_params.PLACE_RENT: "btt",
    compute_params.PLACE_RENT_DOUBLING: "bps",
    compute_params.RECORD_WEIGHT: "bps",
    compute_params.MISSED_FEE: "bps",
    compute_params.MAX_OPEN_SHARE: "bps",
    compute_params.MAX_OWNER_MODELS_SHARE: "bps",
    compute_params.REWARD_CAP: "bps",
    compute_params.PAYMENT_BURN: "bps",
    compute_params.PROVIDER_SHARE: "bps",
    compute_params.DEVELOPMENT_SHARE: "bps",
    compute_params.FOUNDATION_SHARE: "bps",
    compute_params.RESERVE_SHARE: "bps",
}
"""Units of the compute and consensus parameters that are not counts. The region and energy factors are
'count': they go above 10,000 (a 'bps' value is capped at 10,000), like staking.governance_multiplier_bps."""

GOVERNANCE_HOUSE_WEIGHTS = tuple(governance_params.house_weight(h) for h in governance_params.HOUSES)
_GOVERNANCE_UNITS = {
    governance_params.MIN_DEPOSIT: "btt",
    governance_params.EMERGENCY_DEPOSIT: "btt",
    governance_params.THRESHOLD: "bps",
    governance_params.EMERGENCY_THRESHOLD: "bps",
    governance_params.QUORUM: "bps",
    governance_params.SPAM_THRESHOLD: "bps",
    governance_params.HOUSE_TURNOUT_FLOOR: "bps",
    governance_params.HOUSE_MIN_OTHER_AYE: "bps",
    **{name: "bps" for name in GOVERNANCE_HOUSE_WEIGHTS},
}
"""Units of the governance parameters that are not counts (periods and delays are milliseconds: counts)."""

REQUIRED_PARAMETERS = {
    "balances.existential_deposit": "btt",
    "fees.base": "btt",
    "fees.per_byte": "btt",
    "fees.per_weight": "btt",
    "fees.author_bps": "bps",
    "fees.stakers_bps": "bps",
    "fees.development_bps": "bps",
    "block.max_weight": "count",
    "block.max_bytes": "count",
    "block.max_extrinsics": "count",
    **{name: _COMPUTE_UNITS.get(name, "count") for name in compute_params.ALL},
    **{name: _GOVERNANCE_UNITS.get(name, "count") for name in governance_params.ALL},
    **{name: "bps" for name in assets_params.ALL},
    **{name: "bps" for name in payments_params.ALL},
    incentives_params.REDEEM_RATE: "btt",
    incentives_params.REDEEM_CAP: "btt",
    utility_logic.MAX_CALLS_PARAM: "count",
    proxy_logic.DEPOSIT_BASE_PARAM: "btt",
    proxy_logic.DEPOSIT_FACTOR_PARAM: "btt",
    proxy_logic.MAX_PROXIES_PARAM: "count",
    **{incentives_params.points(a): "count" for a in ACTIVITIES},
}
"""Every chain spec must set these parameters, with these units (the compute marketplace's and
consensus.work_window_epochs among them: `runtime.compute.params.ALL`; governance's:
`runtime.governance.params.ALL`)."""

SHARE_GROUPS = RUNTIME_SHARE_GROUPS
"""Parameters that split one flow: their values must add up to 10,000 bps. Every member is a required
parameter, so a group is checked once all of its members are present with unit 'bps'."""

PARAMETER_TRACKS = TRACKS
"""A parameter's `track`: who may change it (absent: standard)."""

FLOAT_MESSAGE = 'floats are not allowed: write amounts as strings, e.g. "12.5"'

_ID_RE = re.compile(r"[a-z0-9-]+")
_NAME_RE = re.compile(r"[a-z0-9_]+")
_PARAM_RE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)+")
_PERCENT_RE = re.compile(r"(\d+)(?:\.(\d+))?")
_HEX_RE = re.compile(r"(?:0x)?([0-9a-fA-F]{64})")
_COMMITMENT_RE = re.compile(r"0x([0-9a-fA-F]{64})")

_TOP_REQUIRED = (
    "id",
    "name",
    "chain_type",
    "ss58_prefix",
    "genesis_time_ms",
    "token",
    "consensus",
    "time",
    "allocations",
    "validators",
    "parameters",
    "compute",
    "governance",
)
_TOP_OPTIONAL = ("description", "milestone_burns", "published_release", "checkpoint", "spec_version", "genesis_state")
NOT_GENESIS = ("checkpoint",)
"""Top-level fields that do not define genesis: left out of the spec hash that genesis state records."""


# ----------------------------------------------------------------------------------------------- public API


def load_chain_spec(source: str | Path) -> ChainSpec:
    """Load a preset (`dev`, `btt-21m`, `btt-210m`) or a chain-spec JSON file and validate it. A file read before
    with the same bytes gives the spec parsed then (a node reads its spec in several places, and a spec of a million
    accounts takes seconds to parse): the spec is frozen, its `raw` document only ever read or copied."""
    path, label = _resolve_source(source)
    text = _read_text(path, label)
    # the specs this process runs are part of the key: a spec parsed before `--max-spec` limited them is checked again
    key = (label, hashlib.blake2b(text.encode(), digest_size=16).digest(), supported())
    spec = _LOADED.get(key)
    if spec is None:
        spec = _LOADED[key] = parse_chain_spec(_parse_json(text, label), label, own=True)
        while len(_LOADED) > LOADED_SPECS:
            _LOADED.popitem(last=False)
    _LOADED.move_to_end(key)
    return spec


LOADED_SPECS = 4
_LOADED: OrderedDict[tuple[str, bytes, tuple[int, ...]], ChainSpec] = OrderedDict()


def load_chain_spec_doc(source: str | Path) -> dict[str, Any]:
    """The raw JSON document of a preset or file, not validated (for `materialise` and writing back)."""
    path, label = _resolve_source(source)
    doc = _read_json(path, label)
    if not isinstance(doc, dict):
        raise GenesisError(f"{label}: a chain spec must be a JSON object, got {_type_name(doc)}")
    return doc


def preset_path(name: str) -> Path:
    """The file of a built-in preset; GenesisError for an unknown name."""
    if name not in PRESETS:
        raise GenesisError(f"unknown chain preset {name!r}; known presets: {', '.join(PRESETS)}")
    return PRESET_DIR / f"{name}.json"


def parse_chain_spec(doc: dict, source: str = "<spec>", own: bool = False) -> ChainSpec:
    """Validate a decoded chain-spec document and convert it; GenesisError listing every problem. The spec keeps a
    copy of `doc` as its `raw` document, or `doc` itself when the caller gives it up (`own`)."""
    if not isinstance(doc, dict):
        raise GenesisError(f"{source}: a chain spec must be a JSON object, got {_type_name(doc)}")
    path = Path(source)
    spec = _Parser(doc, own, path.parent if path.is_file() else Path(".")).parse()
    if isinstance(spec, list):
        err = GenesisError("\n".join(spec))
        err.problems = tuple(spec)  # type: ignore[attr-defined]
        err.source = source  # type: ignore[attr-defined]
        raise err
    return spec


def dev_hash_chain_commitment(name: str, length: int = DEFAULT_HASH_CHAIN_LENGTH) -> bytes:
    """The hash-chain commitment of dev key `name` (alice, bob//stash...): what the loader derives for a dev
    validator that gives none. Built once per process (`hash_chain_for` caches the chain for the node)."""
    return hash_chain_for(dev_keypair(name).seed, length).commitment


def genesis_document(doc: dict) -> dict:
    """The part of a chain-spec document that defines genesis (what its hash covers): all but `NOT_GENESIS`."""
    return {k: v for k, v in doc.items() if k not in NOT_GENESIS}


def canonical_json(doc: dict) -> bytes:
    """The canonical encoding of a chain-spec document, for hashing: sorted keys, no spaces, UTF-8."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def materialise(spec_doc: dict, genesis_time_ms: int) -> dict:
    """A copy of `spec_doc` with `genesis_time_ms` set (a preset's 0 means: fixed at first start)."""
    if type(genesis_time_ms) is not int or not 0 <= genesis_time_ms <= U64_MAX:
        raise GenesisError(f"genesis_time_ms: expected a non-negative integer, got {genesis_time_ms!r}")
    out = copy.deepcopy(spec_doc)
    out["genesis_time_ms"] = genesis_time_ms
    return out


# ----------------------------------------------------------------------------------------------- loading


def _resolve_source(source: str | Path) -> tuple[Path, str]:
    known = f"known presets: {', '.join(PRESETS)}"
    if isinstance(source, str) and source in PRESETS:
        return PRESET_DIR / f"{source}.json", source
    if not isinstance(source, (str, Path)) or str(source) == "":
        raise GenesisError(f"no chain spec given; pass a preset name or a JSON file ({known})")
    path = Path(source)
    if path.is_file():
        return path, str(path)
    if path.exists():
        raise GenesisError(f"chain spec {str(path)!r} is not a file ({known})")
    text = str(source)
    if isinstance(source, str) and "/" not in text and "\\" not in text and not text.endswith(".json"):
        raise GenesisError(f"unknown chain spec {text!r}: not a preset and no such file ({known})")
    raise GenesisError(f"chain spec file not found: {text} ({known})")


def _read_json(path: Path, label: str) -> Any:
    return _parse_json(_read_text(path, label), label)


def _read_text(path: Path, label: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise GenesisError(f"chain spec file not found: {label}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise GenesisError(f"cannot read chain spec {label}: {exc}") from None


def _parse_json(text: str, label: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise GenesisError(f"{label}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except ValueError as exc:
        raise GenesisError(f"{label}: {exc}") from None
    except RecursionError:  # brackets nested deeper than the JSON parser goes
        raise GenesisError(f"{label}: not valid JSON: nested too deeply") from None


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r} in a JSON object")
        out[key] = value
    return out


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in a chain spec")


# ----------------------------------------------------------------------------------------------- helpers


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def format_percent(ppm: int) -> str:
    """Parts per million as a percent string: 100_000 -> '10', 125_000 -> '12.5'."""
    whole, frac = divmod(ppm, PPM_PER_PERCENT)
    if not frac:
        return str(whole)
    return f"{whole}.{str(frac).rjust(4, '0').rstrip('0')}"


class _Missing:
    pass


_MISSING = _Missing()


class _Parser:
    """One validation pass over a document; problems accumulate in `self.problems`."""

    def __init__(self, doc: dict, own: bool = False, base_dir: Path = Path(".")) -> None:
        self.doc = doc
        self.base_dir = base_dir
        """What a `genesis_state.file` is relative to: the spec file's directory."""
        self.genesis_state: GenesisStateRef | None = None
        self.own = own
        """Whether the spec may keep `doc` itself as its raw document (no copy)."""
        self.problems: list[str] = []
        self.decimals = MAX_DECIMALS
        self.chain_type: str | None = None
        self.ss58_prefix: int | None = None
        self.hash_chain_length: int | None = DEFAULT_HASH_CHAIN_LENGTH
        """None when `consensus.hash_chain_length` is invalid (reported there): no commitment is derived then."""

    # -- reporting and primitive checks

    def err(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}" if path else message)

    def wrong(self, path: str, expected: str, value: Any) -> None:
        """A wrong-type problem: 'expected X, got Y' (floats get their own message)."""
        if isinstance(value, float):
            self.err(path, f"floats are not allowed: expected {expected}")
        else:
            self.err(path, f"expected {expected}, got {_type_name(value)}")

    def obj(self, value: Any, path: str, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict | None:
        """Check an object's type and field names; returns it (possibly incomplete) or None if not an object."""
        if not isinstance(value, dict):
            self.wrong(path or "chain spec", "an object", value)
            return None
        allowed = required + optional
        for key in value:
            if key not in allowed:
                self.err(_join(path, str(key)), f"unknown field {key!r} (allowed: {', '.join(allowed)})")
        for key in required:
            if key not in value:
                self.err(_join(path, key), "missing required field")
        return value

    def get(self, obj: dict | None, key: str) -> Any:
        if obj is None or key not in obj:
            return _MISSING
        return obj[key]

    def int_(self, value: Any, path: str, lo: int = 0, hi: int = U64_MAX) -> int | None:
        if value is _MISSING:
            return None
        if type(value) is not int:
            self.wrong(path, "an integer", value)
            return None
        if not lo <= value <= hi:
            if hi == U64_MAX:
                self.err(path, f"must be at least {lo}, got {value}" if value < lo else f"is too large: {value}")
            else:
                self.err(path, f"must be between {lo} and {hi}, got {value}")
            return None
        return value

    def str_(self, value: Any, path: str, pattern: re.Pattern[str] | None = None, what: str = "") -> str | None:
        if value is _MISSING:
            return None
        if not isinstance(value, str):
            self.wrong(path, "a string", value)
            return None
        if not value.strip():
            self.err(path, "must not be empty")
            return None
        if pattern is not None and not pattern.fullmatch(value):
            self.err(path, f"{value!r} is not valid: {what}")
            return None
        return value

    def bool_(self, value: Any, path: str) -> bool | None:
        if value is _MISSING:
            return None
        if not isinstance(value, bool):
            self.wrong(path, "true or false", value)
            return None
        return value

    def list_(self, value: Any, path: str, nonempty: bool = False) -> list | None:
        if value is _MISSING:
            return None
        if not isinstance(value, list):
            self.wrong(path, "an array", value)
            return None
        if nonempty and not value:
            self.err(path, "must not be empty")
            return None
        return value

    def amount(self, value: Any, path: str, positive: bool = False) -> int | None:
        """A decimal BTT string or a whole-BTT integer, as base units."""
        if value is _MISSING:
            return None
        if isinstance(value, float):
            self.err(path, FLOAT_MESSAGE)
            return None
        if type(value) is int:
            if value < 0:
                self.err(path, f"negative amounts are not allowed, got {value}")
                return None
            text = str(value)
        elif isinstance(value, str):
            text = value.strip()
            if text.startswith("-"):
                self.err(path, f"negative amounts are not allowed, got {value!r}")
                return None
            if not text.isascii():
                self.err(path, f"{value!r} is not an amount: use digits with an optional decimal point, e.g. 12.5")
                return None
        else:
            self.wrong(path, 'an amount (a decimal string such as "12.5" or an integer)', value)
            return None
        try:
            units = parse_btt(text, self.decimals)
        except ConfigError as exc:
            self.err(path, str(exc))
            return None
        if positive and units == 0:
            self.err(path, "must be more than 0")
            return None
        return units

    def percent(self, value: Any, path: str) -> int | None:
        """A percent (decimal string or integer, at most 4 decimals) as parts per million, 0 < p <= 100."""
        if value is _MISSING:
            return None
        if isinstance(value, float):
            self.err(path, 'floats are not allowed: write percentages as strings or integers, e.g. "12.5"')
            return None
        if type(value) is int:
            text = str(value)
        elif isinstance(value, str):
            text = value.strip()
        else:
            self.wrong(path, 'a percent (an integer or a decimal string such as "12.5")', value)
            return None
        m = _PERCENT_RE.fullmatch(text) if text.isascii() else None
        if m is None:
            self.err(path, f"{value!r} is not a percent: use digits with an optional decimal point, e.g. 12.5")
            return None
        frac = m.group(2) or ""
        if len(frac) > 4:
            self.err(path, f"{value!r} has {len(frac)} decimals; a percent has at most 4")
            return None
        ppm = int(m.group(1)) * PPM_PER_PERCENT + int(frac.ljust(4, "0"))
        if not 0 < ppm <= PPM_TOTAL:
            self.err(path, f"must be more than 0% and at most 100%, got {value!r}")
            return None
        return ppm

    def fmt(self, units: int) -> str:
        return format_btt(units, self.decimals)

    def account(self, value: Any, path: str, allow_module: bool = True) -> tuple[bytes, str] | None:
        """An SS58 address, a dev name (dev and local chains) or module:NAME, as (account id, label)."""
        if value is _MISSING:
            return None
        if not isinstance(value, str):
            self.wrong(path, "an account (an address, a dev name or module:NAME)", value)
            return None
        if value.startswith(MULTISIG_PREFIX):
            return self.multisig(value, path, allow_module)
        if value.startswith(MODULE_PREFIX):
            if not allow_module:
                self.err(path, f"{value!r} is a module account: it has no key and cannot be used here")
                return None
            name = value[len(MODULE_PREFIX) :]
            if name not in MODULE_ACCOUNTS:
                self.err(path, f"unknown module account {name!r}; known: {', '.join(MODULE_ACCOUNTS)}")
                return None
            return module_account(name), value
        if is_dev_name(value):
            if self.chain_type == "live":
                self.err(
                    path,
                    f"dev account {value!r} is allowed only on dev and local chains (this chain is live); "
                    "use an address",
                )
                return None
            return dev_keypair(value).public, value
        try:
            return decode_address(value, self.ss58_prefix), value
        except ConfigError as exc:
            reason = str(exc) if repr(value) in str(exc) else f"{value!r} is not an address: {exc}"
            self.err(path, f"{reason} (expected an SS58 address, a dev name ({', '.join(DEV_NAMES)}) or module:NAME)")
            return None

    def multisig(self, value: str, path: str, allow_keyless: bool) -> tuple[bytes, str] | None:
        """`multisig:THRESHOLD:A,B,...` (addresses, or dev names on dev chains) as its derived account."""
        if not allow_keyless:
            self.err(path, f"{value!r} is a multisig account: it has no key and cannot be used here")
            return None
        _, _, rest = value.partition(MULTISIG_PREFIX)
        threshold_text, sep, members_text = rest.partition(":")
        members = [m.strip() for m in members_text.split(",")] if sep else []
        if not (threshold_text.isascii() and threshold_text.isdigit()) or not members or any(not m for m in members):
            self.err(path, f"{value!r} is not a multisig: write multisig:THRESHOLD:ADDR1,ADDR2,...")
            return None
        threshold = int(threshold_text)
        if not 2 <= threshold <= len(members) <= MAX_MULTISIG_SIGNATORIES:
            self.err(
                path,
                f"multisig threshold {threshold} with {len(members)} signatories: need 2 <= threshold <= "
                f"signatories <= {MAX_MULTISIG_SIGNATORIES}",
            )
            return None
        ids: list[bytes] = []
        for m in members:
            resolved = self.account(m, f"{path} (signatory {m!r})", allow_module=False)
            if resolved is None:
                return None
            if resolved[0] in ids:
                self.err(path, f"multisig signatory {m!r} is listed twice")
                return None
            ids.append(resolved[0])
        return multisig_account(ids, threshold), value

    # -- the document

    def parse(self) -> ChainSpec | list[str]:
        doc = self.obj(self.doc, "", _TOP_REQUIRED, _TOP_OPTIONAL)
        assert doc is not None
        g = self.get
        self.str_(g(doc, "description"), "description")
        spec_id = self.str_(g(doc, "id"), "id", _ID_RE, "use lowercase letters, digits and '-'")
        name = self.str_(g(doc, "name"), "name")
        chain_type = self.str_(g(doc, "chain_type"), "chain_type")
        if chain_type is not None and chain_type not in CHAIN_TYPES:
            self.err("chain_type", f"must be one of {', '.join(CHAIN_TYPES)}, got {chain_type!r}")
            chain_type = None
        self.chain_type = chain_type
        self.ss58_prefix = self.int_(g(doc, "ss58_prefix"), "ss58_prefix", 0, 63)
        genesis_time_ms = self.int_(g(doc, "genesis_time_ms"), "genesis_time_ms")
        self.genesis_state = self.snapshot(g(doc, "genesis_state"), genesis_time_ms)
        token = self.token(g(doc, "token"))
        consensus = self.consensus(g(doc, "consensus"))
        time = self.time(g(doc, "time"))
        supply = token.total_supply if token is not None else None
        allocations, liquid, foundation = self.allocations(g(doc, "allocations"), supply)
        validators = self.validators(g(doc, "validators"), liquid)
        spec_version = self.spec_version(doc.get("spec_version", FIRST_RECORDED))
        parameters = self.parameters(g(doc, "parameters"), spec_version or FIRST_RECORDED)
        compute = self.compute(g(doc, "compute"), allocations, time)
        burns = self.burns(g(doc, "milestone_burns"), foundation)
        published = self.published(g(doc, "published_release"))
        governance = self.governance(g(doc, "governance"), allocations)
        checkpoint = self.checkpoint(g(doc, "checkpoint"))
        if self.problems:
            return self.problems
        assert spec_id is not None and name is not None and chain_type is not None
        assert self.ss58_prefix is not None and genesis_time_ms is not None
        assert token is not None and consensus is not None and time is not None
        assert allocations is not None and validators is not None and parameters is not None
        assert burns is not None and published is not None and compute is not None and governance is not None
        return ChainSpec(
            id=spec_id,
            name=name,
            chain_type=chain_type,
            ss58_prefix=self.ss58_prefix,
            genesis_time_ms=genesis_time_ms,
            token=token,
            consensus=consensus,
            time=time,
            allocations=allocations,
            validators=validators,
            parameters=parameters,
            milestone_burns=burns,
            published_release=published,
            compute=compute,
            governance=governance,
            raw=self.doc if self.own else copy.deepcopy(self.doc),
            checkpoint=checkpoint,
            spec_version=spec_version or FIRST_RECORDED,
            genesis_state=self.genesis_state,
        )

    def spec_version(self, value: Any) -> int | None:
        """The spec whose rules run the chain from genesis: absent for 11, the spec of every chain launched before
        specs were recorded (so such a chain's file keeps its genesis); one this release runs."""
        spec = self.int_(value, "spec_version", 0, 2**32 - 1)
        if spec is not None and spec not in supported():
            self.err("spec_version", f"this release runs specs {', '.join(map(str, supported()))}, not {spec}")
            return None
        return spec

    def token(self, value: Any) -> TokenSpec | None:
        if value is _MISSING:
            return None
        o = self.obj(value, "token", ("symbol", "decimals", "total_supply"))
        if o is None:
            return None
        symbol = self.str_(self.get(o, "symbol"), "token.symbol")
        decimals = self.int_(self.get(o, "decimals"), "token.decimals", 0, MAX_DECIMALS)
        if decimals is not None:
            self.decimals = decimals
        supply = self.amount(self.get(o, "total_supply"), "token.total_supply", positive=True)
        if symbol is None or decimals is None or supply is None:
            return None
        return TokenSpec(symbol=symbol, decimals=decimals, total_supply=supply)

    def consensus(self, value: Any) -> ConsensusSpec | None:
        if value is _MISSING:
            return None
        o = self.obj(value, "consensus", ("slot_ms", "epoch_slots", "max_drift_ms"), ("hash_chain_length",))
        if o is None:
            self.hash_chain_length = None
            return None
        slot_ms = self.int_(self.get(o, "slot_ms"), "consensus.slot_ms", lo=100)
        epoch_slots = self.int_(self.get(o, "epoch_slots"), "consensus.epoch_slots", lo=1)
        drift = self.int_(self.get(o, "max_drift_ms"), "consensus.max_drift_ms")
        self.hash_chain_length = self.int_(
            o.get("hash_chain_length", DEFAULT_HASH_CHAIN_LENGTH),
            "consensus.hash_chain_length",
            MIN_HASH_CHAIN_LENGTH,
            MAX_HASH_CHAIN_LENGTH,
        )
        if slot_ms is None or epoch_slots is None or drift is None or self.hash_chain_length is None:
            return None
        return ConsensusSpec(
            slot_ms=slot_ms, epoch_slots=epoch_slots, max_drift_ms=drift, hash_chain_length=self.hash_chain_length
        )

    def time(self, value: Any) -> TimeSpec | None:
        if value is _MISSING:
            return None
        o = self.obj(value, "time", ("month_seconds", "year_seconds"))
        if o is None:
            return None
        month = self.int_(self.get(o, "month_seconds"), "time.month_seconds", lo=1)
        year = self.int_(self.get(o, "year_seconds"), "time.year_seconds", lo=1)
        if month is None or year is None:
            return None
        return TimeSpec(month_seconds=month, year_seconds=year)

    # -- allocations

    def release(self, value: Any, path: str) -> ReleaseRule | None:
        if value is _MISSING:
            return None
        o = self.obj(value, path, ("kind",), ("cliff_months", "duration_months"))
        if o is None:
            return None
        kind = self.str_(self.get(o, "kind"), f"{path}.kind")
        if kind is not None and kind not in RELEASE_KINDS:
            self.err(f"{path}.kind", f"must be one of {', '.join(RELEASE_KINDS)}, got {kind!r}")
            kind = None
        cliff = self.int_(o.get("cliff_months", 0), f"{path}.cliff_months", 0, MAX_MONTHS)
        duration = self.int_(o.get("duration_months", 0), f"{path}.duration_months", 0, MAX_MONTHS)
        if kind is None or cliff is None or duration is None:
            return None
        if kind in ("linear", "milestones") and duration == 0:
            self.err(f"{path}.duration_months", f"a {kind!r} release needs duration_months > 0")
            return None
        if kind in ("liquid", "module", "reserve") and (cliff or duration):
            self.err(path, f"a {kind!r} release has no schedule: cliff_months and duration_months must be 0")
            return None
        return ReleaseRule(kind=kind, cliff_months=cliff, duration_months=duration)

    def allocations(
        self, value: Any, supply: int | None
    ) -> tuple[tuple[AllocationRow, ...] | None, dict[bytes, int] | None, int | None]:
        """The rows, plus (when every row parsed) the liquid holding per account and the Foundation's holding
        (0 when no row is held by module:foundation)."""
        rows_in = self.list_(value, "allocations", nonempty=True)
        if rows_in is None:
            return None, None, None
        rows: list[AllocationRow] = []
        complete = True
        seen_accounts: dict[bytes, str] = {}
        index_at: dict[int, int] = {}
        ppms: list[int | None] = []
        amounts: list[int | None] = []
        n = len(rows_in)
        for i, raw in enumerate(rows_in):
            path = f"allocations[{i}]"
            o = self.obj(raw, path, ("index", "category", "percent", "amount", "release", "holders"),
                         ("note", "elided"))
            if o is None:
                complete = False
                ppms.append(None)
                amounts.append(None)
                continue
            g = self.get
            self.str_(g(o, "note"), f"{path}.note")
            index = self.int_(g(o, "index"), f"{path}.index", 1, max(n, 1))
            if index is not None:
                if index in index_at:
                    self.err(f"{path}.index", f"index {index} is already used by allocations[{index_at[index]}]")
                    index = None
                else:
                    index_at[index] = i
            category = self.str_(g(o, "category"), f"{path}.category")
            ppm = self.percent(g(o, "percent"), f"{path}.percent")
            amount = self.amount(g(o, "amount"), f"{path}.amount", positive=True)
            ppms.append(ppm)
            amounts.append(amount)
            if ppm is not None and amount is not None and supply is not None:
                expected, rest = divmod(ppm * supply, PPM_TOTAL)
                if rest:
                    self.err(
                        f"{path}.percent",
                        f"{format_percent(ppm)}% of the total supply {self.fmt(supply)} BTT "
                        "is not a whole number of base units",
                    )
                elif expected != amount:
                    self.err(
                        f"{path}.amount",
                        f"{self.fmt(amount)} BTT is not {format_percent(ppm)}% of the total supply "
                        f"{self.fmt(supply)} BTT (that is {self.fmt(expected)} BTT)",
                    )
            release = self.release(g(o, "release"), f"{path}.release")
            elided = self.elided(g(o, "elided"), f"{path}.elided", release)
            holders = self.holders(g(o, "holders"), f"{path}.holders", seen_accounts, nonempty=elided == (0, 0))
            if holders is not None and amount is not None and elided is not None:
                total = sum(h.amount for h in holders) + elided[1]
                if total != amount:
                    diff = abs(total - amount)
                    side = "short of" if total < amount else "over"
                    self.err(
                        f"{path}.holders",
                        f"holder amounts sum to {self.fmt(total)} BTT, {self.fmt(diff)} BTT {side} "
                        f"the row amount {self.fmt(amount)} BTT",
                    )
            if holders is not None and release is not None:
                self.check_holder_kinds(holders, release, f"{path}.holders")
            if (index is None or category is None or ppm is None or amount is None or release is None or holders is None
                    or elided is None):
                complete = False
                continue
            rows.append(AllocationRow(index, category, ppm, amount, release, holders, elided[1], elided[0]))
        if all(p is not None for p in ppms):
            total_ppm = sum(p for p in ppms if p is not None)
            if total_ppm != PPM_TOTAL:
                pct_diff = format_percent(abs(PPM_TOTAL - total_ppm))
                side = "short of" if total_ppm < PPM_TOTAL else "over"
                self.err("allocations", f"percentages sum to {format_percent(total_ppm)}%, {pct_diff}% {side} 100%")
        if supply is not None and all(a is not None for a in amounts):
            total = sum(a for a in amounts if a is not None)
            if total != supply:
                amount_diff = self.fmt(abs(supply - total))
                side = "short of" if total < supply else "over"
                self.err(
                    "allocations",
                    f"row amounts sum to {self.fmt(total)} BTT, {amount_diff} BTT {side} the total supply "
                    f"{self.fmt(supply)} BTT",
                )
        if not complete:
            return None, None, None
        liquid: dict[bytes, int] = {}
        foundation = 0
        for row in rows:
            for h in row.holders:
                if row.release.kind == "liquid":
                    liquid[h.account] = liquid.get(h.account, 0) + h.amount
                if h.label == MODULE_PREFIX + FOUNDATION_ACCOUNT:
                    foundation += h.amount
        return tuple(rows), liquid, foundation

    def holders(self, value: Any, path: str, seen: dict[bytes, str], nonempty: bool = True
                ) -> tuple[Holder, ...] | None:
        items = self.list_(value, path, nonempty=nonempty)
        if items is None:
            return None
        out: list[Holder] = []
        ok = True
        for j, raw in enumerate(items):
            hpath = f"{path}[{j}]"
            o = self.obj(raw, hpath, ("account", "amount"), ("note",))
            if o is None:
                ok = False
                continue
            self.str_(self.get(o, "note"), f"{hpath}.note")
            resolved = self.account(self.get(o, "account"), f"{hpath}.account")
            amount = self.amount(self.get(o, "amount"), f"{hpath}.amount", positive=True)
            if resolved is not None:
                account, label = resolved
                if account in seen:
                    self.err(
                        f"{hpath}.account",
                        f"duplicate account {label!r}: it already holds {seen[account]} "
                        "(each account may appear once across all holders)",
                    )
                    resolved = None
                else:
                    seen[account] = hpath
            if resolved is None or amount is None:
                ok = False
                continue
            out.append(Holder(account=resolved[0], amount=amount, label=resolved[1]))
        return tuple(out) if ok else None

    def check_holder_kinds(self, holders: tuple[Holder, ...], release: ReleaseRule, path: str) -> None:
        for j, h in enumerate(holders):
            if release.kind == "module" and not h.label.startswith(MODULE_PREFIX):
                self.err(f"{path}[{j}].account", f"a 'module' row must be held by module accounts, got {h.label!r}")
            if release.kind == "reserve" and h.label != MODULE_PREFIX + RESERVE_ACCOUNT:
                self.err(
                    f"{path}[{j}].account",
                    f"a 'reserve' row must be held by {MODULE_PREFIX}{RESERVE_ACCOUNT}, got {h.label!r}",
                )

    # -- validators, parameters, burns, release table

    def validators(self, value: Any, liquid: dict[bytes, int] | None) -> tuple[ValidatorSpec, ...] | None:
        items = self.list_(value, "validators", nonempty=True)
        if items is None:
            return None
        out: list[ValidatorSpec] = []
        ok = True
        seen: dict[bytes, int] = {}
        seen_session: dict[bytes, int] = {}
        seen_commitment: dict[bytes, int] = {}
        for i, raw in enumerate(items):
            path = f"validators[{i}]"
            o = self.obj(raw, path, ("account", "bond"), ("session_key", "payee", "hash_chain_commitment", "note"))
            if o is None:
                ok = False
                continue
            self.str_(self.get(o, "note"), f"{path}.note")
            resolved = self.account(self.get(o, "account"), f"{path}.account", allow_module=False)
            bond = self.amount(self.get(o, "bond"), f"{path}.bond", positive=True)
            session_raw = self.get(o, "session_key")
            session = self.session_key(session_raw, f"{path}.session_key")
            commitment_raw = self.get(o, "hash_chain_commitment")
            commitment = self.commitment(commitment_raw, f"{path}.hash_chain_commitment")
            payee_raw = self.get(o, "payee")
            payee = None if payee_raw is _MISSING else self.account(payee_raw, f"{path}.payee")
            if payee_raw is not _MISSING and payee is None:
                ok = False
            if resolved is None:
                ok = False
                continue
            account, label = resolved
            if account in seen:
                self.err(f"{path}.account", f"duplicate validator {label!r} (also validators[{seen[account]}])")
                ok = False
                continue
            seen[account] = i
            if session is _MISSING:
                session = account
            if session is None:
                ok = False
                continue
            assert isinstance(session, bytes)
            if session in seen_session:
                self.err(f"{path}.session_key", f"session key already used by validators[{seen_session[session]}]")
                ok = False
            seen_session[session] = i
            if commitment_raw is _MISSING:
                # the session key's name as written: session_key if given, else the account
                key_name = session_raw if session_raw is not _MISSING else self.get(o, "account")
                commitment = self.dev_commitment(key_name, f"{path}.hash_chain_commitment")
            if commitment is None:
                ok = False
                continue
            if commitment in seen_commitment:
                self.err(
                    f"{path}.hash_chain_commitment",
                    f"hash-chain commitment already used by validators[{seen_commitment[commitment]}] "
                    "(each session key has its own hash chain)",
                )
                ok = False
            seen_commitment[commitment] = i
            if bond is None:
                ok = False
                continue
            if liquid is not None:
                held = liquid.get(account, 0)
                if held == 0:
                    self.err(
                        f"{path}.bond",
                        f"{label!r} holds no liquid allocation to bond from "
                        "(a validator must hold part of a 'liquid' row)",
                    )
                    ok = False
                elif bond > held:
                    self.err(
                        f"{path}.bond",
                        f"bond {self.fmt(bond)} BTT exceeds {label!r}'s liquid genesis holding of {self.fmt(held)} BTT",
                    )
                    ok = False
            out.append(
                ValidatorSpec(
                    account=account,
                    session_key=session,
                    bond=bond,
                    payee=payee[0] if payee else account,
                    hash_chain_commitment=commitment,
                )
            )
        return tuple(out) if ok else None

    def session_key(self, value: Any, path: str) -> bytes | None | _Missing:
        """A hex public key, an SS58 address or (dev and local chains) a dev name."""
        if value is _MISSING:
            return _MISSING
        if not isinstance(value, str):
            self.wrong(path, "a hex public key, an address or a dev name", value)
            return None
        m = _HEX_RE.fullmatch(value)
        if m is not None:
            return bytes.fromhex(m.group(1))
        if is_dev_name(value):
            if self.chain_type == "live":
                self.err(
                    path,
                    f"dev key {value!r} is allowed only on dev and local chains (this chain is live); "
                    "use a hex public key or an address",
                )
                return None
            return dev_keypair(value).public
        try:
            return decode_address(value, self.ss58_prefix)
        except ConfigError as exc:
            self.err(path, f"expected 32 bytes of hex or an SS58 address: {exc}")
            return None

    def commitment(self, value: Any, path: str) -> bytes | None:
        """An explicit hash-chain commitment: 0x and 32 bytes of hex."""
        if value is _MISSING:
            return None
        if not isinstance(value, str):
            self.wrong(path, "a 0x-hex hash-chain commitment", value)
            return None
        m = _COMMITMENT_RE.fullmatch(value.strip())
        if m is None:
            self.err(path, f"{value!r} is not a hash-chain commitment: expected 0x and 64 hex digits (32 bytes)")
            return None
        return bytes.fromhex(m.group(1))

    def dev_commitment(self, key_name: Any, path: str) -> bytes | None:
        """The commitment of a dev session key's hash chain, derived when the file gives none; any other key
        needs its commitment written in the file (only its owner knows the secret the chain comes from)."""
        length = self.hash_chain_length
        if isinstance(key_name, str) and is_dev_name(key_name):
            if self.chain_type == "live" or length is None:
                return None  # a dev name on a live chain, or a bad hash_chain_length: reported already
            return dev_hash_chain_commitment(key_name, length)
        how = "" if length is None else f" at this spec's consensus.hash_chain_length: {inspect_hint(length)} prints it"
        self.err(
            path,
            f"required for a validator whose session key is not a dev key, computed from the key{how} (KEY: the "
            "session key's key file); `btt-chain build-spec --validator KEYFILE:BOND` writes it",
        )
        return None

    def parameters(self, value: Any, spec: int = FIRST_RECORDED) -> tuple[ParameterSpec, ...] | None:
        """The parameters; a chain that starts at an older spec than the one that added a parameter neither needs it
        nor gets it at genesis (its genesis is the one that spec's release made; the upgrade's migration adds it)."""
        if value is _MISSING:
            return None
        if not isinstance(value, dict):
            self.wrong("parameters", "an object", value)
            return None
        out: dict[str, ParameterSpec] = {}
        ok = True
        later = added_after(spec)
        for name, raw in value.items():
            if name in later:
                continue
            path = f"parameters.{name}"
            if not isinstance(name, str) or not _PARAM_RE.fullmatch(name):
                self.err(path, "a parameter name is lowercase dotted words, e.g. fees.base")
                ok = False
                continue
            p = self.parameter(name, raw, path)
            if p is None:
                ok = False
            else:
                out[name] = p
        for name, unit in REQUIRED_PARAMETERS.items():
            if name not in value and name not in later:
                self.err(f"parameters.{name}", f"missing required parameter (unit {unit!r})")
                ok = False
            elif name in out and out[name].unit != unit:
                self.err(f"parameters.{name}.unit", f"must be {unit!r}, got {out[name].unit!r}")
                ok = False
        for names in SHARE_GROUPS.values():
            # every member is required with unit 'bps': a missing one or a wrong unit is reported above
            if all(n in out and out[n].unit == "bps" for n in names):
                total = sum(out[n].value for n in names)
                if total != BPS_DENOMINATOR:
                    self.err(
                        "parameters",
                        f"{' + '.join(names)} must sum to {BPS_DENOMINATOR} bps (100%), got {total}",
                    )
                    ok = False
        ok = self.fee_below_every_hold(out) and ok
        if not ok:
            return None
        return tuple(out[name] for name in sorted(out))

    def fee_below_every_hold(self, out: dict[str, ParameterSpec]) -> bool:
        """A missed assignment's fixed fee is taken from the bond once the assignment's hold is released
        (`runtime.compute.outage.charge_fee`), so within their bounds it never exceeds the smallest hold an assignment
        may have: `compute.min_assignment_hold`, capped by the larger fixed slash (`runtime.compute.holds`)."""
        names = (compute_params.MISSED_ASSIGNMENT_FEE, compute_params.MIN_ASSIGNMENT_HOLD, compute_params.FRAUD_SLASH,
                 compute_params.WITHHELD_SLASH)
        if not all(n in out and out[n].unit == "btt" for n in names):
            return True  # a missing one or a wrong unit is reported above
        fee, hold, fraud, withheld = (out[n] for n in names)
        smallest = min(hold.min, max(fraud.min, withheld.min))
        if fee.max <= smallest:
            return True
        self.err("parameters", f"{fee.name} may be set up to {self.fmt(fee.max)} BTT, above the smallest hold an "
                               f"assignment may have ({self.fmt(smallest)} BTT: {hold.name}'s min, capped by the "
                               "larger slash's min): a missed assignment's fee must stay below every hold")
        return False

    def parameter(self, name: str, raw: Any, path: str) -> ParameterSpec | None:
        o = self.obj(raw, path, ("value", "min", "max", "unit"), ("track",))
        if o is None:
            return None
        track = "standard"
        if self.get(o, "track") is not _MISSING:
            track = self.str_(self.get(o, "track"), f"{path}.track") or ""
            if track not in PARAMETER_TRACKS:
                self.err(f"{path}.track", f"must be one of {', '.join(PARAMETER_TRACKS)}, got {track!r}")
                return None
        unit = self.str_(self.get(o, "unit"), f"{path}.unit")
        if unit is not None and unit not in PARAMETER_UNITS:
            self.err(f"{path}.unit", f"must be one of {', '.join(PARAMETER_UNITS)}, got {unit!r}")
            unit = None
        if unit is None:
            return None
        values: dict[str, int | None] = {}
        for key in ("value", "min", "max"):
            v = self.get(o, key)
            if unit == "btt":
                values[key] = self.amount(v, f"{path}.{key}")
            elif unit == "bps":
                values[key] = self.int_(v, f"{path}.{key}", 0, BPS_DENOMINATOR)
            else:
                values[key] = self.int_(v, f"{path}.{key}")
        val, lo, hi = values["value"], values["min"], values["max"]
        if val is None or lo is None or hi is None:
            return None
        show = self.fmt if unit == "btt" else str
        if lo > hi:
            self.err(path, f"min {show(lo)} is above max {show(hi)}")
            return None
        if not lo <= val <= hi:
            self.err(path, f"value {show(val)} is outside its range [{show(lo)}, {show(hi)}]")
            return None
        return ParameterSpec(name=name, value=val, min=lo, max=hi, unit=unit, track=track)

    # -- compute marketplace

    def compute(
        self, value: Any, allocations: tuple[AllocationRow, ...] | None, time: TimeSpec | None
    ) -> ComputeSpec | None:
        """The reference models registered at genesis and the mining pool's emission schedule, whose amounts
        must add up to what module:mining_pool holds in the allocations."""
        if value is _MISSING:
            return None
        o = self.obj(value, "compute", ("models", "mining_periods"))
        if o is None:
            return None
        models = self.models(self.get(o, "models"))
        periods = self.mining_periods(self.get(o, "mining_periods"))
        if periods is not None and allocations is not None:
            pool_label = MODULE_PREFIX + MINING_POOL_ACCOUNT
            pool = sum(h.amount for r in allocations for h in r.holders if h.label == pool_label)
            total = sum(p.amount for p in periods)
            if total != pool:
                self.err(
                    "compute.mining_periods",
                    f"period amounts sum to {self.fmt(total)} BTT but {pool_label} holds {self.fmt(pool)} BTT "
                    "in the allocations: they must be equal",
                )
                periods = None
        if periods is not None and time is not None:
            duration_ms = sum(p.years for p in periods) * time.year_seconds * 1000
            if duration_ms > U64_MAX:
                self.err(
                    "compute.mining_periods",
                    f"the schedule lasts {duration_ms} ms with time.year_seconds {time.year_seconds}: "
                    "more than a 64-bit millisecond count",
                )
                periods = None
        if models is None or periods is None:
            return None
        return ComputeSpec(models=models, mining_periods=periods)

    def models(self, value: Any) -> tuple[ModelSpec, ...] | None:
        """Reference models by name (shipped with the package, so every node holds their weights), or model specs
        written out in their JSON form (docs/models.md; nodes fetch such a model's weights by hash from a peer
        that holds them)."""
        items = self.list_(value, "compute.models", nonempty=True)
        if items is None:
            return None
        out: list[ModelSpec] = []
        ok = True
        seen: dict[str, int] = {}
        known = reference_names()
        for i, raw in enumerate(items):
            path = f"compute.models[{i}]"
            spec: ModelSpec | None = None
            if isinstance(raw, dict):
                spec = self.model(raw, path)
                name = None if spec is None else spec.name
            else:
                name = self.str_(raw, path)
            if name is None:
                ok = False
            elif spec is None and name not in known:
                self.err(path, f"unknown reference model {name!r}; known: {', '.join(known)} "
                               "(or write the model's spec out in its JSON form)")
                ok = False
            elif name in seen:
                self.err(path, f"duplicate model {name!r} (also compute.models[{seen[name]}])")
                ok = False
            else:
                seen[name] = i
                out.append(spec or reference_spec(name))
        return tuple(out) if ok else None

    def model(self, value: dict, path: str) -> ModelSpec | None:
        try:
            return spec_from_json(value)
        except ValueError as exc:
            self.err(path, str(exc))
            return None

    def mining_periods(self, value: Any) -> tuple[MiningPeriod, ...] | None:
        items = self.list_(value, "compute.mining_periods", nonempty=True)
        if items is None:
            return None
        out: list[MiningPeriod] = []
        ok = True
        for i, raw in enumerate(items):
            path = f"compute.mining_periods[{i}]"
            o = self.obj(raw, path, ("years", "amount"))
            if o is None:
                ok = False
                continue
            years = self.int_(self.get(o, "years"), f"{path}.years", 1, MAX_YEARS)
            amount = self.amount(self.get(o, "amount"), f"{path}.amount", positive=True)
            if years is None or amount is None:
                ok = False
                continue
            out.append(MiningPeriod(years=years, amount=amount))
        return tuple(out) if ok else None

    def burns(self, value: Any, foundation: int | None) -> tuple[MilestoneBurn, ...] | None:
        if value is _MISSING:
            return ()
        items = self.list_(value, "milestone_burns")
        if items is None:
            return None
        out: list[MilestoneBurn] = []
        ok = True
        names: dict[str, int] = {}
        for i, raw in enumerate(items):
            path = f"milestone_burns[{i}]"
            o = self.obj(raw, path, ("name", "amount", "at_genesis"))
            if o is None:
                ok = False
                continue
            name = self.str_(self.get(o, "name"), f"{path}.name", _NAME_RE, "use lowercase letters, digits and '_'")
            amount = self.amount(self.get(o, "amount"), f"{path}.amount", positive=True)
            at_genesis = self.bool_(self.get(o, "at_genesis"), f"{path}.at_genesis")
            if name is not None and name in names:
                self.err(f"{path}.name", f"duplicate milestone {name!r} (also milestone_burns[{names[name]}])")
                name = None
            elif name is not None:
                names[name] = i
            if name is None or amount is None or at_genesis is None:
                ok = False
                continue
            out.append(MilestoneBurn(name=name, amount=amount, at_genesis=at_genesis))
        if not ok:
            return None
        total = sum(b.amount for b in out)
        if out and foundation is not None:
            if foundation == 0:
                self.err(
                    "milestone_burns",
                    f"burns total {self.fmt(total)} BTT but no allocation is held by "
                    f"{MODULE_PREFIX}{FOUNDATION_ACCOUNT}",
                )
                return None
            if total > foundation:
                self.err(
                    "milestone_burns",
                    f"burns total {self.fmt(total)} BTT, more than the Foundation allocation "
                    f"({MODULE_PREFIX}{FOUNDATION_ACCOUNT}) of {self.fmt(foundation)} BTT",
                )
                return None
        return tuple(out)

    def published(self, value: Any) -> tuple[PublishedRelease, ...] | None:
        if value is _MISSING:
            return ()
        items = self.list_(value, "published_release")
        if items is None:
            return None
        out: list[PublishedRelease] = []
        ok = True
        labels: set[str] = set()
        previous: int | None = None
        for i, raw in enumerate(items):
            path = f"published_release[{i}]"
            o = self.obj(raw, path, ("label", "cumulative_percent"))
            if o is None:
                ok = False
                continue
            label = self.str_(self.get(o, "label"), f"{path}.label")
            pct = self.int_(self.get(o, "cumulative_percent"), f"{path}.cumulative_percent", 0, 100)
            if label is not None and label in labels:
                self.err(f"{path}.label", f"duplicate label {label!r}")
                label = None
            elif label is not None:
                labels.add(label)
            if pct is not None and previous is not None and pct < previous:
                self.err(
                    f"{path}.cumulative_percent",
                    f"{pct} is less than the previous entry's {previous} (the table is cumulative)",
                )
                pct = None
            if pct is not None:
                previous = pct
            if label is None or pct is None:
                ok = False
                continue
            out.append(PublishedRelease(label=label, cumulative_percent=pct))
        return tuple(out) if ok else None

    def snapshot(self, value: Any, genesis_time_ms: int | None) -> GenesisStateRef | None:
        """The optional genesis state file: {"file", "hash", "state_root", "records", "bytes"} (`genesis.snapshot`)."""
        path = "genesis_state"
        if value is _MISSING:
            return None
        o = self.obj(value, path, ("file", "hash", "state_root", "records", "bytes"))
        if o is None:
            return None
        if genesis_time_ms == 0:
            self.err(path, "a genesis state file fixes the genesis time: set genesis_time_ms (not 0)")
        file = self.str_(self.get(o, "file"), f"{path}.file")
        if file is not None and (file == "" or Path(file).is_absolute() or ".." in Path(file).parts):
            self.err(f"{path}.file", f"{file!r}: give a path relative to the chain spec's directory, without '..'")
            file = None
        hashes: list[bytes | None] = []
        for field in ("hash", "state_root"):
            raw = self.get(o, field)
            m = _COMMITMENT_RE.fullmatch(raw) if isinstance(raw, str) else None
            if m is None:
                if raw is not _MISSING:
                    self.wrong(f"{path}.{field}", "0x and 64 hex digits", raw)
                hashes.append(None)
            else:
                hashes.append(bytes.fromhex(m.group(1)))
        records = self.int_(self.get(o, "records"), f"{path}.records", 1)
        size = self.int_(self.get(o, "bytes"), f"{path}.bytes", 16)
        if file is None or None in hashes or records is None or size is None:
            return None
        assert hashes[0] is not None and hashes[1] is not None
        return GenesisStateRef(file, self.base_dir / file, hashes[0], hashes[1], records, size)

    def elided(self, value: Any, path: str, release: ReleaseRule | None) -> tuple[int, int] | None:
        """A row's holders left out of the spec: (how many, base units they hold); (0, 0) when none."""
        if value is _MISSING:
            return 0, 0
        o = self.obj(value, path, ("holders", "amount"))
        if o is None:
            return None
        count = self.int_(self.get(o, "holders"), f"{path}.holders", 1)
        amount = self.amount(self.get(o, "amount"), f"{path}.amount", positive=True)
        if self.genesis_state is None and "genesis_state" not in self.doc:
            self.err(path, "holders may be left out of the spec only when its genesis state is in a file "
                           "(genesis_state)")
            return None
        if release is not None and release.kind != "liquid":
            self.err(path, f"only liquid rows may leave holders out of the spec (this row is {release.kind})")
            return None
        if count is None or amount is None:
            return None
        return count, amount

    def checkpoint(self, value: Any) -> TrustedCheckpoint | None:
        """The optional trusted checkpoint: "0xHASH@NUMBER" or {"hash": "0xHASH", "number": N}."""
        if value is _MISSING:
            return None
        if isinstance(value, str):
            try:
                return TrustedCheckpoint.parse(value)
            except ValueError as exc:
                self.err("checkpoint", str(exc))
                return None
        if not isinstance(value, dict):
            self.wrong("checkpoint", '"0xHASH@NUMBER" or an object {"hash": "0x...", "number": N}', value)
            return None
        o = self.obj(value, "checkpoint", ("hash", "number"))
        block_hash = number = None
        raw_hash, raw_number = self.get(o, "hash"), self.get(o, "number")
        if isinstance(raw_hash, str):
            try:
                block_hash = parse_checkpoint_hash(raw_hash)
            except ValueError as exc:
                self.err("checkpoint.hash", str(exc))
        elif raw_hash is not _MISSING:
            self.wrong("checkpoint.hash", "a string of 64 hex digits", raw_hash)
        if type(raw_number) is int:
            try:
                number = parse_checkpoint_number(raw_number)
            except ValueError as exc:
                self.err("checkpoint.number", str(exc))
        elif raw_number is not _MISSING:
            self.wrong("checkpoint.number", "an integer", raw_number)
        if block_hash is None or number is None:
            return None
        return TrustedCheckpoint(block_hash, number)

    # -- governance

    def governance(self, value: Any, allocations: tuple[AllocationRow, ...] | None) -> GovernanceSpec | None:
        """The founding institutions (allocation rows whose holders vote with their allocation), the
        decentralisation schedule and the genesis community representatives."""
        if value is _MISSING:
            return None
        o = self.obj(
            value, "governance", ("institution_rows", "institution_share_percent", "representatives"),
            ("verifiers", "oracles"),
        )
        if o is None:
            return None
        rows = self.institution_rows(self.get(o, "institution_rows"), allocations)
        shares = self.institution_shares(self.get(o, "institution_share_percent"))
        reps = self.representatives(self.get(o, "representatives"))
        verifiers = self.role_accounts(self.get(o, "verifiers"), "governance.verifiers")
        oracles = self.oracles(self.get(o, "oracles"))
        if None in (rows, shares, reps, allocations, verifiers, oracles):
            return None
        assert rows is not None and shares is not None and reps is not None and allocations is not None
        assert verifiers is not None and oracles is not None
        by_index = {r.index: r for r in allocations}
        institutions = tuple(
            h for i in rows for h in by_index[i].holders if not h.label.startswith(MODULE_PREFIX)
        )
        return GovernanceSpec(
            institution_rows=rows, institutions=institutions, institution_share_percent=shares, representatives=reps,
            verifiers=verifiers, oracles=oracles,
        )

    def role_accounts(self, value: Any, path: str) -> tuple[bytes, ...] | None:
        """An optional list of distinct accounts (no module accounts)."""
        if value is _MISSING:
            return ()
        items = self.list_(value, path)
        if items is None:
            return None
        out: list[bytes] = []
        seen: dict[bytes, int] = {}
        ok = True
        for i, raw in enumerate(items):
            resolved = self.account(raw, f"{path}[{i}]", allow_module=False)
            if resolved is None:
                ok = False
                continue
            account, label = resolved
            if account in seen:
                self.err(f"{path}[{i}]", f"duplicate account {label!r} (also {path}[{seen[account]}])")
                ok = False
                continue
            seen[account] = i
            out.append(account)
        return tuple(out) if ok else None

    def oracles(self, value: Any) -> tuple[tuple[str, bytes], ...] | None:
        """Optional `{"ACTIVITY": [accounts...]}` for the health oracles appointed at genesis."""
        path = "governance.oracles"
        if value is _MISSING:
            return ()
        if not isinstance(value, dict):
            self.wrong(path, "an object of activity -> accounts", value)
            return None
        out: list[tuple[str, bytes]] = []
        ok = True
        for activity, accounts in value.items():
            if activity not in ACTIVITIES:
                self.err(f"{path}.{activity}", f"unknown activity; known: {', '.join(ACTIVITIES)}")
                ok = False
                continue
            resolved = self.role_accounts(accounts, f"{path}.{activity}")
            if resolved is None:
                ok = False
                continue
            out.extend((activity, a) for a in resolved)
        return tuple(out) if ok else None

    def institution_rows(self, value: Any, allocations: tuple[AllocationRow, ...] | None) -> tuple[int, ...] | None:
        path = "governance.institution_rows"
        items = self.list_(value, path)
        if items is None:
            return None
        by_index = None if allocations is None else {r.index: r for r in allocations}
        out: list[int] = []
        ok = True
        seen: dict[int, int] = {}
        for i, raw in enumerate(items):
            ipath = f"{path}[{i}]"
            index = self.int_(raw, ipath, lo=1)
            if index is None:
                ok = False
                continue
            if index in seen:
                self.err(ipath, f"duplicate row {index} (also {path}[{seen[index]}])")
                ok = False
                continue
            seen[index] = i
            if by_index is not None:
                r = by_index.get(index)
                if r is None:
                    known = ", ".join(str(k) for k in sorted(by_index))
                    self.err(ipath, f"no allocation row has index {index} (rows: {known})")
                    ok = False
                    continue
                if r.elided_holders:
                    self.err(ipath, f"row {index} ({r.category}) has holders elided into the genesis state file: an "
                                    "institution row lists every holder (each votes with its allocation)")
                    ok = False
                    continue
                if all(h.label.startswith(MODULE_PREFIX) for h in r.holders):
                    self.err(
                        ipath,
                        f"row {index} ({r.category}) is held only by module accounts: it has no institution to vote",
                    )
                    ok = False
                    continue
            out.append(index)
        return tuple(out) if ok else None

    def institution_shares(self, value: Any) -> tuple[int, ...] | None:
        path = "governance.institution_share_percent"
        items = self.list_(value, path, nonempty=True)
        if items is None:
            return None
        if len(items) > MAX_SCHEDULE_YEARS:
            self.err(path, f"{len(items)} years; the schedule has at most {MAX_SCHEDULE_YEARS}")
            return None
        out: list[int] = []
        ok = True
        previous: int | None = None
        for i, raw in enumerate(items):
            ipath = f"{path}[{i}]"
            pct = self.int_(raw, ipath, 1, 100)
            if pct is not None and previous is not None and pct > previous:
                self.err(
                    ipath, f"{pct} is more than the previous year's {previous} (the institutions' share only falls)"
                )
                pct = None
            if pct is None:
                ok = False
                continue
            previous = pct
            out.append(pct)
        return tuple(out) if ok else None

    def representatives(self, value: Any) -> tuple[bytes, ...] | None:
        path = "governance.representatives"
        items = self.list_(value, path)
        if items is None:
            return None
        if len(items) > MAX_REPRESENTATIVES:
            self.err(path, f"{len(items)} representatives; the house has at most {MAX_REPRESENTATIVES}")
            return None
        out: list[bytes] = []
        ok = True
        seen: dict[bytes, int] = {}
        for i, raw in enumerate(items):
            ipath = f"{path}[{i}]"
            resolved = self.account(raw, ipath, allow_module=False)
            if resolved is None:
                ok = False
                continue
            account, label = resolved
            if account in seen:
                self.err(ipath, f"duplicate representative {label!r} (also {path}[{seen[account]}])")
                ok = False
                continue
            seen[account] = i
            out.append(account)
        return tuple(out) if ok else None
