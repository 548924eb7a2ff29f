"""Random schedules, reproducible from (seed, index): every fourth index is a >= 1/3 Byzantine schedule, the others
honest-majority; one index in LONG_OUTAGE_EVERY is a long outage (below).

Shape of a schedule: 8..24 validator identities with bonds from 100 to 800 (uneven), up to two of them joining after
genesis; one or two observers; epochs of 4 slots of 10 ticks; GST at epoch 2..8. Churn is small and honest: up to
three set changes (a join, a leave, or a bond moved by up to 30%), never of a Byzantine validator. An honest-majority
schedule aims its Byzantine stake at 5% to 33% and keeps every epoch's Byzantine fraction plus the largest churn below
1/3 (changes are dropped, then Byzantine validators turned honest, until it does). Before GST: up to three partitions
of one slot to three epochs into two or three groups, up to four node restarts, a drop rate up to 30% and delays up to
four slots; pulls every one or two slots. The Byzantine validators act on a random share (their aggression, 20% to
100%) of their slots and votes, with every kind of `BlockAction` (withheld blocks released up to two epochs later) and
`VoteAction`, before and after GST.

A third of the schedules put the Byzantine stake just under (honest-majority: 28% to 33%) or just over (34% to 37%)
a third. Up to two honest validators rotate their session keys (leaders include the rotation in their next block, so
after a fork it may hold on one branch only); a restart loses nothing, the node's signing records, or every file
(the node is restored empty and syncs again), a quarter of the time each of the last two.

A >= 1/3 Byzantine schedule (1/3 to 1/2 of the stake) adds the attack on accountable safety: one partition from
epoch 1 to GST splitting the honest stake in two balanced halves, Byzantine leaders equivocating across it and
Byzantine validators mirroring each side's votes, so each side can reach 2/3 and finalize its own fork. Most of its
Byzantine validators rotate their keys on one side of the partition only (the first group's blocks carry it), so they
sign with new keys there and old ones elsewhere, and some deregister and unbond after GST.

A long outage (honest-majority) splits the nodes in two halves of balanced honest stake, neither with 2/3, from epoch
1 to GST, which is drawn from 16 to 300 epochs: finality stalls for that long and must resume within the bound.
"""
from __future__ import annotations

import random
from dataclasses import replace

from btt_chain.finality_sim.checks import LIVENESS_BOUND
from btt_chain.finality_sim.draws import draw
from btt_chain.finality_sim.schedule import (
    BLOCK_ACTIONS,
    OBSERVER_BASE,
    VOTE_ACTIONS,
    BlockAction,
    KeyRotation,
    Partition,
    Restart,
    Schedule,
    VoteAction,
)
from btt_chain.finality_sim.validators import SetChange, ValidatorSpec

EPOCH_SLOTS = 4
SLOT_TICKS = 10
BYZANTINE_THIRD_EVERY = 4
BYZANTINE_THIRD_EPOCHS_AFTER_GST = 4
"""A >= 1/3 Byzantine run goes this many epochs past GST (no liveness is owed)."""
LONG_OUTAGE_EVERY = 16
LONG_OUTAGE_AT = 6
"""Index % LONG_OUTAGE_EVERY == LONG_OUTAGE_AT: a long-outage schedule (an honest-majority index)."""


MAX_OUTAGE_EPOCHS = 300


