"""Bond rules: bond, unbond into unlocking chunks, withdraw matured chunks, rebond, slash; and the
epoch-boundary rotation of the validator sets: the queued set becomes active and the set for the next epoch
is computed from the registered validators and queued (`rotate_session`, run by the consensus hook).

Every function checks first and writes last. The ledger's `total` always equals the part of the
account's reserved balance that is bonded (other modules may reserve more for their own deposits).
"""

from __future__ import annotations

from runtime.context import CallContext
from runtime.overlay import Overlay

from ..balances import logic as balances
from ..bonds import errors, events, storage
from ..bonds.floors import bond_floor
from ..bonds.types import MAX_UNLOCKING_CHUNKS, BondLedger, UnlockChunk, ValidatorRegistration
from ..consensus import storage as consensus
from ..session import errors as session_errors
from ..session import storage as session
from ..session.types import ValidatorInfo
from ..system import storage as system

BPS = 10_000
UNBONDING_PARAM = "bonds.unbonding_period_ms"
EVIDENCE_WINDOW_PARAM = "bonds.evidence_window_ms"
MIN_VALIDATOR_BOND_PARAM = "bonds.min_validator_bond"
REPORTER_PARAM = "slashing.reporter_bps"
MAX_VALIDATORS = 1000
"""The session set's storage bound; registered validators beyond it wait (largest bonds first)."""


def get_ledger(state: Overlay, who: bytes) -> BondLedger | None:
    return storage.ledger.get(state, who)


def bonded(state: Overlay, who: bytes) -> int:
    """The active bond of `who` (0 if none): what the validator set and provider weighting count."""
    led = storage.ledger.get(state, who)
    return 0 if led is None else led.active


def _put(ctx: CallContext, who: bytes, led: BondLedger) -> None:
    if led.total == 0:
        storage.ledger.remove(ctx.state, who)
    else:
        storage.ledger.put(ctx.state, who, led)


def bond(ctx: CallContext, who: bytes, amount: int) -> None:
    if amount == 0:
        raise errors.ZeroAmount()
    if storage.ledger.contains(ctx.state, who):
        raise errors.AlreadyBonded()
    balances.reserve(ctx, who, amount)
    storage.ledger.put(ctx.state, who, BondLedger(amount, ()))
    ctx.emit(events.Bonded(who, amount))


def bond_extra(ctx: CallContext, who: bytes, amount: int) -> None:
    if amount == 0:
        raise errors.ZeroAmount()
    led = storage.ledger.get(ctx.state, who)
    if led is None:
        raise errors.NotBonded()
    balances.reserve(ctx, who, amount)
    storage.ledger.put(ctx.state, who, led.replace(active=led.active + amount))
    ctx.emit(events.Bonded(who, amount))


def unbond(ctx: CallContext, who: bytes, amount: int) -> None:
    """Move `amount` of the active bond into an unlocking chunk. A registered validator keeps at least the
    minimum validator bond (deregister first to go lower), and nobody goes below a floor another module holds
    (`floors`: a compute provider keeps bonded what its assignments not yet final hold)."""
    if amount == 0:
        raise errors.ZeroAmount()
    led = storage.ledger.get(ctx.state, who)
    if led is None:
        raise errors.NotBonded()
    if amount > led.active:
        raise errors.InsufficientBond(f"active bond {led.active}, asked to unbond {amount}")
    minimum = ctx.param(MIN_VALIDATOR_BOND_PARAM)
    if storage.validators.contains(ctx.state, who) and led.active - amount < minimum:
        raise errors.BelowMinimum(f"a registered validator keeps at least {minimum}; deregister first")
    floor, _ = bond_floor(ctx.state, who)
    if led.active - amount < floor:
        raise errors.BelowMinimum(
            f"an active bond of at least {floor} must stay while open compute assignments may still be slashed "
            f"(what each may yet cost); at most {max(0, led.active - floor)} can be unbonded now"
        )
    unlock_at = ctx.env.timestamp_ms + ctx.param(UNBONDING_PARAM)
    chunks = list(led.unlocking)
    if chunks and chunks[-1].unlock_at_ms == unlock_at:
        chunks[-1] = chunks[-1].replace(amount=chunks[-1].amount + amount)
    elif len(chunks) >= MAX_UNLOCKING_CHUNKS:
        raise errors.TooManyUnlockChunks(f"at most {MAX_UNLOCKING_CHUNKS} chunks may be unbonding")
    else:
        chunks.append(UnlockChunk(amount, unlock_at))
    storage.ledger.put(ctx.state, who, BondLedger(led.active - amount, tuple(chunks)))
    ctx.emit(events.Unbonded(who, amount, unlock_at))


def withdraw_unbonded(ctx: CallContext, who: bytes) -> None:
    """Release every matured chunk to free balance."""
    led = storage.ledger.get(ctx.state, who)
    if led is None:
        raise errors.NotBonded()
    now = ctx.env.timestamp_ms
    matured = sum(c.amount for c in led.unlocking if c.unlock_at_ms <= now)
    if matured == 0:
        raise errors.NothingToWithdraw()
    balances.unreserve(ctx, who, matured)
    _put(ctx, who, led.replace(unlocking=tuple(c for c in led.unlocking if c.unlock_at_ms > now)))
    ctx.emit(events.Withdrawn(who, matured))


