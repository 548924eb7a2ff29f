"""FRAME's `Vesting.Vesting` as btt computes it for clients, never stored: an account's schedules at a block as
`pallet_vesting`'s records, `BoundedVec<VestingInfo {locked: u128, per_block: u128, starting_block: u32}>`, served
at FRAME's key (`Blake2_128Concat(AccountId32)`, through `btt_chain.rpc.virtual_storage`). Substrate API Sidecar's
`/accounts/{id}/vesting-info` returns them, and it and @polkadot/api's `derive.balances.all` compute what has vested.

btt's schedules run on time (a cliff, then linear to an end, in milliseconds; a milestone schedule only as far as
governance approved, under that line), FRAME's on block numbers: nothing before `starting_block`, then `per_block` a
block up to `locked`. A client's figure at block n is vested = sum of min(locked, per_block x (n - starting_block))
over the records with n > starting_block, and the vesting lock = sum of locked - vested. So that both are exactly
btt's at the block asked about (its `vesting ` lock in `Balances.Locks` is what is still locked at the block's time),
each schedule of total T with u unlocked at the block's time t becomes, at block n:

* what has vested (u > 0): `{locked: u, per_block: u, starting_block: n - 1}`, all vested at n;
* what has not (T - u > 0): `{locked: T - u, per_block: its pace a slot, starting_block: n}`, or, before the cliff,
  the block the cliff falls in if every slot has a block.

Their `locked` add up to T. For later blocks the records are a projection (a slot may pass without a block; they are
computed anew at every block). A milestone schedule whose next release waits for governance has a pace of 1 base
unit a block (FRAME's least: a zero pace is no valid record, and clients divide by it). At block 0 the vested
record cannot start before it and shows nothing vested (no schedule has unlocked anything at genesis).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from btt_chain.primitives import scale
from btt_chain.primitives.codec import ACCOUNT, Field
from btt_chain.primitives.hashing import blake2_128
from runtime.overlay import Overlay

from ..consensus import storage as consensus
from ..items import storage_prefix
from ..storage_schema import StorageEntry, register
from ..system import storage as system
from ..vesting import storage
from ..vesting.types import MILESTONE, VestingSchedule, compute_linear_cap, compute_unlocked

if TYPE_CHECKING:
    from runtime.dispatch import Runtime

    from ..metadata.registry import Registry

M = "vesting"
BLOCK_NUMBER_MAX = 2**32 - 1
"""FRAME's `BlockNumber` is a u32."""
_HASHED_ACCOUNT = 16 + 32


@dataclass(frozen=True)
class VestingInfo:
    """`pallet_vesting::vesting_info::VestingInfo<u128, u32>`."""

    locked: int
    per_block: int
    starting_block: int

    def encode(self) -> bytes:
        return scale.encode_uint(self.locked, 16) + scale.encode_uint(self.per_block, 16) + scale.encode_uint(
            self.starting_block, 4)


def pace_per_block(schedule: VestingSchedule, now_ms: int, slot_ms: int) -> int:
    """Base units the schedule unlocks a slot from `now_ms` on, from 1 to its total: its linear pace, rounded up; 1
    for a milestone schedule held at what governance approved."""
    if schedule.kind == MILESTONE and schedule.approved <= compute_linear_cap(schedule, now_ms):
        return 1
    span = schedule.end_ms - schedule.cliff_ms
    pace = schedule.total if span <= 0 else -(-schedule.total * slot_ms // span)
    return max(min(pace, schedule.total), 1)


def frame_records(schedule: VestingSchedule, number: int, now_ms: int, slot_ms: int) -> tuple[VestingInfo, ...]:
    """The FRAME records of one schedule at block `number` whose time is `now_ms` (see the module's docstring)."""
    slot_ms = max(slot_ms, 1)
    unlocked = compute_unlocked(schedule, now_ms)
    rest = schedule.total - unlocked
    records = []
    if unlocked:
        records.append(VestingInfo(unlocked, unlocked, max(number - 1, 0)))
    if rest:
        start = number
        if now_ms < schedule.cliff_ms:
            start += -(-(schedule.cliff_ms - now_ms) // slot_ms)
        pace = min(pace_per_block(schedule, now_ms, slot_ms), rest)  # more than `rest` a block means the same
        records.append(VestingInfo(rest, pace, min(start, BLOCK_NUMBER_MAX)))
    return tuple(records)


def account_records(state: Overlay, who: bytes) -> tuple[VestingInfo, ...] | None:
    """`Vesting.Vesting(who)` at the block whose post-state is `state`: None for an account with no schedules."""
    if not storage.schedules.contains(state, who):
        return None
    number, now, slot_ms = system.number.get(state), system.timestamp_ms.get(state), consensus.slot_ms.get(state)
    return tuple(r for s in storage.schedules.get(state, who) for r in frame_records(s, number, now, slot_ms))


class VestingInfos(Field):
    """`Vesting.Vesting`'s value: computed for clients, never stored, so only encoded."""

    name = "VestingInfos"
    SCALE_TYPE_NAME = "BoundedVec<VestingInfo<BalanceOf<T>, BlockNumberFor<T>>, MaxVestingSchedulesGet<T>>"

    def scale_type(self, reg: Registry) -> int:
        from ..metadata.registry import Composite, FieldInfo, TypeInfo, TypeParam

        u128, u32 = reg.primitive("u128"), reg.primitive("u32")
        info = reg.named("pallet_vesting::vesting_info::VestingInfo", lambda: TypeInfo(Composite((
            FieldInfo(u128, "locked", "Balance"), FieldInfo(u128, "per_block", "Balance"),
            FieldInfo(u32, "starting_block", "BlockNumber"),
        )), ("pallet_vesting", "vesting_info", "VestingInfo"), (TypeParam("Balance", u128),
                                                                 TypeParam("BlockNumber", u32))))
        return reg.add(TypeInfo(Composite((FieldInfo(reg.sequence(info), type_name="Vec<T>"),)),
                                ("bounded_collections", "bounded_vec", "BoundedVec"),
                                (TypeParam("T", info), TypeParam("S"))))

    def encode_scale(self, value: Any) -> bytes:
        return scale.encode_vec([record.encode() for record in value])


VESTING = VestingInfos()
VESTING_PREFIX = storage_prefix(M, "vesting")
register(StorageEntry(M, "vesting", (ACCOUNT,), ("Blake2_128Concat",), VESTING, None,
                      "Information regarding the vesting of a given account (btt: its schedules as FRAME's records at "
                      "the block, computed from `Schedules`)."))


def vesting_key(who: bytes) -> bytes:
    """`Vesting.Vesting`'s key of an account: the item prefix ++ blake2_128(account) ++ account."""
    return VESTING_PREFIX + blake2_128(who) + who


def vesting_value(state: Overlay, key: bytes, runtime: Runtime) -> bytes | None:
    """The value at `key` under `Vesting.Vesting` in `state` (a block's), as FRAME would store it, or None when the
    account has no schedules (or `key` is no account's key). Cost: one read of the account's schedules and three of
    the block's figures."""
    if len(key) != len(VESTING_PREFIX) + _HASHED_ACCOUNT or not key.startswith(VESTING_PREFIX):
        return None
    who = key[-32:]
    if blake2_128(who) != key[len(VESTING_PREFIX):-32]:
        return None
    records = account_records(state, who)
    return VESTING.encode_scale(records) if records else None