def generate(seed: int, index: int, max_outage: int = MAX_OUTAGE_EPOCHS) -> Schedule:
    """Schedule `index` of `seed`; a long outage lasts at most `max_outage` epochs (16 at least)."""
    rng = random.Random(draw(seed, "schedule", index))
    byzantine_third = index % BYZANTINE_THIRD_EVERY == BYZANTINE_THIRD_EVERY - 1
    long_outage = index % LONG_OUTAGE_EVERY == LONG_OUTAGE_AT
    gst_epoch = rng.randint(2, 8)
    if long_outage:
        gst_epoch = rng.randint(16, 64) if rng.random() < 0.6 else rng.randint(64, MAX_OUTAGE_EPOCHS)
        gst_epoch = min(gst_epoch, max(16, max_outage))
    epochs = gst_epoch + (BYZANTINE_THIRD_EPOCHS_AFTER_GST if byzantine_third else LIVENESS_BOUND + 1)
    base = Schedule(
        seed=seed, index=index, byzantine_third=byzantine_third, epoch_slots=EPOCH_SLOTS, slot_ticks=SLOT_TICKS,
        gst_epoch=gst_epoch, epochs=epochs, validators=(), observers=rng.randint(1, 2),
        drop_permille=rng.choice((0, 0, 50, 100, 200, 300)), max_delay=rng.randint(SLOT_TICKS, 4 * SLOT_TICKS),
        pull_every=rng.choice((SLOT_TICKS, 2 * SLOT_TICKS)),
    )
    s = _with_validators(base, rng)
    s = replace(s, restarts=_restarts(s, rng), rotations=_rotations(s, rng))
    if byzantine_third or long_outage:
        s = replace(s, partitions=_balanced_partition(s))
    else:
        s = replace(s, partitions=_partitions(s, rng))
    if byzantine_third:
        s = replace(s, set_changes=s.set_changes + _byzantine_leaves(s, rng))
    return replace(s, block_actions=_block_actions(s, rng), vote_actions=_vote_actions(s, rng))


def _with_validators(s: Schedule, rng: random.Random) -> Schedule:
    n = rng.randint(8, 24)
    joiners = set(rng.sample(range(n), rng.randint(0, 2)))
    bonds = {i: rng.randint(100, 800) for i in range(n)}
    genesis_total = sum(b for i, b in bonds.items() if i not in joiners)
    near = rng.random() < 1 / 3
    if s.byzantine_third:
        goal = rng.uniform(0.334, 0.37) if near else rng.uniform(0.34, 0.5)
    else:
        goal = rng.uniform(0.28, 0.333) if near else rng.uniform(0.05, 0.33)
    byzantine: set[int] = set()
    for i in rng.sample(sorted(set(bonds) - joiners), n - len(joiners)):
        stake = sum(bonds[b] for b in byzantine)
        if s.byzantine_third and stake >= goal * genesis_total:
            break
        if not s.byzantine_third and stake + bonds[i] > goal * genesis_total:
            continue
        byzantine.add(i)
    changes = []
    honest = sorted(set(bonds) - byzantine - joiners)
    for j in sorted(joiners):
        changes.append(SetChange(rng.randint(1, s.epochs - 1), j, bonds[j]))
    for _ in range(rng.randint(0, 3 - len(joiners))):
        v = rng.choice(honest)
        bond = 0 if rng.random() < 0.3 else max(1, int(bonds[v] * rng.uniform(0.7, 1.3)))
        changes.append(SetChange(rng.randint(1, s.epochs - 1), v, bond))
    specs = tuple(ValidatorSpec(i, 0 if i in joiners else bonds[i], i in byzantine) for i in range(n))
    s = replace(s, validators=specs, set_changes=tuple(changes))
    while s.problems() and s.set_changes:
        s = replace(s, set_changes=s.set_changes[:-1])
    while s.problems() and not s.byzantine_third:
        turned = max(v.index for v in s.validators if v.byzantine)
        s = replace(s, validators=tuple(replace(v, byzantine=False) if v.index == turned else v
                                        for v in s.validators))
    assert not s.problems(), s.problems()
    return s


def _restarts(s: Schedule, rng: random.Random) -> tuple[Restart, ...]:
    nodes = s.node_ids()
    found = []
    for node in rng.sample(nodes, min(len(nodes), rng.randint(0, 4))):
        down = rng.randrange(1, s.gst_tick - 1)
        lose = rng.choice(("", "", "records", "all"))
        found.append(Restart(node, down, rng.randint(down + 1, s.gst_tick), lose))
    return tuple(found)


