"""One simulation run as plain data: the validators and their set changes, the network's faults before GST, the
Byzantine validators' actions, and overrides for scripted scenarios. A schedule is all a run depends on (message
delays and leaders are drawn from its seed by hashing), so its JSON replays the run exactly, and the shrinker can
drop any event from it.

Time is counted in ticks: slot s starts at tick s * slot_ticks, epoch e at tick e * epoch_slots * slot_ticks. Node ids
are validator indices for validators' nodes and OBSERVER_BASE + i for observers; Byzantine validators run no node.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from btt_chain.consensus.vote_rule import vote_delay
from btt_chain.finality_sim.draws import draw, pick_weighted
from btt_chain.finality_sim.validators import EpochSets, SetChange, ValidatorSpec

OBSERVER_BASE = 1000

BLOCK_ACTIONS = ("skip", "withhold", "equivocate")
VOTE_ACTIONS = ("abstain", "double", "surround", "off_chain", "late", "partial", "mirror")


@dataclass(frozen=True)
class Partition:
    """From tick `start` to `end` messages between nodes of different groups are lost (syncs too)."""

    start: int
    end: int
    groups: tuple[tuple[int, ...], ...]


LOSSES = ("", "records", "all")


@dataclass(frozen=True)
class Restart:
    """Node `node` is down from tick `down` to tick `up`: it loses what it held in memory, and with `lose` more: its
    signing records ("records"), or every local file ("all": restored empty, it syncs from its peers again)."""

    node: int
    down: int
    up: int
    lose: str = ""


@dataclass(frozen=True)
class KeyRotation:
    """Validator `validator` rotates its session key from epoch `epoch` on: honest leaders (and, unless `fork_only`,
    Byzantine ones) include the rotation in their next block that lacks it; a `fork_only` rotation is a Byzantine
    validator's, which the adversary includes only in the blocks it sends to one side of a partition."""

    epoch: int
    validator: int
    fork_only: bool = False


@dataclass(frozen=True)
class DelayRule:
    """Scripted scenarios: messages of `kind` ("block", "vote" or "sync") from `senders` to `receivers` sent in ticks
    start..end are held until tick `arrive` (or arrive the next tick if that has passed) instead of a drawn delay."""

    kind: str
    senders: tuple[int, ...]
    receivers: tuple[int, ...]
    start: int
    end: int
    arrive: int


@dataclass(frozen=True)
class BlockAction:
    """What the Byzantine leader of `slot` does instead of building on the common head and sending to everyone."""

    slot: int
    kind: str
    """skip | withhold (keep the block, or the private chain it extends, until `release` ticks after the slot start,
    then send it to everyone or, with `half`, to half of the nodes) | equivocate (two blocks on different parents, or
    one per partition group, each sent to its half)."""
    release: int = 0
    half: bool = False


@dataclass(frozen=True)
class VoteAction:
    """What Byzantine validator `validator` does in `epoch` instead of voting like an honest node would."""

    epoch: int
    validator: int
    kind: str
    """abstain | double (two targets of the epoch, each to half of the nodes) | surround (a source below its last one,
    so the vote surrounds it) | off_chain (a source not on the target's chain) | late (released `delay` ticks late) |
    partial (sent to half the nodes) | mirror (in each partition group, the link that group's nodes vote)."""
    delay: int = 0


