"""The executive: initialise a block, apply its inherents (the author's unsigned `timestamp.set`, first), then each
signed extrinsic in a snapshot, finalise, and execute whole blocks.

An inherent that is not one the runtime accepts unsigned, comes after a signed extrinsic, or fails makes the block
invalid; it pays no fee and its `ExtrinsicSuccess` says `Mandatory`, `Pays::No`, as FRAME's do.

An extrinsic that cannot be included (bad nonce, dead era, unpaid fee, bad call) raises InvalidExtrinsic
and changes nothing. One that is included always pays its fee and bumps its nonce; if its call then
fails, the call's writes and events are rolled back and an ExtrinsicFailed event records why. A call that
needs a model's weights blob this node lacks raises WeightsUnavailable, which is no verdict: everything the
extrinsic did, fee included, is undone and the error passes on (the block waits for the blob).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from operator import itemgetter

from btt_chain.primitives.block import Block
from btt_chain.primitives.errors import BttError, DispatchError, InvalidBlock, InvalidExtrinsic
from btt_chain.primitives.extrinsic import Call, Extrinsic, Inherent
from btt_chain.primitives.frozen import fast_init
from btt_chain.primitives.hashing import merkle_root
from runtime.context import NONE, BlockEnv, CallContext, Origin
from runtime.dispatch import DecodedCall, Runtime
from runtime.errors import BlockFull, ChainMigrating, ModuleError, WeightsUnavailable
from runtime.events import Event
from runtime.overlay import Overlay, StateReader

from . import transfer_native
from .balances import errors as balances_errors
from .balances import logic as balances
from .balances.calls import transfer_allow_death, transfer_keep_alive
from .balances.locks import get_current_account
from .fees import logic as fees
from .metadata.indices import error_index
from .session import storage as session
from .system import events as system_events
from .system import storage as system
from .system.dispatch_types import MANDATORY, MODULE, OTHER, PAYS_NO, DispatchErrorValue, DispatchInfo
from .system.types import AccountInfo
from .transaction_payment.events import TransactionFeePaid
from .upgrade import begin_block as begin_upgrade


@fast_init
@dataclass(frozen=True)
class ApplyOutcome:
    """What happened to one included extrinsic."""

    index: int
    success: bool
    fee: int
    weight: int
    error: str | None = None


@fast_init
@dataclass(frozen=True)
class CheckedExtrinsic:
    """An extrinsic that passed every inclusion check for the current block."""

    xt: Extrinsic
    call: DecodedCall
    length: int
    weight: int
    """The call's weight on the state it was checked against."""
    fee: int
    """Inclusion fee (without tip)."""


@dataclass(frozen=True)
class ValidTransaction:
    """Pool view of a valid transaction: ordering by priority, dependency by (sender, nonce)."""

    priority: int
    sender: bytes
    nonce: int
    account_nonce: int
    fee: int
    spendable: int = 0
    """The sender's spendable balance at the head: the pool holds all its pooled fees and tips to it."""

    @property
    def is_future(self) -> bool:
        return self.nonce > self.account_nonce


@dataclass
class BlockExecution:
    """A block being built or imported: its context, limits used so far, and outcomes."""

    ctx: CallContext
    weight_used: int = 0
    bytes_used: int = 0
    fees: int = 0
    tips: int = 0
    outcomes: list[ApplyOutcome] = field(default_factory=list)
    transactions: int = 0
    """Signed extrinsics applied so far (an inherent after one is refused)."""
    migrating: bool = False
    """An upgrade's migrations go on after this block: it takes no transaction (`runtime.upgrade`)."""

    @property
    def state(self) -> Overlay:
        return self.ctx.state


@dataclass(frozen=True)
class BlockResult:
    changes: dict[bytes, bytes | None]
    events: tuple[tuple[int, Event], ...]
    outcomes: tuple[ApplyOutcome, ...]
    spec_version: int = 0
    """The spec whose rules ran the block (what its extrinsics were signed for)."""

    @property
    def receipts(self) -> list[Event]:
        """The block's receipts: the events that are work proofs (verified compute results)."""
        # the classes first (a C-level pass over ~15,000 events of a few classes), the events only if one is a receipt
        kinds: set[type[Event]] = set(map(type, map(itemgetter(1), self.events)))
        if not any(kind.RECEIPT for kind in kinds):
            return []
        return [e for _, e in self.events if e.RECEIPT]

    @property
    def receipts_root(self) -> bytes:
        """The Merkle root of the encoded receipts, which the header commits to."""
        return merkle_root([e.encode() for e in self.receipts])


