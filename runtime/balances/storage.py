"""FRAME's `Balances` storage items that btt computes instead of storing: `Locks`, `Reserves`, `Freezes` and `Holds`.

The state holds nothing under them. They are in the metadata so that clients decode them (`api.derive.balances.all`
reads `Balances.Locks` for an account's locked balance), and the node serves them at their FRAME keys
(`Blake2_128Concat(AccountId32)`, through `btt_chain.rpc.virtual_storage`):

* `Locks` (`WeakBoundedVec<BalanceLock {id: [u8; 8], amount: u128, reasons: Reasons}>`): the account's locks as the
  lock sources hold them at the block's time (`runtime.balances.locks.lock_breakdown`, the same sources that set
  `frozen`, what the runtime checks spendable balance against), each with its source's FRAME identifier (`vesting `,
  `pyconvot`) and `Reasons::All` (a btt lock holds the balance against transfers, reserves and fees alike). An
  account with no lock has no value, as in FRAME.
* `Reserves` (`BoundedVec<ReserveData {id: [u8; 8], amount}>`, FRAME's named reserves), `Freezes` and `Holds`
  (`BoundedVec<IdAmount<RuntimeFreezeReason | RuntimeHoldReason, u128>>`): always empty, so never stored and read as
  their default. btt has no named reserves, fungible freezes or holds: its locks are `Locks`, and what bonds,
  stakes and deposits set aside is FRAME's anonymous reserve, the account's `reserved` (`api.derive.balances.all`
  reads `Reserves` beside `Locks`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from btt_chain.primitives import scale
from btt_chain.primitives.codec import ACCOUNT, Field
from btt_chain.primitives.hashing import blake2_128
from runtime.overlay import Overlay

from ..balances.locks import context_at, lock_breakdown
from ..items import storage_prefix
from ..storage_schema import StorageEntry, register
from ..system import storage as system

if TYPE_CHECKING:
    from runtime.dispatch import Runtime

    from ..metadata.registry import Registry

M = "balances"
REASONS_ALL = b"\x02"
"""`pallet_balances::types::Reasons::All`."""
_HASHED_ACCOUNT = 16 + 32
"""A key's part after the item prefix: blake2_128(account) ++ account."""


class _DerivedValue(Field):
    """A value computed for clients, never stored: only encoded. Its type is FRAME's, built by the `frame_types`
    function named `FRAME_TYPE` (imported when the metadata is built: the runtime's modules import this one)."""

    SCALE_TYPE_NAME: str
    FRAME_TYPE: str

    def scale_type(self, reg: Registry) -> int:
        from ..metadata import frame_types

        return int(getattr(frame_types, self.FRAME_TYPE)(reg))

    def to_wire(self, value: Any) -> Any:
        raise NotImplementedError(f"{self.name} is computed, never stored")

    def from_wire(self, wire: Any) -> Any:
        raise NotImplementedError(f"{self.name} is computed, never stored")

    def decode_scale(self, data: bytes, pos: int) -> tuple[Any, int]:
        raise NotImplementedError(f"{self.name} is computed, never stored")


class BalanceLocks(_DerivedValue):
    """`Balances.Locks`' value from `lock_breakdown`'s ((identifier, amount), ...)."""

    name = "BalanceLocks"
    SCALE_TYPE_NAME = "WeakBoundedVec<BalanceLock<T::Balance>, T::MaxLocks>"
    FRAME_TYPE = "balance_locks"

    def encode_scale(self, value: Any) -> bytes:
        return scale.encode_vec([identifier + scale.encode_uint(amount, 16) + REASONS_ALL
                                 for identifier, amount in value])


class _NoEntries(_DerivedValue):
    """A `BoundedVec` that is always empty here."""

    def __init__(self, type_name: str, frame_type: str) -> None:
        self.name = type_name
        self.SCALE_TYPE_NAME = type_name
        self.FRAME_TYPE = frame_type

    def encode_scale(self, value: Any) -> bytes:
        if value != ():
            raise ValueError(f"{self.name} is always empty here")
        return b"\x00"


LOCKS = BalanceLocks()
LOCKS_PREFIX = storage_prefix(M, "locks")

for _item, _value, _doc in (
    ("locks", LOCKS, "Any liquidity locks on some account balances (btt: each lock source's lock at the block's "
     "time)."),
    ("reserves", _NoEntries("BoundedVec<ReserveData<T::ReserveIdentifier, T::Balance>, T::MaxReserves>",
                            "balance_reserves"), "Named reserves on some account balances (none in btt: its reserves "
     "are anonymous, the account's `reserved`)."),
    ("freezes", _NoEntries("BoundedVec<IdAmount<T::FreezeIdentifier, T::Balance>, T::MaxFreezes>",
                           "balance_freezes"), "Freeze locks on account balances (none in btt)."),
    ("holds", _NoEntries("BoundedVec<IdAmount<T::RuntimeHoldReason, T::Balance>, T::MaxHolds>", "balance_holds"),
     "Holds on account balances (none in btt: what is set aside is reserved)."),
):
    register(StorageEntry(M, _item, (ACCOUNT,), ("Blake2_128Concat",), _value, (), _doc))


def locks_key(who: bytes) -> bytes:
    """`Balances.Locks`' key of an account: the item prefix ++ blake2_128(account) ++ account."""
    return LOCKS_PREFIX + blake2_128(who) + who


def locks_value(state: Overlay, key: bytes, runtime: Runtime) -> bytes | None:
    """The value at `key` under `Balances.Locks` in `state` (a block's), as FRAME would store it: the account's locks
    at the block's time, or None when it has none (or `key` is no account's key). Cost: one read per lock source
    and the account's record, as checking a transaction from the account reads."""
    if len(key) != len(LOCKS_PREFIX) + _HASHED_ACCOUNT or not key.startswith(LOCKS_PREFIX):
        return None
    who = key[-32:]
    if blake2_128(who) != key[len(LOCKS_PREFIX):-32]:
        return None
    locks = lock_breakdown(context_at(state, system.timestamp_ms.get(state), runtime), who)
    return LOCKS.encode_scale(locks) if locks else None
