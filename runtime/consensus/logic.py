"""Consensus rules the runtime enforces on every block (docs/architecture.md, Consensus 2-3), in this order:

1. the block's author must be its slot's leader under the schedule its parent's state gives the block's epoch
   (at an epoch's first block: the `following` schedule fixed one epoch earlier);
2. the header's reveal must be the next preimage of the author's hash chain; it is folded into the chain's
   randomness, which seeds the next schedules and the compute module's draws;
3. at an epoch's first block, the validator sets rotate (`bonds.logic.rotate_session`: the queued set becomes
   active, the set for the next epoch is queued), that epoch's schedule becomes `current`, and the next
   epoch's schedule is drawn from the newly queued set, with the state at the end of the previous epoch (so
   the schedule of epoch e comes from the state at the end of e - 2 and nobody can grind it).

So the schedule of every epoch is drawn over exactly the set active in it: a validator leads slots exactly
in the epochs in which it is active. A block that breaks a rule raises InvalidBlock from `on_initialize`: it
is not a valid block on any node.
"""

from __future__ import annotations

from collections.abc import Iterable

from btt_chain.primitives.errors import InvalidBlock
from btt_chain.primitives.hash_chain import mix_seed, verify_reveal
from btt_chain.primitives.hashing import blake2b_256
from runtime.context import CallContext
from runtime.overlay import Overlay

from ..bonds.logic import rotate_session
from ..compute import credit
from ..consensus import events, storage
from ..consensus.leader import slot_leader
from ..consensus.power import power_table
from ..consensus.types import EpochSchedule
from ..session import storage as session

WORK_WINDOW_PARAM = "consensus.work_window_epochs"


def epoch_of(state: Overlay, slot: int) -> int:
    per = storage.epoch_slots.get(state)
    return slot // per if per else 0


def next_seed(randomness: bytes, epoch: int) -> bytes:
    return blake2b_256(b"btt-epoch-seed" + randomness + epoch.to_bytes(8, "big"))


def schedule_for_epoch(state: Overlay, epoch: int) -> EpochSchedule | None:
    """The schedule a block of `epoch` is checked against, seen from `state` (its parent's state). An epoch
    after the following one (no block in between) reuses the following table with a seed of its own."""
    cur = storage.current.get(state)
    if cur is None:
        return None
    if epoch <= cur.epoch:
        return cur
    following = storage.following.get(state)
    if epoch == cur.epoch + 1:
        return following
    seed = blake2b_256(b"btt-epoch-skip" + following.seed + epoch.to_bytes(8, "big"))
    return following.replace(epoch=epoch, seed=seed)


def build_schedule(state: Overlay, epoch: int, seed: bytes) -> EpochSchedule:
    """The power table over the queued validators (the set of `epoch`): bond share and matured work credit
    over the window."""
    validators = session.queued.get(state)
    window = state_param(state, WORK_WINDOW_PARAM)
    upto = epoch - 2
    credits = {v.account: credit.recent_credit(state, v.account, upto, window) for v in validators}
    table = power_table([(v.account, v.session_key, v.bond) for v in validators], credits)
    return EpochSchedule(epoch, seed, table)


def leader(schedule: EpochSchedule, slot: int) -> bytes | None:
    return slot_leader([(e.session_key, e.weight) for e in schedule.table], schedule.seed, slot)


def leader_of_slot(state: Overlay, slot: int) -> bytes | None:
    """The session key that may author `slot` on top of `state`; None when nobody can (no schedule)."""
    schedule = schedule_for_epoch(state, epoch_of(state, slot))
    return None if schedule is None else leader(schedule, slot)


def is_scheduled(state: Overlay, session_key: bytes) -> bool:
    """Whether `session_key` has weight in the current or the following schedule."""
    return any(key == session_key for _, key in scheduled(state))


def scheduled(state: Overlay) -> frozenset[tuple[bytes, bytes]]:
    """(account, session key) of every row with weight in the current or the following schedule."""
    return frozenset((e.account, e.session_key) for schedule in (storage.current.get(state),
                                                                  storage.following.get(state))
                     if schedule is not None for e in schedule.table if e.weight)


def next_reveal_index(state: Overlay, session_key: bytes) -> int | None:
    """Which preimage of its hash chain `session_key`'s next block on top of `state` must reveal."""
    rs = storage.reveals.get(state, session_key)
    return None if rs is None else rs.count + 1


def on_initialize(ctx: CallContext) -> None:
    state, env = ctx.state, ctx.env
    if env.speculative:
        return
    cur = storage.current.get(state)
    if cur is None:
        return
    epoch = epoch_of(state, env.slot)
    new_epoch = epoch != cur.epoch
    schedule = schedule_for_epoch(state, epoch) if new_epoch else cur
    assert schedule is not None
    if schedule.total_weight > 0:
        expected = leader(schedule, env.slot)
        if env.author != expected:
            raise InvalidBlock(f"author is not the leader of slot {env.slot}")
    rs = storage.reveals.get(state, env.author)
    if rs is None:
        raise InvalidBlock("the author has no hash-chain commitment")
    if not verify_reveal(rs.last, env.reveal):
        raise InvalidBlock(f"the header's reveal is not preimage {rs.count + 1} of the author's hash chain")
    randomness = storage.randomness.get(state)
    storage.reveals.put(state, env.author, rs.replace(last=env.reveal, count=rs.count + 1))
    storage.randomness.put(state, mix_seed(randomness, env.reveal))
    if new_epoch:
        rotate_session(ctx, epoch)
        # seeded by the randomness up to the parent: everything the next schedule depends on predates this block
        following = build_schedule(state, epoch + 1, next_seed(randomness, epoch + 1))
        storage.current.put(state, schedule)
        storage.following.put(state, following)
        ctx.emit(events.EpochStarted(epoch, len(schedule.table), schedule.seed))


def build_genesis(
    state: Overlay, epoch_slots: int, slot_ms: int, spec_hash: bytes, commitments: Iterable[tuple[bytes, bytes]]
) -> None:
    """Genesis: the schedules of epochs 0 and 1 by bond alone (no work exists yet), both over the genesis set
    (which genesis puts in `session.queued` as well as `session.validators`), and each genesis validator's
    commitment."""
    storage.epoch_slots.put(state, epoch_slots)
    storage.slot_ms.put(state, slot_ms)
    for key, commitment in commitments:
        storage.set_commitment(state, key, commitment)
    randomness = blake2b_256(b"btt-genesis-randomness" + spec_hash)
    storage.randomness.put(state, randomness)
    storage.current.put(state, build_schedule(state, 0, next_seed(randomness, 0)))
    storage.following.put(state, build_schedule(state, 1, next_seed(randomness, 1)))


def state_param(state: Overlay, name: str) -> int:
    from ..params import storage as params

    return params.get_param(state, name)
