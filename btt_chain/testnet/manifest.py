"""Testnet manifests (TOML): the nodes, the chain's clock, the load and the perturbation schedule.

A manifest names its nodes; each is a validator (a dev account that bonds `stake` BTT) or a full node, may run
a miner (validators only: it mines with the validator key) or a demo clinic, and has its own perturbations.
Partitions belong to the whole network. Every problem is reported with where it is (`node "v2": ...`).

    name = "ci"
    duration_s = 150          # the whole run after the nodes are up
    slot_ms = 1000
    epoch_slots = 5
    [network]
    bootnodes = 1             # every node is given the first N nodes as bootnodes (discovery finds the rest)
    in_peers = 8
    out_peers = 3
    [load]
    tps = 2                   # transfers per second, spread over the validators' accounts
    [checks]
    clock_lag_blocks = 20     # a clock-skewed node's finality lag (best head - its finalized) while skewed
    clock_join_s = 45         # after a clock perturbation's restart: time to be up with a peer again
    join_sync_s = 60          # a joining node: from join_at until it answers RPC and follows the best head
    join_lag_blocks = 10      # a joining node once synced: its head at most this far below the best head
    finality_resume_epochs = 4  # after a partition's heal: epochs until every node finalized past the heal point
    [[node]]
    name = "v0"
    validator = "alice"
    stake = 10000
    miner = true
    perturb = [{ at = 30, kind = "kill", for = 6 }, { at = 90, kind = "pause", for = 8 }]
    [[partition]]
    at = 60
    for = 12
    groups = [["v0", "v1", "v2"], ["v3", "f0"]]

A node may join mid-run instead of starting with the others:

    [[node]]
    name = "w0"
    join_at = 110             # seconds into the run (as `at` counts); started then, with the first N as bootnodes
    sync = "warp"             # warp (`btt-chain node --sync warp`) or full (the default: every block from genesis)
    perturb = [{ at = 150, kind = "restart" }]

A joining node is a full node (a validator's stake is in genesis: one absent until `join_at` would hold it out of
finality from the start, an outage the schedule does not model). `sync = "warp"` needs `join_at` (a node started
with the others has no finalized chain to warp to). `join_at` is before `duration_s`; the node is not one of the
first `[network].bootnodes` nodes (every node starts with those, so they run from the start); its perturbations start
after `join_at`, and a partition naming it starts after `join_at` too. The runner starts it with `--sync warp` at
every (re)start, as an operator keeps the flag: only its first start, into an empty database, warps. A perturbation
due before it answers RPC (still syncing) is skipped and fails the join check: the schedule perturbs running nodes
(a node stopped during its warp, and its warp process with it, is tested in tests/functional/test_feature_warp_sync.py).
The run settles on past `settle_s` while a joined node has not yet followed the best head, up to its `join_at` +
`join_sync_s` (on a busy machine a node's process alone can take 20 s to start).
The checks (`checks.check_joins_*`) hold it to syncing within `[checks] join_sync_s` of `join_at` (for warp:
the proof verified and the state written, once, and never again at a later start), to following the best head
within `[checks] join_lag_blocks` blocks (back within them at most `join_sync_s` after each of its perturbations),
and to the others' finalized blocks and state, key for key.

An upgrade (`[upgrade]`, issue 50): the run starts from a network an older release recorded, and an emergency
referendum schedules the next spec (`btt_chain/testnet/upgrade.py` has the details):

    [upgrade]
    database = "spec11-network.tar.xz"   # beside the manifest: every recorded node's data and the chain spec
    spec = 12                 # what the referendum schedules
    propose_at = 5            # seconds into the run
    delay_blocks = 50         # the scheduled block: the head at the proposal + this (after voting and enactment)
    kill_at_boundary = ["v2", "f0"]   # SIGKILLed at the boundary (the first as the last old block lands, the rest
    kill_for = 6                      # as the first new one does), started again this long after
    proposer = "eve"          # proposes and votes (dave votes too); no miner, and the load leaves its account alone
    [[node]]
    name = "o0"
    max_spec = 11             # `--max-spec 11`: a release without the spec; it must stop before the boundary

The manifest's validators are the recording's; a node the recording has starts from its recorded directory, any
other with an empty one. A node with `max_spec` below the upgrade's spec gets no load and is not held to finality
after the boundary; the upgrade check holds it to stopping there with one line, alive, banning nobody.

Partitions (`[[partition]]`): the two `groups` cannot reach each other from `at` seconds into the run for `for`
seconds (a node in neither group reaches both). Two more keys time one to the chain's epochs:

    align = "epoch"    # start at an epoch boundary instead: the first one at least `at` s (+ lead_ms) into the run
    lead_ms = 1500     # with align: start this long before that boundary (0 <= lead_ms < one epoch)

Epochs count from the chain's genesis time, as the nodes count them (epoch K starts at genesis + K * epoch_slots *
slot_ms), while `at` counts from the end of the nodes' start-up, which takes as long as it takes; so the runner
places an aligned partition once the nodes are up: at the first boundary B with B - lead_ms at or after `at`, i.e.
within one epoch after `at` (a fixed epoch number could have passed before the nodes answered). A `lead_ms` a little
over one slot cuts the network in the middle of the slot before last of the old epoch, so the last block before the
boundary, the new epoch's checkpoint, is seen on one side only: each side enters the new epoch on a checkpoint of its
own (the fork race at an epoch boundary, testnets/fork-race.toml). The run's report names the epoch and each
side's heads and checkpoints at the heal.

A partition after which neither group holds 2/3 of the validators' stake stops finality while it lasts. Such a
partition needs `[checks] finality_resume_epochs = N` (after the heal, every node's finalized block must pass the
highest head any node had at the heal within N epochs), no other perturbation or partition may overlap it (an
aligned one may start up to one epoch after `at`), and it is exempt from the "a third of the stake out at once"
refusal and from "finality advanced through every perturbation". Given `finality_resume_epochs`, every partition
of the manifest is held to it.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from btt_chain.consensus.validator_set import has_supermajority
from btt_chain.primitives.errors import ConfigError

MANIFEST_DIR = Path(__file__).resolve().parents[2] / "testnets"
"""Where `btt-chain testnet run NAME` finds NAME.toml."""

PERTURBATIONS = ("kill", "pause", "disconnect", "restart", "clock")
"""Per-node perturbation kinds; `partition` is network-wide ([[partition]])."""
VALIDATOR_ACCOUNTS = ("alice", "bob", "charlie", "eve", "ferdie")
"""Dev accounts with liquid funds in the dev preset (dave's holding is locked by vesting)."""
MAX_NODES = 32
_NAME_RE = re.compile(r"[a-z][a-z0-9_-]{0,15}")
ALIGNMENTS = ("epoch",)
"""What a partition's `align` may name."""
SYNC_MODES = ("full", "warp")
"""What a node's `sync` may name (`btt-chain node --sync`)."""


class ManifestError(ConfigError):
    """The testnet manifest is not valid; the message says where and why."""


@dataclass(frozen=True)
class Perturbation:
    at_s: float
    """Seconds after the start of the run."""
    kind: str
    """kill | pause | disconnect | restart | clock."""
    for_s: float
    """How long the node stays down, paused, disconnected or skewed (restart: ignored)."""
    skew_ms: int = 0
    """clock: the node's clock offset while perturbed."""


@dataclass(frozen=True)
class NodeSpec:
    name: str
    validator: str | None
    """Dev account that validates on this node; None: a full node."""
    stake: int
    """Validator bond in whole BTT."""
    miner: bool
    clinic: bool
    clock_skew_ms: int
    perturbations: tuple[Perturbation, ...]
    join_at_s: float | None = None
    """Seconds after the start of the run at which the runner starts this node; None: with the others."""
    sync: str = "full"
    """full | warp: how the node fills an empty database (`btt-chain node --sync`)."""
    max_spec: int | None = None
    """`btt-chain node --max-spec`: a node standing in for a release that cannot run the upgrade's spec."""


@dataclass(frozen=True)
class UpgradePlan:
    """`[upgrade]`: the network starts from a database an older release recorded and takes the next spec by an
    emergency referendum under load; nodes are SIGKILLed at the boundary."""

    database: Path
    """A tarball of every recorded node's data directory and the chain spec (`chain-spec.json`) they ran."""
    spec: int
    """The spec the referendum schedules."""
    propose_at_s: float
    """Run seconds at which alice proposes `system.schedule_spec` on the emergency track (dave and alice vote aye)."""
    delay_blocks: int
    """The scheduled block: this many blocks after the head the proposal is made at (after the vote and enactment)."""
    kill_at_boundary: tuple[str, ...] = ()
    """Nodes SIGKILLed at the boundary: the first as the last block of the old spec lands, the next as the first of
    the new one (its migrations) lands; each started again `kill_for_s` later."""
    kill_for_s: float = 6.0
    proposer: str = "alice"


@dataclass(frozen=True)
class Partition:
    at_s: float
    """Seconds after the start of the run (aligned: the earliest start)."""
    for_s: float
    groups: tuple[tuple[str, ...], tuple[str, ...]]
    align_epoch: bool = False
    """Start at the first epoch boundary (less `lead_ms`) at or after `at_s`; the runner places it once the nodes are
    up (`perturbations.build_schedule`)."""
    lead_ms: int = 0
    """Aligned: start this many ms before the boundary."""

    def latest_start_s(self, epoch_s: float) -> float:
        """The latest the partition may start: `at_s`, or for an aligned one just under one epoch later."""
        return self.at_s + (epoch_s if self.align_epoch else 0.0)


@dataclass(frozen=True)
class Manifest:
    name: str
    duration_s: float
    slot_ms: int
    epoch_slots: int
    nodes: tuple[NodeSpec, ...]
    partitions: tuple[Partition, ...] = ()
    tps: float = 0.0
    bootnodes: int = 1
    in_peers: int = 25
    out_peers: int = 8
    settle_s: float = 20.0
    """Seconds after the last perturbation ends (and the load stops) before the checks; longer while a joined node
    has not followed the best head yet, up to its `join_at` + `join_sync_s`."""
    clock_lag_blocks: int = 20
    """[checks] The most a clock-skewed node's finality may lag the best head (in blocks) while it is skewed, once
    `clock_join_s` have passed since its restart."""
    clock_join_s: float = 45.0
    """[checks] Seconds a clock perturbation's node has after its (re)start to answer with a peer; from then until the
    skew ends it must keep at least one peer at every sample."""
    source: str = ""
    extra_node_args: tuple[str, ...] = field(default=())
    finality_resume_epochs: int | None = None
    """[checks] After every partition's heal, every node's finalized block passes the highest head any node had at the
    heal within this many epochs (None: not checked; required when a partition stops finality)."""
    join_sync_s: float = 60.0
    """[checks] Seconds a joining node has from its `join_at` to answer RPC with its head within `join_lag_blocks` of
    the best head."""
    join_lag_blocks: int = 10
    """[checks] Once synced, the most a joining node's head may be below the best head any node reported at the same
    sample (its own perturbations and partitions excepted, with a grace after each)."""
    upgrade: UpgradePlan | None = None

    @property
    def validators(self) -> tuple[NodeSpec, ...]:
        return tuple(n for n in self.nodes if n.validator is not None)

    @property
    def joining(self) -> tuple[NodeSpec, ...]:
        """The nodes that join mid-run (`join_at`)."""
        return tuple(n for n in self.nodes if n.join_at_s is not None)

    @property
    def epoch_s(self) -> float:
        return self.epoch_slots * self.slot_ms / 1000

    def stalls_finality(self, partition: Partition) -> bool:
        """Whether neither group of `partition` holds 2/3 of the validators' stake (finality stops while it lasts)."""
        stake = {n.name: n.stake for n in self.validators}
        total = sum(stake.values())
        return not any(has_supermajority(sum(stake.get(name, 0) for name in group), total)
                       for group in partition.groups)

    def node(self, name: str) -> NodeSpec:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)