INHERENT_CALLS = frozenset({"timestamp.set"})
"""The calls a block's author may put in unsigned."""


class Executive:
    """Runs blocks against state. Knows the genesis hash (the chain identity signers commit to)."""

    def __init__(self, runtime: Runtime, genesis_hash: bytes) -> None:
        self.runtime = runtime
        self.genesis_hash = genesis_hash

    # block lifecycle -----------------------------------------------------------------------------
    def initialize_block(self, backend: StateReader, env: BlockEnv) -> BlockExecution:
        ctx = CallContext(Overlay(backend), env, self.runtime)
        ctx.phase = -1
        upgrade = begin_upgrade(ctx, self.runtime)
        for m in self.runtime.modules:
            if m.on_initialize is not None:
                m.on_initialize(ctx)
        return BlockExecution(ctx, weight_used=upgrade.weight + ctx.initialize_weight, migrating=upgrade.migrating)

    def finalize_block(self, ex: BlockExecution) -> BlockResult:
        ctx = ex.ctx
        ctx.phase = -2
        for m in self.runtime.modules:
            if m.on_finalize is not None:
                m.on_finalize(ctx)
        fees.distribute(ctx, ex.fees, ex.tips, session.reward_payee(ctx.state, ctx.env.author))
        return BlockResult(ctx.state.changes(), tuple(ctx.events), tuple(ex.outcomes), self.runtime.spec_version)

    # extrinsics ----------------------------------------------------------------------------------
    @staticmethod
    def check_era(xt: Extrinsic, number: int) -> None:
        """A mortal era's birth, as seen from block `number`, must not be in the future (an era signed for a later
        block). One whose window has passed has a newer birth here than the signer's, so its signature fails."""
        if not xt.era.is_alive_at(number):
            raise InvalidExtrinsic(
                f"extrinsic era (period {xt.era.period}, phase {xt.era.phase}) is born after block {number}"
            )

    def birth_hash(self, state: Overlay, xt: Extrinsic, number: int) -> bytes:
        """The block hash a signer committed to (FRAME's CheckMortality): genesis for immortal, else the recent
        block at the era's birth as seen from block `number`."""
        if xt.era.immortal:
            return self.genesis_hash
        self.check_era(xt, number)
        birth = xt.era.birth(number)
        if birth == 0:
            return self.genesis_hash
        h = system.block_hash.get(state, birth)
        if h is None:
            raise InvalidExtrinsic(f"birth block {birth} is unknown or too old")
        return h

    def signing_message(self, state: Overlay, xt: Extrinsic, number: int) -> bytes:
        return xt.signing_payload(
            self.genesis_hash, self.birth_hash(state, xt, number), self.runtime.spec_version,
            self.runtime.transaction_version,
        )

    def check_extrinsic(
        self, ex: BlockExecution, xt: Extrinsic, length: int, signature_checked: bool, allow_future: bool = False
    ) -> tuple[CheckedExtrinsic, AccountInfo]:
        """Every inclusion check against the current block state. Returns the checked form and the signer's account
        with its locks as they stand at the block's time."""
        decoded, weight, fee, acc = self._check(ex, xt, length, signature_checked, allow_future)
        return CheckedExtrinsic(xt, decoded, length, weight, fee), acc

    def _check(
        self, ex: BlockExecution, xt: Extrinsic, length: int, signature_checked: bool, allow_future: bool
    ) -> tuple[DecodedCall, int, int, AccountInfo]:
        """`check_extrinsic`'s checks: (the decoded call, its weight, the inclusion fee, the signer's account)."""
        ctx = ex.ctx
        state = ctx.state
        if ex.migrating:
            raise ChainMigrating(f"spec {self.runtime.spec_version}'s migrations are running: transactions are taken "
                                 "again from the block they end in (event system.MigrationsCompleted)")
        decoded = self.runtime.decode_call(xt.call)
        if decoded.module.paused is not None:
            try:
                decoded.module.paused(state, Origin.signed(xt.signer), decoded.call.name)
            except ModuleError as exc:  # the pool's door and a block alike, before any fee
                raise InvalidExtrinsic(f"{decoded.full_name} not taken now: {exc}") from None
        if signature_checked:
            if xt.era.period:  # an immortal era (period 0) is alive at every block
                self.check_era(xt, ctx.env.number)
        elif not _verify(xt, self.signing_message(state, xt, ctx.env.number)):
            raise InvalidExtrinsic("bad signature")
        acc = get_current_account(ctx, xt.signer)
        if xt.nonce < acc.nonce:
            raise InvalidExtrinsic(f"stale nonce {xt.nonce}: the account's next nonce is {acc.nonce}")
        if xt.nonce > acc.nonce and not allow_future:
            raise InvalidExtrinsic(f"future nonce {xt.nonce}: the account's next nonce is {acc.nonce}")
        weight = self.runtime.weight(state, decoded)
        limit = ctx.param("block.max_weight")
        if weight > limit:
            # never includable (FRAME's CheckWeight): refused at the pool's door, else it would stay at the head of
            # the ready queue and stop every block's authoring there (a batch can weigh that much)
            raise InvalidExtrinsic(f"its call weighs {weight}, more than a whole block may hold ({limit})")
        fee = fees.inclusion_fee(state, length, weight, xt.signer)
        # a future transaction must be payable too: otherwise never-funded keys could fill the pool for free
        if acc.spendable < fee + xt.tip and (xt.nonce == acc.nonce or allow_future):
            raise InvalidExtrinsic(
                f"cannot pay fee {fee} + tip {xt.tip}: spendable balance is {acc.spendable}"
            )
        return decoded, weight, fee, acc

    def inherents(self, env: BlockEnv) -> tuple[Inherent, ...]:
        """The inherents the author of the block with `env` puts first: `timestamp.set` with the slot's start."""
        return (Inherent(self.runtime.call("timestamp.set", env.timestamp_ms)),)

    def apply_inherent(self, ex: BlockExecution, inherent: Inherent) -> ApplyOutcome:
        """Apply one of the block's inherents; InvalidBlock (the block is invalid) if it is not one the runtime
        accepts unsigned, comes after a signed extrinsic, or fails."""
        ctx = ex.ctx
        index = len(ex.outcomes)
        if ex.transactions:
            raise InvalidBlock(f"extrinsic {index}: an inherent after a signed extrinsic")
        try:
            decoded = self.runtime.decode_call(inherent.call)
        except InvalidExtrinsic as exc:
            raise InvalidBlock(f"extrinsic {index}: {exc}") from None
        if decoded.full_name not in INHERENT_CALLS:
            raise InvalidBlock(f"extrinsic {index}: {decoded.full_name} is no inherent (only signed)")
        weight = self.runtime.weight(ctx.state, decoded)
        ctx.phase = index
        state = ctx.state
        state.begin()
        try:
            self.runtime.dispatch(ctx, NONE, decoded)
        except DispatchError as exc:
            state.rollback()
            raise InvalidBlock(f"extrinsic {index} ({decoded.full_name}) failed: {exc}") from None
        state.commit()
        ctx.emit(system_events.ExtrinsicSuccess(DispatchInfo(weight, 0, MANDATORY, PAYS_NO)))
        outcome = ApplyOutcome(index, True, 0, weight)
        ex.weight_used += weight
        ex.bytes_used += len(inherent.encode())
        ex.outcomes.append(outcome)
        return outcome

    def apply_extrinsic(
        self, ex: BlockExecution, xt: Extrinsic, length: int, signature_checked: bool = False
    ) -> ApplyOutcome:
        """Include `xt` in the block: raise InvalidExtrinsic (nothing changed) if it cannot be included."""
        if signature_checked and transfer_native.apply_run(self, ex, [xt], 0, length):
            return ex.outcomes[-1]  # a common transfer, applied compiled (runtime/transfer_native.py)
        call, weight, fee, account = self._check(ex, xt, length, signature_checked, False)
        ctx = ex.ctx
        if ex.weight_used + weight > ctx.param("block.max_weight"):
            raise BlockFull("block weight limit reached")
        if ex.bytes_used + length > ctx.param("block.max_bytes"):
            raise BlockFull("block size limit reached")
        if len(ex.outcomes) >= ctx.param("block.max_extrinsics"):
            raise BlockFull("block extrinsic count limit reached")
        index = len(ex.outcomes)
        ctx.phase = index
        keep_alive = _FUSED_TRANSFERS.get(call.call.handler)
        fused = None if keep_alive is None else self._apply_transfer(ctx, xt, call, weight, fee, account, index,
                                                                      keep_alive)
        outcome = self._apply_call(ctx, xt, call, weight, fee, account, index) if fused is None else fused
        ex.fees += fee
        ex.tips += xt.tip
        ex.weight_used += weight
        ex.bytes_used += length
        ex.outcomes.append(outcome)
        ex.transactions += 1
        return outcome

    def _apply_call(
        self, ctx: CallContext, xt: Extrinsic, call: DecodedCall, weight: int, fee: int, account: AccountInfo,
        index: int,
    ) -> ApplyOutcome:
        """Take the fee and dispatch the call (the general path)."""
        state = ctx.state
        depth, n_events = state.depth, len(ctx.events)
        # one snapshot holds the fee and the call, so that a call needing a weights blob this node lacks is undone
        # whole; a call that fails is undone with the fee, which is then taken again (the same write, from the same
        # account as it stood before)
        state.begin()
        ctx.fee = fee
        try:
            balances.withdraw_fee(ctx, xt.signer, fee + xt.tip, account)
            self.runtime.dispatch(ctx, Origin.signed(xt.signer), call)
        except DispatchError as exc:
            state.rollback()
            del ctx.events[n_events:]
            return _fee_alone(ctx, xt, weight, fee, account, index, exc)
        except WeightsUnavailable:
            while state.depth > depth:  # a nested call's snapshot may still be open too
                state.rollback()
            del ctx.events[n_events:]
            raise
        else:
            state.commit()
            ctx.emit(TransactionFeePaid(xt.signer, fee + xt.tip, xt.tip))
            ctx.emit(extrinsic_success(weight))
            return ApplyOutcome(index, True, fee, weight)
        finally:
            ctx.fee = 0

    @staticmethod
    def _apply_transfer(
        ctx: CallContext, xt: Extrinsic, call: DecodedCall, weight: int, fee: int, account: AccountInfo, index: int,
        keep_alive: bool,
    ) -> ApplyOutcome | None:
        """`balances.transfer_allow_death` or `transfer_keep_alive` with its fee, fused: what `_apply_call` gives
        (the same writes in the same order, events, outcome and error), each account written once. The general
        path writes the signer's account after the fee and again after the transfer in a snapshot; here the
        transfer is decided first on the account as the fee leaves it (nothing else reads it in between: the call
        reads only the recipient's account, another key, and the existential deposit) and nothing is written
        until it is decided, so no snapshot is needed: a refused transfer writes the fee alone, as the general
        path's rollback and second withdrawal leave it. None, having written nothing, when a value would not
        encode (the general path then raises where it raises)."""
        signer = xt.signer
        charged = fee + xt.tip
        paid = AccountInfo(account.nonce + 1, account.free - charged, account.reserved, account.frozen)
        if paid.nonce >> 32 or (paid.free | paid.reserved | paid.frozen) >> 128:  # AccountInfo's encodable range
            return None
        dest, amount = call.args
        try:
            if amount == 0:
                raise balances_errors.ZeroAmount()
            if signer == dest:
                raise balances_errors.SelfTransfer()
            new_src, dst, new_dst, dust = balances.plan_transfer(ctx, dest, paid, amount, keep_alive,
                                                                 ctx.param(balances.ED_PARAM))
        except DispatchError as exc:
            return _fee_alone(ctx, xt, weight, fee, account, index, exc)
        if new_dst.free >> 128:
            return None
        balances.write_transfer(ctx, signer, dest, amount, new_src, new_dst, dst.total == 0, dust)
        ctx.fresh_account = None  # the general path's hint (the account after the fee) is stale after the transfer
        ctx.emit(TransactionFeePaid(signer, charged, xt.tip))
        ctx.emit(extrinsic_success(weight))
        return ApplyOutcome(index, True, fee, weight)

    def validate_transaction(
        self,
        backend: StateReader,
        next_env: BlockEnv,
        xt: Extrinsic,
        length: int,
        verify_signature: Callable[[Extrinsic, bytes], bool] | None = None,
    ) -> ValidTransaction:
        """Pool admission: check `xt` as if it went into the next block. Future nonces are allowed.

        `verify_signature(xt, message)` lets the node check (and cache) the signature its own way."""
        ex = self.initialize_block(backend, replace(next_env, speculative=True))
        if verify_signature is not None:
            message = self.signing_message(ex.state, xt, next_env.number)
            if not verify_signature(xt, message):
                raise InvalidExtrinsic("bad signature")
        checked, account = self.check_extrinsic(
            ex, xt, length, signature_checked=verify_signature is not None, allow_future=True
        )
        return ValidTransaction(xt.tip, xt.signer, xt.nonce, account.nonce, checked.fee, account.spendable)

    def dry_run(
        self,
        backend: StateReader,
        next_env: BlockEnv,
        xt: Extrinsic,
        length: int,
        verify_signature: Callable[[Extrinsic, bytes], bool] | None = None,
    ) -> tuple[ApplyOutcome, list[Event]]:
        """Apply `xt` to a throwaway copy of the next block: what would happen, with nothing kept. Raises
        InvalidExtrinsic when it could not even be included (no fee would be charged then either)."""
        self.validate_transaction(backend, next_env, xt, length, verify_signature)
        ex = self.initialize_block(backend, replace(next_env, speculative=True))
        n_events = len(ex.ctx.events)
        outcome = self.apply_extrinsic(ex, xt, length, signature_checked=True)
        return outcome, [e for _, e in ex.ctx.events[n_events:]]

    def dry_run_call(self, backend: StateReader, next_env: BlockEnv, call: Call, origin: Origin) -> str | None:
        """Dispatch `call` with `origin` (a referendum's governance or emergency origin) on a throwaway copy of
        the next block: None if it would succeed, else why not. Nothing is kept."""
        ex = self.initialize_block(backend, replace(next_env, speculative=True))
        try:
            decoded = self.runtime.decode_call(call)
            ex.ctx.state.begin()
            self.runtime.dispatch(ex.ctx, origin, decoded)
        except (DispatchError, BttError) as exc:
            return str(exc)
        return None

    def execute_block(self, backend: StateReader, block: Block, signatures_checked: bool = False) -> BlockResult:
        """Import-side execution: every extrinsic must be includable, else the block is invalid."""
        h = block.header
        env = BlockEnv(h.number, h.parent_hash, h.slot, h.timestamp_ms, h.author, h.digest.reveal)
        ex = self.initialize_block(backend, env)
        extrinsics = block.extrinsics if type(block.extrinsics) is list else list(block.extrinsics)
        i, count = 0, len(extrinsics)
        while i < count:
            xt = extrinsics[i]
            if isinstance(xt, Inherent):
                self.apply_inherent(ex, xt)
                i += 1
                continue
            if signatures_checked:  # the common transfers from here on, compiled (runtime/transfer_native.py)
                applied = transfer_native.apply_run(self, ex, extrinsics, i)
                if applied:
                    i += applied
                    continue
            try:
                self.apply_extrinsic(ex, xt, len(xt.encode()), signatures_checked)
            except InvalidExtrinsic as exc:
                raise InvalidBlock(f"extrinsic {i} cannot be included: {exc}") from None
            i += 1
        return self.finalize_block(ex)