def rebond(ctx: CallContext, who: bytes, amount: int) -> None:
    """Take `amount` back from the unlocking chunks, newest first, into the active bond."""
    if amount == 0:
        raise errors.ZeroAmount()
    led = storage.ledger.get(ctx.state, who)
    if led is None:
        raise errors.NotBonded()
    if amount > led.unlocking_total:
        raise errors.InsufficientUnlocking(f"unbonding {led.unlocking_total}, asked to rebond {amount}")
    chunks = list(led.unlocking)
    left = amount
    while left:
        last = chunks.pop()
        take = min(left, last.amount)
        left -= take
        if take < last.amount:
            chunks.append(last.replace(amount=last.amount - take))
    storage.ledger.put(ctx.state, who, BondLedger(led.active + amount, tuple(chunks)))
    ctx.emit(events.Rebonded(who, amount))


def check_registration(ctx: CallContext, who: bytes, session_key: bytes) -> None:
    """`who` may register as a validator signing with `session_key`: not registered yet, bonded at least the minimum,
    the key free (`check_session_key`)."""
    minimum = ctx.param(MIN_VALIDATOR_BOND_PARAM)
    if storage.validators.contains(ctx.state, who):
        raise errors.AlreadyRegistered()
    if bonded(ctx.state, who) < minimum:
        raise errors.BelowMinimum(f"bond {bonded(ctx.state, who)} is below the minimum validator bond {minimum}")
    check_session_key(ctx.state, who, session_key)


def register_validator(ctx: CallContext, who: bytes, session_key: bytes, commitment: bytes) -> None:
    check_registration(ctx, who, session_key)
    storage.validators.put(ctx.state, who, ValidatorRegistration(session_key, commitment, who))
    consensus.set_commitment(ctx.state, session_key, commitment)
    session.key_owner.put(ctx.state, session_key, who)
    ctx.emit(events.ValidatorRegistered(who, session_key))


def set_session_keys(ctx: CallContext, who: bytes, session_key: bytes, commitment: bytes) -> None:
    """`who`, a registered validator, signs with `session_key` (revealing from the hash chain ending in `commitment`)
    from the set queued next on: `compute_active_set` reads the registration. The key is refused while anyone uses it,
    the active and queued sets included, and when it ever signed for another account (`check_session_key`)."""
    reg = check_new_session_key(ctx, who, session_key)
    storage.validators.put(ctx.state, who, reg.replace(session_key=session_key, hash_chain_commitment=commitment))
    consensus.set_commitment(ctx.state, session_key, commitment)
    session.key_owner.put(ctx.state, reg.session_key, who)  # offences of the old key stay the validator's
    session.key_owner.put(ctx.state, session_key, who)


def check_new_session_key(ctx: CallContext, who: bytes, session_key: bytes) -> ValidatorRegistration:
    """`who` is a registered validator (its registration returned) that may move to `session_key`: another key than
    its own, and free (`check_session_key`)."""
    reg = storage.validators.get(ctx.state, who)
    if reg is None:
        raise session_errors.NotAValidator()
    if reg.session_key == session_key:
        raise session_errors.SameKeys()
    check_session_key(ctx.state, who, session_key)
    return reg


def deregister_validator(ctx: CallContext, who: bytes) -> None:
    """Leave the registered set: the next set queued (at the next epoch's start) leaves the validator out, so
    it stays active through the next epoch and leaves at the start of the one after. Its key stays its own
    (`session.key_owner`), so what it signed stays punishable while its bond is bonded or unlocking."""
    reg = storage.validators.get(ctx.state, who)
    if reg is None:
        raise errors.NotRegistered()
    storage.validators.remove(ctx.state, who)
    session.key_owner.put(ctx.state, reg.session_key, who)
    ctx.emit(events.ValidatorDeregistered(who))


def check_session_key(state: Overlay, who: bytes, key: bytes) -> None:
    """`who` may register or set `key`: nobody uses it now (a registration, or a member of the active or the queued
    set, which may be leaving: SessionKeyInUse), and it never signed for another account (SessionKeyTaken). A key is
    its first account's for good, so whatever it signed stays that account's; the account may take its own old key
    back once no set carries it."""
    if _session_key_in_use(state, key):
        raise errors.SessionKeyInUse(f"session key 0x{key.hex()} is already in use")
    owner = session.owner_of_key(state, key)
    if owner is not None and owner != who:
        raise errors.SessionKeyTaken(f"session key 0x{key.hex()} signed for account 0x{owner.hex()}")


def _session_key_in_use(state: Overlay, key: bytes) -> bool:
    """Used by a registered validator, or by a member of the active or the queued set (which may be leaving)."""
    if any(r.session_key == key for _, r in storage.validators.items(state)):
        return True
    return any(v.session_key == key for v in (*session.validators.get(state), *session.queued.get(state)))


