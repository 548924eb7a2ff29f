"""Lock sources: modules that hold part of an account's free balance (vesting, votes) register here.

An account's `frozen` is derived, never set by hand: `refresh_frozen` asks every registered source how
much of the account it still locks at the block's time and sets `frozen` to the largest answer (locks
overlap, as in FRAME). A source answers None for an account it knows nothing about; when no source knows
the account its `frozen` is left as it is (genesis freezes such as the Strategic Reserve stay put).

Each source names its lock with FRAME's 8-byte lock identifier (`lock_identifier`), so `lock_breakdown` can list
an account's locks one by one as FRAME's `Balances.Locks` does (`runtime.balances.storage`); the largest of them is
the `frozen` above.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from runtime.context import BlockEnv, CallContext
from runtime.overlay import Overlay

from ..system import storage as system
from ..system.types import AccountInfo

if TYPE_CHECKING:
    from runtime.dispatch import Runtime

LockSource = Callable[[CallContext, bytes], "int | None"]
"""(ctx, account) -> the amount this source locks at ctx.env.timestamp_ms, or None if it does not know it.
A source answers from its own storage and the block's time, never from the account record itself: a fee taken
from the account does not change its locks (`refresh_frozen` relies on this)."""

_SOURCES: list[LockSource] = []
_IDENTIFIERS: dict[LockSource, bytes] = {}

UNSOURCED_LOCK_ID = b"genesis "
"""The identifier `lock_breakdown` gives a freeze no source accounts for: one set at genesis (the Strategic Reserve,
which only `treasury.release_strategic_reserve` lifts)."""


def lock_identifier(identifier: bytes) -> Callable[[LockSource], LockSource]:
    """Decorator: the lock source's FRAME lock identifier (8 bytes, `b"vesting "` for vesting, as FRAME's pallets
    name theirs), what `Balances.Locks` shows its lock as."""
    if len(identifier) != 8:
        raise ValueError(f"a lock identifier is 8 bytes, not {identifier!r}")

    def declare(fn: LockSource) -> LockSource:
        _IDENTIFIERS[fn] = identifier
        return fn

    return declare


def register_lock_source(fn: LockSource) -> None:
    """Add a lock source (declared with `lock_identifier`); registering the same function twice has no effect."""
    identifier = _IDENTIFIERS.get(fn)
    if identifier is None:
        raise ValueError(f"lock source {fn!r} has no lock identifier: declare it with @lock_identifier(b'........')")
    if identifier == UNSOURCED_LOCK_ID or any(_IDENTIFIERS[s] == identifier for s in _SOURCES if s is not fn):
        raise ValueError(f"lock identifier {identifier!r} is taken")
    if fn not in _SOURCES:
        _SOURCES.append(fn)


def lock_sources() -> tuple[LockSource, ...]:
    return tuple(_SOURCES)


def compute_frozen(ctx: CallContext, who: bytes) -> int | None:
    """The largest lock any source holds on `who`, or None when no source knows the account."""
    largest = None
    for source in _SOURCES:
        answer = source(ctx, who)
        if answer is not None and (largest is None or answer > largest):
            largest = answer
    return largest


def lock_breakdown(ctx: CallContext, who: bytes) -> tuple[tuple[bytes, int], ...]:
    """`who`'s locks at the block's time, one per source that locks part of it: (lock identifier, amount), in the
    order the sources were registered. An account no source knows keeps its frozen balance as it is (see above):
    that freeze is one lock, `UNSOURCED_LOCK_ID`. The largest amount is `get_current_account(ctx, who).frozen`."""
    locks = []
    known = False
    for source in _SOURCES:
        answer = source(ctx, who)
        if answer is not None:
            known = True
            if answer:
                locks.append((_IDENTIFIERS[source], answer))
    if not known:
        frozen = system.account.get(ctx.state, who).frozen
        if frozen:
            locks.append((UNSOURCED_LOCK_ID, frozen))
    return tuple(locks)


def get_current_account(ctx: CallContext, who: bytes) -> AccountInfo:
    """`who`'s account with `frozen` as its locks stand at the block's time, without writing anything.

    Inclusion checks use this: an extrinsic refused there must leave no trace in the block's state."""
    acc = system.account.get(ctx.state, who)
    frozen = None  # `compute_frozen` inlined: every extrinsic's check asks
    for source in _SOURCES:
        answer = source(ctx, who)
        if answer is not None and (frozen is None or answer > frozen):
            frozen = answer
    if frozen is None or frozen == acc.frozen:
        return acc
    return acc.replace(frozen=frozen)


def refresh_frozen(ctx: CallContext, who: bytes) -> AccountInfo:
    """Bring `who`'s frozen balance up to date with its locks at the block's time; return the account.

    The signer's account as its fee withdrawal left it is returned as it is while nothing has been written since
    (`CallContext.fresh_account`): its locks were computed at this block's time just before, and no lock source
    or account can have changed without a write."""
    fresh = ctx.fresh_account
    if fresh is not None and fresh[0] == who and fresh[2] is ctx.state and fresh[3] == ctx.state.writes:
        return fresh[1]
    stored = system.account.get(ctx.state, who)
    acc = get_current_account(ctx, who)
    if acc != stored:
        system.account.put(ctx.state, who, acc)
    return acc


def context_at(state: Overlay, timestamp_ms: int, runtime: Runtime) -> CallContext:
    """A read-only call context over `state` at `timestamp_ms`: what a lock source needs to answer for a block."""
    env = BlockEnv(system.number.get(state), bytes(32), system.slot.get(state), timestamp_ms, bytes(32),
                   speculative=True)
    return CallContext(state, env, runtime)


def account_at(state: Overlay, who: bytes, timestamp_ms: int, runtime: Runtime) -> AccountInfo:
    """`who`'s account with `frozen` as its locks stand at `timestamp_ms` (for what the chain reports at a block:
    a vote lock that ended before the head's time shows as ended, exactly as the next transaction sees it)."""
    return get_current_account(context_at(state, timestamp_ms, runtime), who)