def resolve_manifest_path(name_or_path: str) -> Path:
    """A file path, or the name of a manifest in `testnets/` (`ci`, `partition`, `large`)."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    if _NAME_RE.fullmatch(name_or_path):
        named = MANIFEST_DIR / f"{name_or_path}.toml"
        if named.is_file():
            return named
    known = sorted(p.stem for p in MANIFEST_DIR.glob("*.toml"))
    raise ManifestError(f"no manifest {name_or_path!r}: not a file, nor one of {', '.join(known) or 'none'}")


def load_manifest(name_or_path: str) -> Manifest:
    path = resolve_manifest_path(name_or_path)
    try:
        doc = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:  # arrays or tables nested deeper than the TOML parser goes
        raise ManifestError(f"{path}: not valid TOML: nested too deeply") from None
    return parse_manifest(doc, str(path))


def _take(table: dict[str, Any], where: str, known: set[str]) -> None:
    unknown = sorted(set(table) - known)
    if unknown:
        raise ManifestError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(known))})")


def _number(value: Any, where: str, low: float, high: float, integer: bool = False) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float) or (integer and not isinstance(value, int)):
        raise ManifestError(f"{where}: expected {'an integer' if integer else 'a number'}, got {value!r}")
    if not low <= value <= high:
        raise ManifestError(f"{where}: {value} is outside {low:g}..{high:g}")
    return value


def _perturbation(raw: Any, where: str) -> Perturbation:
    if not isinstance(raw, dict):
        raise ManifestError(f"{where}: a perturbation is a table like {{ at = 30, kind = \"kill\", for = 5 }}")
    _take(raw, where, {"at", "kind", "for", "skew_ms"})
    kind = raw.get("kind")
    if kind not in PERTURBATIONS:
        raise ManifestError(f"{where}: kind must be one of {', '.join(PERTURBATIONS)}, got {kind!r}"
                            + (" (partitions go in [[partition]])" if kind == "partition" else ""))
    if "at" not in raw:
        raise ManifestError(f"{where}: missing `at` (seconds after the start)")
    at = float(_number(raw["at"], f"{where}.at", 0, 86_400))
    default_for = 0 if kind == "restart" else None
    if "for" not in raw and default_for is None:
        raise ManifestError(f"{where}: {kind} needs `for` (seconds)")
    for_s = float(_number(raw.get("for", default_for), f"{where}.for", 0, 3_600))
    skew = 0
    if kind == "clock":
        if "skew_ms" not in raw:
            raise ManifestError(f"{where}: clock needs `skew_ms`")
        skew = int(_number(raw["skew_ms"], f"{where}.skew_ms", -600_000, 600_000, integer=True))
    elif "skew_ms" in raw:
        raise ManifestError(f"{where}: skew_ms only applies to kind = \"clock\"")
    return Perturbation(at, kind, for_s, skew)


def _node(raw: Any, index: int) -> NodeSpec:
    where = f"node #{index}"
    if not isinstance(raw, dict):
        raise ManifestError(f"{where}: each [[node]] is a table")
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise ManifestError(f"{where}: name must be 1-16 of a-z, 0-9, '_', '-' starting with a letter, got {name!r}")
    where = f"node {name!r}"
    _take(raw, where, {"name", "validator", "stake", "miner", "clinic", "clock_skew_ms", "perturb", "join_at", "sync",
                       "max_spec"})
    validator = raw.get("validator")
    if validator is not None and validator not in VALIDATOR_ACCOUNTS:
        raise ManifestError(f"{where}: validator must be one of {', '.join(VALIDATOR_ACCOUNTS)}, got {validator!r}")
    stake = int(_number(raw.get("stake", 10_000), f"{where}.stake", 1_000, 19_000, integer=True))
    if "stake" in raw and validator is None:
        raise ManifestError(f"{where}: stake given, but it is a full node (no validator)")
    miner = raw.get("miner", False)
    clinic = raw.get("clinic", False)
    if not isinstance(miner, bool) or not isinstance(clinic, bool):
        raise ManifestError(f"{where}: miner and clinic are true or false")
    if miner and validator is None:
        raise ManifestError(f"{where}: a miner mines with the validator key: give `validator`")
    if clinic and validator is not None and not miner:
        raise ManifestError(f"{where}: a clinic on a validator node also runs its miner (--demo-economy): "
                            "set miner = true, or put the clinic on a full node")
    skew = int(_number(raw.get("clock_skew_ms", 0), f"{where}.clock_skew_ms", -600_000, 600_000, integer=True))
    perturb = raw.get("perturb", [])
    if not isinstance(perturb, list):
        raise ManifestError(f"{where}: perturb is a list of tables")
    items = tuple(_perturbation(p, f"{where}.perturb[{i}]") for i, p in enumerate(perturb))
    join_at, sync = _join(raw, where, validator)
    if join_at is not None:
        for i, p in enumerate(items):
            if p.at_s <= join_at:
                raise ManifestError(f"{where}.perturb[{i}]: {p.kind} at {p.at_s:g} s is not after the node joins "
                                    f"(join_at = {join_at:g}): a joining node's perturbations come after it joined")
    ordered = sorted(items, key=lambda p: p.at_s)
    for a, b in zip(ordered, ordered[1:], strict=False):
        if b.at_s < a.at_s + a.for_s:
            raise ManifestError(f"{where}: {b.kind} at {b.at_s:g} s starts before the {a.kind} at {a.at_s:g} s ends")
    max_spec = None
    if "max_spec" in raw:
        max_spec = int(_number(raw["max_spec"], f"{where}.max_spec", 1, 2**32 - 1, integer=True))
    return NodeSpec(name, validator, stake, miner, clinic, skew, tuple(ordered), join_at, sync, max_spec)


def _join(raw: dict[str, Any], where: str, validator: str | None) -> tuple[float | None, str]:
    """(join_at, sync) of a node: when it joins (None: with the others) and how it syncs."""
    sync = raw.get("sync", "full")
    if sync not in SYNC_MODES:
        raise ManifestError(f"{where}.sync: must be one of {', '.join(repr(m) for m in SYNC_MODES)}, got {sync!r}")
    if "join_at" not in raw:
        if sync == "warp":
            raise ManifestError(f"{where}: sync = \"warp\" needs join_at (seconds into the run): a node started with "
                                "the others has no finalized chain to warp to")
        return None, sync
    join_at = float(_number(raw["join_at"], f"{where}.join_at", 1, 86_400))
    if validator is not None:
        raise ManifestError(f"{where}: join_at is for full nodes: validator {validator!r} has its stake in genesis, "
                            "so a node absent until join_at would hold it out of finality from the start")
    return join_at, sync


def parse_manifest(doc: dict[str, Any], source: str = "<manifest>") -> Manifest:
    """Check every field and return the manifest; ManifestError names the first problem."""
    try:
        return _parse(doc, source)
    except ManifestError as exc:
        raise ManifestError(f"{source}: {exc}") from None


def _parse(doc: dict[str, Any], source: str) -> Manifest:
    _take(doc, "manifest", {"name", "duration_s", "slot_ms", "epoch_slots", "settle_s", "network", "load", "checks",
                            "node", "partition", "upgrade"})
    name = doc.get("name", Path(source).stem)
    if not isinstance(name, str) or not name:
        raise ManifestError("name must be a string")
    if "duration_s" not in doc:
        raise ManifestError("missing duration_s (seconds of the run after the nodes are up)")
    duration = float(_number(doc["duration_s"], "duration_s", 10, 86_400))
    slot_ms = int(_number(doc.get("slot_ms", 1000), "slot_ms", 200, 60_000, integer=True))
    epoch_slots = int(_number(doc.get("epoch_slots", 5), "epoch_slots", 2, 10_000, integer=True))
    settle = float(_number(doc.get("settle_s", 20), "settle_s", 0, 3_600))
    network = doc.get("network", {})
    load = doc.get("load", {})
    checks = doc.get("checks", {})
    if not isinstance(network, dict) or not isinstance(load, dict) or not isinstance(checks, dict):
        raise ManifestError("[network], [load] and [checks] are tables")
    _take(network, "[network]", {"bootnodes", "in_peers", "out_peers"})
    _take(load, "[load]", {"tps"})
    _take(checks, "[checks]", {"clock_lag_blocks", "clock_join_s", "finality_resume_epochs", "join_sync_s",
                               "join_lag_blocks"})
    clock_lag = int(_number(checks.get("clock_lag_blocks", 20), "[checks].clock_lag_blocks", 1, 100_000, integer=True))
    clock_join = float(_number(checks.get("clock_join_s", 45), "[checks].clock_join_s", 0, 3_600))
    join_sync = float(_number(checks.get("join_sync_s", 60), "[checks].join_sync_s", 1, 3_600))
    join_lag = int(_number(checks.get("join_lag_blocks", 10), "[checks].join_lag_blocks", 1, 100_000, integer=True))
    resume: int | None = None
    if "finality_resume_epochs" in checks:
        resume = int(_number(checks["finality_resume_epochs"], "[checks].finality_resume_epochs", 1, 1_000,
                             integer=True))
    raw_nodes = doc.get("node")
    if not isinstance(raw_nodes, list) or not raw_nodes:
        raise ManifestError("no [[node]] entries")
    if len(raw_nodes) > MAX_NODES:
        raise ManifestError(f"{len(raw_nodes)} nodes; at most {MAX_NODES}")
    nodes = tuple(_node(raw, i) for i, raw in enumerate(raw_nodes))
    names = [n.name for n in nodes]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup is not None:
        raise ManifestError(f"two nodes are named {dup!r}")
    accounts = [n.validator for n in nodes if n.validator is not None]
    dup = next((a for a in accounts if accounts.count(a) > 1), None)
    if dup is not None:
        raise ManifestError(f"validator {dup!r} is on two nodes (that would be equivocation)")
    if not accounts:
        raise ManifestError("no node is a validator: nothing would author blocks")
    if sum(1 for n in nodes if n.clinic) > 1:
        raise ManifestError("at most one node runs the clinic (it signs with ferdie)")
    bootnodes = int(_number(network.get("bootnodes", 1), "[network].bootnodes", 1, len(nodes), integer=True))
    in_peers = int(_number(network.get("in_peers", 25), "[network].in_peers", 1, 200, integer=True))
    out_peers = int(_number(network.get("out_peers", 8), "[network].out_peers", 1, 200, integer=True))
    tps = float(_number(load.get("tps", 0), "[load].tps", 0, 100))
    raw_parts = doc.get("partition", [])
    if not isinstance(raw_parts, list):
        raise ManifestError("partition must be [[partition]] tables")
    epoch_ms = epoch_slots * slot_ms
    partitions = [_partition(raw, f"partition #{i}", names, epoch_ms) for i, raw in enumerate(raw_parts)]
    manifest = Manifest(name, duration, slot_ms, epoch_slots, nodes, tuple(partitions), tps, bootnodes, in_peers,
                        out_peers, settle, clock_lag, clock_join, source, finality_resume_epochs=resume,
                        join_sync_s=join_sync, join_lag_blocks=join_lag,
                        upgrade=_upgrade(doc.get("upgrade"), Path(source).parent, nodes, duration))
    _check_joins(manifest)
    epoch_s = manifest.epoch_s
    ends = [(p.at_s + p.for_s, f"{n.name}'s {p.kind} at {p.at_s:g} s") for n in nodes for p in n.perturbations]
    ends += [(p.latest_start_s(epoch_s) + p.for_s, f"partition #{i}" + (" (aligned: it may start up to one epoch "
                                                                         "after `at`)" if p.align_epoch else ""))
             for i, p in enumerate(partitions)]
    last_end, what = max(ends + [(0.0, "")])
    if last_end > duration:
        raise ManifestError(f"a perturbation ends at {last_end:g} s, after duration_s ({duration:g}): {what}")
    _check_stalls(manifest)
    return manifest


def _upgrade(raw: Any, folder: Path, nodes: tuple[NodeSpec, ...], duration: float) -> UpgradePlan | None:
    if raw is None:
        return None
    where = "[upgrade]"
    if not isinstance(raw, dict):
        raise ManifestError(f"{where} is a table")
    _take(raw, where, {"database", "spec", "propose_at", "delay_blocks", "kill_at_boundary", "kill_for", "proposer"})
    for key in ("database", "spec", "propose_at", "delay_blocks"):
        if key not in raw:
            raise ManifestError(f"{where}: missing `{key}`")
    if not isinstance(raw["database"], str) or not raw["database"]:
        raise ManifestError(f"{where}.database: the path of a recorded network's tarball, relative to the manifest")
    database = (folder / raw["database"]).resolve()
    if not database.is_file():
        raise ManifestError(f"{where}.database: no file {database}")
    spec = int(_number(raw["spec"], f"{where}.spec", 1, 2**32 - 1, integer=True))
    propose_at = float(_number(raw["propose_at"], f"{where}.propose_at", 0, duration))
    delay = int(_number(raw["delay_blocks"], f"{where}.delay_blocks", 1, 100_000, integer=True))
    kill_for = float(_number(raw.get("kill_for", 6), f"{where}.kill_for", 1, 3_600))
    names = {n.name: n for n in nodes}
    kills = raw.get("kill_at_boundary", [])
    if not isinstance(kills, list) or not all(isinstance(k, str) for k in kills) or len(set(kills)) != len(kills):
        raise ManifestError(f"{where}.kill_at_boundary: a list of distinct node names")
    for k in kills:
        if k not in names:
            raise ManifestError(f"{where}.kill_at_boundary: unknown node {k!r}")
        if names[k].join_at_s is not None or names[k].max_spec is not None:
            raise ManifestError(f"{where}.kill_at_boundary: {k!r} joins later or cannot run the spec: kill a node that "
                                "runs through the boundary")
    proposer = raw.get("proposer", "alice")
    if proposer not in VALIDATOR_ACCOUNTS:
        raise ManifestError(f"{where}.proposer: one of {', '.join(VALIDATOR_ACCOUNTS)}, got {proposer!r}")
    if any(n.validator == proposer and n.miner for n in nodes):
        raise ManifestError(f"{where}.proposer: {proposer!r} runs a miner, which signs with the same nonces")
    return UpgradePlan(database, spec, propose_at, delay, tuple(kills), kill_for, proposer)


def _partition(raw: Any, where: str, names: list[str], epoch_ms: int) -> Partition:
    if not isinstance(raw, dict):
        raise ManifestError(f"{where}: a table with at, for, groups")
    _take(raw, where, {"at", "for", "groups", "align", "lead_ms"})
    for key in ("at", "for", "groups"):
        if key not in raw:
            raise ManifestError(f"{where}: missing `{key}`")
    groups = raw["groups"]
    if (not isinstance(groups, list) or len(groups) != 2
            or not all(isinstance(g, list) and g and all(isinstance(x, str) for x in g) for g in groups)):
        raise ManifestError(f"{where}: groups is two non-empty lists of node names")
    for member in groups[0] + groups[1]:
        if member not in names:
            raise ManifestError(f"{where}: unknown node {member!r}")
    if set(groups[0]) & set(groups[1]):
        raise ManifestError(f"{where}: a node is in both groups")
    align = raw.get("align")
    if align is not None and align not in ALIGNMENTS:
        raise ManifestError(f"{where}: align must be one of {', '.join(repr(a) for a in ALIGNMENTS)}, got {align!r}")
    lead = 0
    if "lead_ms" in raw:
        if align is None:
            raise ManifestError(f"{where}: lead_ms (how long before the epoch boundary) needs align = \"epoch\"")
        lead = int(_number(raw["lead_ms"], f"{where}.lead_ms", 0, epoch_ms - 1, integer=True))
    return Partition(float(_number(raw["at"], f"{where}.at", 0, 86_400)),
                     float(_number(raw["for"], f"{where}.for", 1, 3_600)),
                     (tuple(groups[0]), tuple(groups[1])), align is not None, lead)


def _check_joins(m: Manifest) -> None:
    """A joining node runs within the run, is no bootnode, and no partition names it before it joined."""
    for index, node in enumerate(m.nodes):
        join_at = node.join_at_s
        if join_at is None:
            continue
        where = f"node {node.name!r}"
        if join_at >= m.duration_s:
            raise ManifestError(f"{where}.join_at: {join_at:g} s is not before duration_s ({m.duration_s:g}): the node "
                                "would never run")
        if index < m.bootnodes:
            raise ManifestError(f"{where}: joins at {join_at:g} s, but it is among the first {m.bootnodes} nodes, "
                                "the bootnodes every node starts with: put it after them, or lower "
                                "[network].bootnodes")
        for i, part in enumerate(m.partitions):
            if node.name in part.groups[0] + part.groups[1] and part.at_s <= join_at:
                raise ManifestError(f"partition #{i} (at {part.at_s:g} s) names {node.name!r}, which joins only at "
                                    f"{join_at:g} s: a partition naming a joining node starts after it joined")


def _check_stalls(m: Manifest) -> None:
    """A partition that stops finality needs the resume bound, and nothing else may overlap it."""
    epoch_s = m.epoch_s
    for i, part in enumerate(m.partitions):
        if not m.stalls_finality(part):
            continue
        where = f"partition #{i}"
        if m.finality_resume_epochs is None:
            raise ManifestError(f"{where}: neither group holds 2/3 of the validators' stake, so finality stops while "
                                "it lasts: give [checks] finality_resume_epochs (the epochs after the heal within "
                                "which every node must finalize past the heal point)")
        lo, hi = part.at_s, part.latest_start_s(epoch_s) + part.for_s
        others = [(p.at_s, p.at_s + p.for_s, f"{n.name}'s {p.kind} at {p.at_s:g} s")
                  for n in m.nodes for p in n.perturbations]
        others += [(q.at_s, q.latest_start_s(epoch_s) + q.for_s, f"partition #{j} at {q.at_s:g} s")
                   for j, q in enumerate(m.partitions) if j != i]
        for start, end, what in others:
            if start <= hi and end >= lo:
                raise ManifestError(f"{where} stops finality ({lo:g}-{hi:g} s, the latest it may run), and {what} "
                                    "overlaps it: nothing else may be perturbed while finality is stopped")
