"""Runs of plain balance transfers applied by compiled code (runtime/_transfer_native.c), where it is built.

A busy block is mostly `balances.transfer_allow_death` and `transfer_keep_alive` signed by accounts with no lock and no
fee discount, each of them taken: for those, the executive's `_check` and its fused `_apply_transfer` come down to
reading two accounts, comparing a few numbers and writing two accounts and four events. The compiled part does that,
extrinsic after extrinsic, and stops BEFORE the first extrinsic that is anything else (another call, a refusal, a
failed transfer, dust, a lock or discount on the signer, a full block, a mortal era not alive, a value that would not
encode or a stored one that does not decode), having written nothing of it: the executive's Python path then applies
that one, and stays the rule. tests/runtime/test_transfer_native.py holds the two to each other on random blocks with
every such case, write for write, event for event, and to the digest the runtime gave before.

What the compiled part may assume, checked here before each run:
- no snapshot is open (writes go to the overlay's top-level changes; the account keys are not parameters);
- each registered lock source answers None, and each fee discount 0, for an account that has no entry in the map
  `QUIET_WITHOUT` names for it (else no run at all: a source or discount this module does not know turns it off);
- the call indices are this runtime's own transfer handlers, decoded by the transfer's one-call decoder;
- the parameters it reads are those of the block so far (read again at every run: any extrinsic in between may have
  changed them).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from btt_chain.primitives.extrinsic import Extrinsic
from runtime.overlay import Overlay

from .balances import locks
from .balances.calls import transfer_allow_death, transfer_keep_alive
from .balances.events import Transfer
from .balances.logic import ED_PARAM
from .fees import discounts
from .fees.logic import FEE_PARAMS
from .governance import storage as governance
from .governance.logic import vote_lock
from .params.storage import get_params
from .staking import logic as staking
from .staking import storage as staking_storage
from .system import events as system_events
from .system import storage as system
from .transaction_payment.events import TransactionFeePaid
from .vesting import storage as vesting
from .vesting.logic import vesting_lock

try:
    from runtime import _transfer_native as _native  # type: ignore[attr-defined]
except ImportError:  # not built (no C compiler): every transfer takes the Python path
    _native = None

NATIVE = _native is not None
"""Whether the compiled part is built (`scripts/bootstrap` builds it with the others)."""

KEEP_ALIVE = {transfer_allow_death: False, transfer_keep_alive: True}
"""The calls a run takes, by handler: this spec's own functions (the executive's fused ones)."""

QUIET_WITHOUT: dict[Callable[..., Any], Any] = {
    vesting_lock: vesting.schedules,  # `vesting_lock`: None unless `schedules` holds the account
    vote_lock: governance.locks,  # `vote_lock`: None unless `locks` holds the account
    staking.fee_discount_bps: staking_storage.stakers,  # 0 while the account has no staker record (staked 0)
}
"""Lock source or fee discount -> the account-keyed map without whose entry for an account it is silent (None for a
lock source, 0 for a discount). tests/runtime/test_transfer_native.py checks each claim against the function."""

BLOCK_LIMITS = ("block.max_weight", "block.max_bytes", "block.max_extrinsics")


def _absent_prefixes() -> tuple[bytes, ...] | None:
    """The prefixes (an identity map's: the key is prefix ++ account) that must hold nothing for a signer; None when a
    registered lock source or discount has no entry in QUIET_WITHOUT."""
    prefixes = []
    for fn in (*locks.lock_sources(), *discounts.registered()):
        item = QUIET_WITHOUT.get(fn)  # type: ignore[call-overload]
        if item is None or item.key(b"\x00" * 32) != item.prefix + b"\x00" * 32:
            return None
        prefixes.append(item.prefix)
    return tuple(dict.fromkeys(prefixes))


def _calls(runtime: Any) -> tuple[dict[int, tuple[bool, int, Any, int]], type]:
    """((module << 8 | call) -> (keep-alive, weight, its ExtrinsicSuccess, the amount's limit) for this runtime's
    transfers that the compiled part decodes (a MultiAddress then a Compact, no extra weight); ApplyOutcome)."""
    from .executive import ApplyOutcome, extrinsic_success  # the executive imports this module

    found = {}
    for (module, function), (_, call, _, whole) in runtime.call_decoders().items():
        keep_alive = KEEP_ALIVE.get(call.handler)
        if keep_alive is None or whole is None or call.extra_weight is not None:
            continue
        found[module << 8 | function] = (keep_alive, call.weight, extrinsic_success(call.weight), call.args[1][1].max)
    return found, ApplyOutcome


_CALLS: dict[int, tuple[Any, dict[int, tuple[bool, int, Any, int]], type]] = {}
"""id(runtime) -> (the runtime, `_calls`): a runtime's call table never changes; the runtime is held, and checked to be
the one asked about, so an id a freed runtime's address gave another is never mistaken for it."""


def apply_run(executive: Any, ex: Any, extrinsics: Sequence[object], start: int, length: int = -1) -> int:
    """Apply the common transfers of `extrinsics` from `start` on with the compiled part, up to the first that is not
    one (`length`: the encoded size of each, or -1 for its own encoding's); how many it applied (0 when it cannot run
    here). The executive's counters, the context's phase and the overlay's write count are brought up to date."""
    if _native is None or ex.migrating:
        return 0
    ctx = ex.ctx
    state = ctx.state
    if type(state) is not Overlay or state._layers or type(extrinsics) is not list:
        return 0
    absent = _absent_prefixes()
    if absent is None:
        return 0
    runtime = executive.runtime
    known = _CALLS.get(id(runtime))
    if known is None or known[0] is not runtime:
        known = _CALLS[id(runtime)] = (runtime, *_calls(runtime))
    _, calls, outcome_type = known
    max_weight, max_bytes, max_extrinsics = get_params(state, BLOCK_LIMITS)
    base, per_byte, per_weight = get_params(state, FEE_PARAMS)
    account: Any = system.account  # a HashedMap: its key memo
    run = (
        state._changes, state._cache, state._backend.get, account._known, account.key, absent, calls, ctx.events,
        ex.outcomes, Extrinsic, outcome_type, Transfer, system_events.NewAccount,
        TransactionFeePaid, ctx.env.number, max_weight, max_bytes, max_extrinsics, ex.weight_used, ex.bytes_used,
        base, per_byte, per_weight, ctx.param(ED_PARAM), _backend_cache(state._backend), account.prefix,
        _backend_ahead(state._backend),
    )
    applied, fees, tips, weight_used, bytes_used = _native.apply(run, extrinsics, start, length)
    if applied:
        ex.fees += fees
        ex.tips += tips
        ex.weight_used = weight_used
        ex.bytes_used = bytes_used
        ex.transactions += applied
        ctx.phase = len(ex.outcomes) - 1
        ctx.fresh_account = None
        state.writes += 2 * applied
    return applied


def _backend_cache(backend: object) -> dict[bytes, bytes | None] | None:
    """The dict of values the backend's `get` has cached (`FlatState.read_cache`), which the compiled part reads before
    calling `get`: None for a backend without one."""
    read_cache = getattr(backend, "read_cache", None)
    return None if read_cache is None else read_cache()  # type: ignore[no-any-return]


def _backend_ahead(backend: object) -> tuple[Any, Any, bytes, dict[bytes, bytes | None], int] | None:
    """The backend's read-ahead under way with the capsule of its lookup, which the compiled part asks for a key
    missing from the caches before it calls `get` (`FlatState.ahead_reads`; the runtime imports nothing of the
    store's: the backend hands both over): None for a backend without one, or when none runs."""
    ahead_reads = getattr(backend, "ahead_reads", None)
    return None if ahead_reads is None else ahead_reads()  # type: ignore[no-any-return]


def account_keys(extrinsics: list[object], transfers: set[int]) -> list[bytes]:
    """The `System.Account` keys of each signed extrinsic's signer and, after it, of a transfer's recipient (a call in
    `transfers`, as module << 8 | call, with a MultiAddress::Id first), computed compiled: what the node reads ahead
    of a block (btt_chain/node/chain.py, `_accounts_read_first`)."""
    assert _native is not None
    account: Any = system.account
    return _native.account_keys(extrinsics, transfers, account.prefix, account._known, Extrinsic)  # type: ignore[no-any-return]