def _rotations(s: Schedule, rng: random.Random) -> tuple[KeyRotation, ...]:
    honest = [v.index for v in s.validators if not v.byzantine]
    found = [KeyRotation(rng.randint(1, s.epochs - 2), v) for v in rng.sample(honest, min(len(honest),
                                                                                        rng.randint(0, 2)))]
    if s.byzantine_third:
        byzantine = sorted(v.index for v in s.validators if v.byzantine)
        last = max(1, s.gst_epoch - 3)
        for v in rng.sample(byzantine, rng.randint(len(byzantine) // 2, len(byzantine))):
            found.append(KeyRotation(rng.randint(1, last), v, fork_only=True))
    return tuple(sorted(found, key=lambda k: (k.epoch, k.validator)))


def _byzantine_leaves(s: Schedule, rng: random.Random) -> tuple[SetChange, ...]:
    """Some Byzantine validators deregister and unbond after GST (after their offences)."""
    if s.epochs - 1 <= s.gst_epoch:
        return ()
    byzantine = sorted(v.index for v in s.validators if v.byzantine)
    return tuple(SetChange(rng.randint(s.gst_epoch + 1, s.epochs - 1), v, 0)
                 for v in rng.sample(byzantine, rng.randint(0, len(byzantine) // 2)))


def _partitions(s: Schedule, rng: random.Random) -> tuple[Partition, ...]:
    found = []
    start = 0
    for _ in range(rng.randint(0, 3)):
        start = rng.randrange(start, s.gst_tick - 1)
        end = min(s.gst_tick, start + rng.randint(s.slot_ticks, 3 * s.epoch_ticks))
        nodes = list(s.node_ids())
        rng.shuffle(nodes)
        cuts = sorted(rng.sample(range(1, len(nodes)), min(len(nodes) - 1, rng.randint(1, 2))))
        groups = [tuple(sorted(nodes[a:b])) for a, b in zip([0, *cuts], [*cuts, len(nodes)], strict=True)]
        found.append(Partition(start, end, tuple(groups)))
        start = end
        if start >= s.gst_tick - 1:
            break
    return tuple(found)


def _balanced_partition(s: Schedule) -> tuple[Partition, ...]:
    """Two groups holding as equal honest stake as bonds allow, from epoch 1 to GST."""
    sets = s.sets()
    bonds = sets.bonds_for(1)
    sides: tuple[list[int], list[int]] = ([], [])
    weight = [0, 0]
    for v in sorted(s.honest_validators(), key=lambda i: -bonds.get(i, 0)):
        side = 0 if weight[0] <= weight[1] else 1
        sides[side].append(v)
        weight[side] += bonds.get(v, 0)
    for i in range(s.observers):
        sides[i % 2].append(OBSERVER_BASE + i)
    return (Partition(s.epoch_ticks, s.gst_tick, (tuple(sorted(sides[0])), tuple(sorted(sides[1])))),)


def _block_actions(s: Schedule, rng: random.Random) -> tuple[BlockAction, ...]:
    sets = s.sets()
    aggression = rng.uniform(0.2, 1.0)
    attack = s.partitions[0] if s.byzantine_third else None
    found = []
    for slot in range(1, s.epochs * s.epoch_slots):
        if s.leader_of(slot, sets) not in sets.byzantine:
            continue
        if attack is not None and attack.start <= slot * s.slot_ticks < attack.end:
            found.append(BlockAction(slot, "equivocate"))
        elif rng.random() < aggression:
            kind = rng.choice(BLOCK_ACTIONS)
            release = rng.randint(1, 2 * s.epoch_ticks) if kind == "withhold" else 0
            found.append(BlockAction(slot, kind, release, kind == "withhold" and rng.random() < 0.5))
    return tuple(found)


def _vote_actions(s: Schedule, rng: random.Random) -> tuple[VoteAction, ...]:
    sets = s.sets()
    aggression = rng.uniform(0.2, 1.0)
    attack = s.partitions[0] if s.byzantine_third else None
    found = []
    for epoch in range(1, s.epochs):
        for v in sorted(sets.byzantine & sets.bonds_for(epoch).keys()):
            if attack is not None and attack.start <= epoch * s.epoch_ticks + s.slot_ticks < attack.end:
                found.append(VoteAction(epoch, v, "mirror"))
            elif rng.random() < aggression:
                kind = rng.choice(VOTE_ACTIONS)
                found.append(VoteAction(epoch, v, kind, rng.randint(1, 3 * s.slot_ticks) if kind == "late" else 0))
    return tuple(found)