@dataclass(frozen=True)
class Schedule:
    seed: int
    index: int
    byzantine_third: bool
    """True: Byzantine validators hold >= 1/3 until GST (accountable safety; some may leave after it); False:
    honest-majority (see `validators`)."""
    epoch_slots: int
    slot_ticks: int
    gst_epoch: int
    """From the first tick of this epoch: every honest node up, no partition, no drop, delays below one slot."""
    epochs: int
    """Epochs run (0 .. epochs - 1)."""
    validators: tuple[ValidatorSpec, ...]
    set_changes: tuple[SetChange, ...] = ()
    observers: int = 1
    drop_permille: int = 0
    """Before GST: the chance, in thousandths, that a message between honest nodes is lost."""
    max_delay: int = 1
    """Before GST: message delays are drawn from 1..max_delay ticks."""
    pull_every: int = 10
    """Ticks between two pulls (blocks and latest justifications) of one node from a random reachable peer."""
    partitions: tuple[Partition, ...] = ()
    restarts: tuple[Restart, ...] = ()
    rotations: tuple[KeyRotation, ...] = ()
    delays: tuple[DelayRule, ...] = ()
    block_actions: tuple[BlockAction, ...] = ()
    vote_actions: tuple[VoteAction, ...] = ()
    leaders: tuple[tuple[int, int], ...] = field(default=())
    """(slot, validator) overrides of the drawn leaders (scripted scenarios); validator -1: nobody leads."""
    vote_delay_slots: int | None = None
    """Slots into an epoch a validator waits before it votes; None: the node's (`vote_rule.vote_delay`). The scripted
    attacks pin 0 (a vote at the first block of the epoch), the timing their held messages were written for."""

    @property
    def vote_delay(self) -> int:
        return vote_delay(self.epoch_slots) if self.vote_delay_slots is None else self.vote_delay_slots

    @property
    def epoch_ticks(self) -> int:
        return self.epoch_slots * self.slot_ticks

    @property
    def gst_tick(self) -> int:
        return self.gst_epoch * self.epoch_ticks

    @property
    def end_tick(self) -> int:
        return self.epochs * self.epoch_ticks

    def sets(self) -> EpochSets:
        return EpochSets(self.validators, self.set_changes)

    def honest_validators(self) -> tuple[int, ...]:
        return tuple(v.index for v in self.validators if not v.byzantine)

    def node_ids(self) -> tuple[int, ...]:
        """Honest validators' nodes, then observers."""
        return self.honest_validators() + tuple(OBSERVER_BASE + i for i in range(self.observers))

    def leader_of(self, slot: int, sets: EpochSets) -> int | None:
        """The validator that leads `slot`: drawn by stake from the set of the slot's epoch (or the scripted one)."""
        for s, v in self.leaders:
            if s == slot:
                return None if v < 0 else v
        bonds = sorted(sets.bonds_for(slot // self.epoch_slots).items())
        return pick_weighted(draw(self.seed, "leader", slot), bonds)

    def problems(self) -> list[str]:
        """Why this schedule is not well formed (empty: it is)."""
        found = []
        sets = self.sets()
        if not 0 < self.gst_epoch < self.epochs:
            found.append("gst_epoch must be inside the run")
        if self.byzantine_third and not sets.byzantine_third(self.gst_epoch):
            found.append("the Byzantine validators hold less than 1/3 in some epoch before GST")
        if not self.byzantine_third and not sets.honest_majority(self.epochs):
            found.append("Byzantine stake plus churn reaches 1/3 in some epoch")
        if any(sets.set_for(e).total == 0 for e in range(self.epochs + 1)):
            found.append("an epoch has no bonded stake")
        nodes = set(self.node_ids())
        for r in self.restarts:
            if r.node not in nodes or not r.down < r.up <= self.gst_tick or r.lose not in LOSSES:
                found.append(f"restart {r} must be of a node, end by GST and lose one of {LOSSES}")
        specs = {v.index: v for v in self.validators}
        for k in self.rotations:
            if k.validator not in specs or not 0 < k.epoch < self.epochs or (k.fork_only and not
                                                                              specs[k.validator].byzantine):
                found.append(f"rotation {k} must be of a validator inside the run (fork-only: a Byzantine one)")
        for p in self.partitions:
            if not p.start < p.end <= self.gst_tick:
                found.append(f"partition {p.start}..{p.end} must end by GST")
        return found

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Schedule:
        raw = json.loads(text)
        kinds: dict[str, Any] = {
            "validators": ValidatorSpec, "set_changes": SetChange, "partitions": Partition, "restarts": Restart,
            "rotations": KeyRotation, "delays": DelayRule, "block_actions": BlockAction, "vote_actions": VoteAction,
        }
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in raw and (f.name in kinds or f.name == "vote_delay_slots"):
                continue  # a field added since the schedule was printed: its default
            v = raw[f.name]
            if f.name in kinds:
                v = tuple(kinds[f.name](**_tuples(x)) for x in v)
            elif f.name == "leaders":
                v = tuple((int(s), int(i)) for s, i in v)
            values[f.name] = v
        return cls(**values)

    def without_validator(self, index: int) -> Schedule:
        """This schedule without validator `index` and every event that names it."""
        return replace(
            self,
            validators=tuple(v for v in self.validators if v.index != index),
            set_changes=tuple(c for c in self.set_changes if c.validator != index),
            restarts=tuple(r for r in self.restarts if r.node != index),
            rotations=tuple(k for k in self.rotations if k.validator != index),
            partitions=tuple(replace(p, groups=tuple(tuple(n for n in g if n != index) for g in p.groups))
                             for p in self.partitions),
            vote_actions=tuple(a for a in self.vote_actions if a.validator != index),
            leaders=tuple((s, i) for s, i in self.leaders if i != index),
        )


def _tuples(raw: dict[str, Any]) -> dict[str, Any]:
    """JSON lists back to tuples (nested ones too)."""
    def conv(v: Any) -> Any:
        return tuple(conv(x) for x in v) if isinstance(v, list) else v
    return {k: conv(v) for k, v in raw.items()}