def slash(ctx: CallContext, who: bytes, amount: int, reporter: bytes | None) -> tuple[int, int]:
    """Take up to `amount` from `who`'s bond: the active bond first, then unlocking chunks, newest first
    (unbonding outlasts the evidence window, so a late report still finds the funds). A share of
    `slashing.reporter_bps` goes to `reporter`, the rest is burned. Returns (burned, reward).

    A registered validator left with no active bond is deregistered. The set queued for the next epoch (and
    the next epoch's leader schedule) keeps at most the validator's new active bond: a validator left with
    none leaves them at once, so it leads no slot and votes for no checkpoint of the next epoch (the current
    epoch's schedule stays as drawn)."""
    led = storage.ledger.get(ctx.state, who)
    if led is None or amount == 0:
        return 0, 0
    taken = min(amount, led.total, system.account.get(ctx.state, who).reserved)
    if taken == 0:
        return 0, 0
    from_active = min(taken, led.active)
    left = taken - from_active
    chunks = list(led.unlocking)
    kept: list[UnlockChunk] = []
    while chunks:
        c = chunks.pop()
        take = min(left, c.amount)
        left -= take
        if c.amount > take:
            kept.append(c.replace(amount=c.amount - take))
    kept.reverse()
    reward = taken * ctx.param(REPORTER_PARAM) // BPS if reporter is not None else 0
    burned = taken - reward
    if reward:
        balances.slash_reserved(ctx, who, reward, reporter)
    balances.slash_reserved(ctx, who, burned)
    new = BondLedger(led.active - from_active, tuple(kept))
    _put(ctx, who, new)
    ctx.emit(events.BondSlashed(who, burned, reward))
    reg = storage.validators.get(ctx.state, who)
    if new.active == 0 and reg is not None:
        storage.validators.remove(ctx.state, who)
        session.key_owner.put(ctx.state, reg.session_key, who)
        ctx.emit(events.ValidatorDeregistered(who))
    _restrict_queued(ctx.state, who, new.active)
    return burned, reward


def _restrict_queued(state: Overlay, who: bytes, bond: int) -> None:
    """`who` keeps at most `bond` in the queued set and the following schedule; at 0 it leaves both (never the
    last validator: a chain with none could never author the block that adds one)."""
    queued = list(session.queued.get(state))
    index = next((i for i, v in enumerate(queued) if v.account == who), None)
    if index is not None and queued[index].bond > bond:
        if bond > 0:
            queued[index] = queued[index].replace(bond=bond)
        elif len(queued) > 1:
            del queued[index]
        session.queued.put(state, tuple(queued))
    consensus.restrict_following(state, who, bond)


# --- the validator sets ----------------------------------------------------------------------------


def rotate_session(ctx: CallContext, epoch: int) -> None:
    """The first block of `epoch` (run by the consensus hook, after the leader and reveal checks and before it
    draws the next epoch's schedule from `session.queued`): the queued set becomes active, and the set for
    epoch + 1 is computed and queued. A registration or deregistration in epoch e - 1 thus takes effect in
    epoch e + 1, and the leader schedule of every epoch is drawn from exactly the set active in it. Once per
    epoch; after epochs without blocks, the queued set (what the skipped epochs' schedules were drawn from)
    becomes active all the same."""
    if epoch <= storage.current_epoch.get(ctx.state):
        return
    storage.current_epoch.put(ctx.state, epoch)
    queued = session.queued.get(ctx.state)
    if queued and queued != session.validators.get(ctx.state):
        session.validators.put(ctx.state, queued)
        ctx.emit(events.NewEpoch(epoch, len(queued)))
    new = compute_active_set(ctx.state)
    if new and new != queued:
        session.queued.put(ctx.state, new)
        ctx.emit(events.ValidatorsQueued(epoch + 1, len(new)))


def compute_active_set(state: Overlay) -> tuple[ValidatorInfo, ...]:
    """The set to queue: registered validators with an active bond, at their current bonds. Members of the
    active set keep their order (the leader schedule stays stable); newcomers follow, largest bond first, then
    by account. Empty if none qualifies: the caller then keeps the queued set, since a chain with no validator
    could never author the block that adds one."""
    regs = dict(storage.validators.items(state))
    out: list[ValidatorInfo] = []
    for v in session.validators.get(state):
        reg = regs.pop(v.account, None)
        amount = bonded(state, v.account)
        if reg is not None and amount > 0:
            out.append(ValidatorInfo(v.account, reg.session_key, amount, reg.payee))
    newcomers = sorted(
        ((bonded(state, who), who, reg) for who, reg in regs.items() if bonded(state, who) > 0),
        key=lambda t: (-t[0], t[1]),
    )
    out.extend(ValidatorInfo(who, reg.session_key, amount, reg.payee) for amount, who, reg in newcomers)
    return tuple(out[:MAX_VALIDATORS])