_SUCCESS_EVENTS: dict[int, system_events.ExtrinsicSuccess] = {}
"""ExtrinsicSuccess by weight: events are frozen values, and a block's extrinsics mostly share a few weights."""
SUCCESS_EVENTS_KEPT = 1024


def extrinsic_success(weight: int) -> system_events.ExtrinsicSuccess:
    """`ExtrinsicSuccess(DispatchInfo(weight))`, one shared value per weight."""
    event = _SUCCESS_EVENTS.get(weight)
    if event is None:
        if len(_SUCCESS_EVENTS) >= SUCCESS_EVENTS_KEPT:
            _SUCCESS_EVENTS.clear()
        event = _SUCCESS_EVENTS[weight] = system_events.ExtrinsicSuccess(DispatchInfo(weight))
    return event


def _fee_alone(
    ctx: CallContext, xt: Extrinsic, weight: int, fee: int, account: AccountInfo, index: int, exc: DispatchError
) -> ApplyOutcome:
    """An included extrinsic whose call failed (its writes and events gone): the fee taken alone, its events."""
    balances.withdraw_fee(ctx, xt.signer, fee + xt.tip, account)
    ctx.emit(TransactionFeePaid(xt.signer, fee + xt.tip, xt.tip))
    ctx.emit(system_events.ExtrinsicFailed(dispatch_error_value(exc), DispatchInfo(weight)))
    return ApplyOutcome(index, False, fee, weight, str(exc))


_FUSED_TRANSFERS = {transfer_allow_death: False, transfer_keep_alive: True}
"""The calls `Executive._apply_transfer` applies fused with their fee, by handler (this spec's own functions: an
older spec's runtime, with its own, takes the general path): keep-alive or not."""


def _verify(xt: Extrinsic, message: bytes) -> bool:
    from btt_chain.primitives.signatures import verify_multi

    return verify_multi(xt.signer, message, xt.multi_signature)


def dispatch_error_value(exc: DispatchError) -> DispatchErrorValue:
    """FRAME's `DispatchError` of a failed call: `Module {pallet index, error index}` for a module's error (by the
    fixed indices of the metadata), `Other` for anything no module lists."""
    try:
        pallet, error = error_index(exc.module, exc.error)
    except KeyError:
        return DispatchErrorValue(OTHER)
    return DispatchErrorValue(MODULE, pallet, error)
