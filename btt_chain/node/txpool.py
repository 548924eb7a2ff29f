"""The transaction pool: validated on entry, ready and future queues keyed by (sender, nonce), tip priority.

Admission holds a sender to what it can pay: the fees, tips and spends (what a call moves, reserves, stakes or burns:
`pool_funds.compute_call_spend`, read from each call's own declaration, a batch's calls summed, up to the balance
left for a batch that survives a failed call) of all its pooled
transactions, ready and future together, and the new one must fit its spendable balance at the head, walked in
nonce order, so never-funded keys get nothing in and a chain of transactions drained by its own first one does not
get in either. A nonce may be at most `max_nonce_gap` ahead of
the sender's next (its account nonce followed by its unbroken run of pooled nonces); each sender holds at most
`max_future_per_sender` future and `max_per_sender` pooled transactions, all senders together at most
`max_future_total` future ones, and a future transaction that waits longer than `future_ttl_seconds` is
dropped. When the pool is full, a newcomer must pay more per byte than the cheapest evictable transaction:
each sender's last nonce (never a middle one, which would strand the rest), future ones first; the evictions are
planned before anything is removed, so a refused newcomer leaves the pool as it was. A transaction with a pooled
one's sender and nonce replaces it only with a tip `replace_tip_bump_percent` (and at least 1 base unit) higher,
takes its place and never evicts another to make room. Every transaction that leaves without being included goes
through `on_dropped(hash, reason)`, so a watcher can tell its sender. Invalid transactions are banned by hash for a
while.

After each imported block the pool drops what the block included or made stale, expires old future transactions, drops
the mortal transactions whose era ended (given `next_block`: the first block number that can no longer include one, its
birth at admission plus its period, is kept in a heap, so the check costs nothing while none ends; without it a
transaction sent to a node far behind the chain, signed against that node's head, waited in its pool for ever and its
watcher never heard its end) and re-checks every pooled sender's funds (given `accounts`). The re-check is bounded by
the read the nonce check already makes: each sender's fees, tips and spends are kept as a running total, updated on
every admission and removal, and compared with the spendable balance of its stored account record (a floor of what the
next block sees), or with the exact figure an earlier block found if that record has not changed since: O(1) per sender.
Only a sender over that floor is walked in nonce order and, if its record shows a lock, read exactly (its locks at the
next block's time, ~17 us); the transactions from its first unpayable nonce on are dropped as "invalid". No slice or
rotation is needed: every pooled sender is checked after every block. Measured on the dev chain (two cores, memory
store): a full pool of 8,192 transactions from 8,192 senders prunes in 67 ms after a block with nothing to drop, 68 ms
before the funds check (the account read per sender is the cost); 16 senders x 512 in 2.1 ms (1.9); a block that drains
all 8,192 senders (3.3 s to author) is followed by a 253 ms prune that drops and reports all 8,192, where the pool
before kept them (147 ms).
"""

from __future__ import annotations

import heapq
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from btt_chain.node.pool_funds import HeadAccounts, find_unpayable, get_call_spend
from btt_chain.primitives.errors import DecodeError, InvalidExtrinsic
from btt_chain.primitives.extrinsic import MAX_EXTRINSIC_SIZE, Extrinsic
from btt_chain.primitives.hashing import blake2b_256
from runtime.dispatch import Runtime
from runtime.executive import ValidTransaction
from runtime.system.types import AccountInfo

log = logging.getLogger("btt.txpool")


DEATHS_SLACK = 1024
"""Stale entries the mortality heap may hold beyond twice the pool before it is rebuilt from the pool (an entry stays
behind when its transaction is included or dropped, until its era would have ended: up to 65,536 blocks)."""


@dataclass(frozen=True)
class PoolConfig:
    max_count: int = 8192
    max_bytes: int = 32 * 1024 * 1024
    ban_seconds: float = 60.0
    max_future_per_sender: int = 64
    max_nonce_gap: int = 64
    """A nonce at most this far ahead of the account's next nonce is accepted (as future)."""
    max_per_sender: int = 512
    max_future_total: int = 1024
    future_ttl_seconds: float = 300.0
    replace_tip_bump_percent: int = 10
    """A replacement (same sender and nonce) must tip this much more than the one it replaces, and at least 1 base
    unit more: otherwise a sender could re-gossip one slot endlessly for nothing."""


@dataclass(order=True)
class PoolTx:
    """One pooled transaction."""

    sort_key: tuple[int, int] = field(init=False, repr=False)
    xt: Extrinsic = field(compare=False)
    encoded: bytes = field(compare=False)
    hash: bytes = field(compare=False)
    tip: int = field(compare=False)
    arrival: int = field(compare=False)
    fee: int = field(default=0, compare=False)
    """Inclusion fee at admission: with the tip and the spend, what the sender has committed to pay."""
    arrived_at: float = field(default=0.0, compare=False)
    future: bool = field(default=False, compare=False)
    """Not includable yet: a nonce gap lies between it and the account's next nonce."""
    spend: int = field(default=0, compare=False)
    """What its call takes from the sender's free balance (`pool_funds.compute_call_spend`)."""
    takes_rest: bool = field(default=False, compare=False)
    """Its call takes whatever spendable balance is left (`balances.transfer_all`)."""
    spend_upto: int = field(default=0, compare=False)
    """What its call may take without failing for want of it (a `batch`'s calls: `pool_funds.Spend.upto`)."""
    dies_at: int | None = field(default=None, compare=False)
    """Mortal: the first block number that can no longer include it (its era's birth plus its period); None when
    immortal or when the pool is not told block numbers."""

    def __post_init__(self) -> None:
        self.sort_key = (-self.tip, self.arrival)

    @property
    def sender(self) -> bytes:
        return self.xt.signer

    @property
    def nonce(self) -> int:
        return self.xt.nonce

    @property
    def cost(self) -> int:
        return self.fee + self.tip + self.spend + self.spend_upto  # a bound: within it, the nonce walk passes too

    def cheaper_than(self, tip: int, size: int) -> bool:
        """Whether this pays less per byte (tip / size) than `tip` over `size` bytes."""
        return self.tip * size < tip * len(self.encoded)


@dataclass(frozen=True)
class RecheckStats:
    """What the funds re-check after the last block did."""

    senders: int = 0
    """Senders compared with their account record."""
    exact: int = 0
    """Senders whose spendable balance had to be computed with their locks."""
    dropped: int = 0
    """Transactions dropped because their sender can no longer pay them."""
    seconds: float = 0.0
    """Wall time of the whole prune (nonces, expiry and funds)."""


@dataclass
class PoolCounters:
    """What the pool has done since the node started (Prometheus: Substrate's `substrate_sub_txpool_*`)."""

    submitted: int = 0
    """Encoded transactions offered to `submit` (or `resubmit`), before any check."""
    validations_scheduled: int = 0
    """Validations against the head state started (a transaction that decodes, is not banned and not pooled)."""
    validations_finished: int = 0
    """Validations that returned, valid or not."""
    invalid_removed: int = 0
    """Pooled transactions removed as invalid: found invalid while a block was built, or no longer payable after one."""
    block_pruned: int = 0
    """Transactions that blocks asked the pool to prune (every extrinsic of each new best block)."""
    block_resubmitted: int = 0
    """Transactions of retracted blocks offered back to the pool after a reorganisation."""


def _eviction_key(t: PoolTx) -> tuple[int, int]:
    return t.tip * 1_000_000 // max(1, len(t.encoded)), -t.arrival


class TxPool:
    """Pending extrinsics. `validate` is the chain's admission check against the head state; `accounts` lets the
    pool re-check its senders' funds after each block (without it, only admission checks them)."""

    def __init__(
        self,
        validate: Callable[[Extrinsic, int], ValidTransaction],
        account_nonce: Callable[[bytes], int],
        config: PoolConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
        accounts: HeadAccounts | None = None,
        runtime: Runtime | None = None,
        next_block: Callable[[], int] | None = None,
        head_runtime: Callable[[], Runtime] | None = None,
    ) -> None:
        """`next_block()` -> the number of the block the head's child would be (what admission validates for): with
        it, a mortal transaction leaves the pool, as invalid, once that block is past its era. `head_runtime()` -> the
        runtime of that block (its spec's calls and their declarations, which admission reads what a call spends
        from); without it, `runtime` (default: the newest spec's)."""
        if runtime is None:
            from runtime.modules import RUNTIME

            runtime = RUNTIME
        self._validate = validate
        self._account_nonce = account_nonce
        self._accounts = accounts
        self._runtime = runtime
        self._head_runtime = head_runtime
        self._next_block = next_block
        self._deaths: list[tuple[int, int, bytes]] = []
        """(dies_at, arrival, hash) of pooled mortal transactions: a heap, stale entries skipped when popped."""
        self.config = config or PoolConfig()
        self._clock = clock
        self._by_hash: dict[bytes, PoolTx] = {}
        self._by_sender: dict[bytes, dict[int, PoolTx]] = {}
        self._committed: dict[bytes, int] = {}
        """Per sender: the fees, tips and spends of its pooled transactions (a running total)."""
        self._rest_takers: dict[bytes, int] = {}
        """Per sender with any: how many of its pooled transactions take all that is left."""
        self._known_spendable: dict[bytes, tuple[AccountInfo, int]] = {}
        """Per sender: (account record, spendable balance with its locks) as the last exact read found them."""
        self._banned: dict[bytes, float] = {}
        self._bytes = 0
        self._arrivals = 0
        self._future_count = 0
        self.unpayable_dropped = 0
        """Transactions dropped after a block because their sender could no longer pay them, since start."""
        self.last_recheck = RecheckStats()
        self.counters = PoolCounters()
        self.on_dropped: Callable[[bytes, str], None] = lambda _hash, _reason: None
        """Called for every pooled transaction that leaves without being included (evicted, usurped, expired,
        invalid after a block)."""

    # admission -------------------------------------------------------------------------------------
    def submit(self, encoded: bytes) -> bytes:
        """Validate and add an encoded extrinsic; return its hash. Raises InvalidExtrinsic with the reason, and then
        the pool is as it was."""
        cfg = self.config
        self.counters.submitted += 1
        if len(encoded) > MAX_EXTRINSIC_SIZE:
            raise InvalidExtrinsic(f"extrinsic of {len(encoded)} bytes is over the limit of {MAX_EXTRINSIC_SIZE}")
        xt_hash = blake2b_256(encoded)
        self._expire_bans()
        if xt_hash in self._banned:
            raise InvalidExtrinsic("transaction is temporarily banned: it was invalid recently")
        if xt_hash in self._by_hash:
            raise InvalidExtrinsic("transaction is already in the pool")
        try:
            xt = Extrinsic.decode_checked(encoded)
        except DecodeError as exc:
            raise InvalidExtrinsic(f"malformed extrinsic: {exc}") from None
        self.counters.validations_scheduled += 1
        try:
            valid = self._validate(xt, len(encoded))
        except InvalidExtrinsic:
            self._banned[xt_hash] = self._clock() + cfg.ban_seconds
            raise
        finally:
            self.counters.validations_finished += 1
        queued = self._by_sender.get(xt.signer, {})
        # the gap counts from the end of the sender's unbroken run of pooled nonces: a wallet may queue a long
        # chain of ready transactions (up to max_per_sender), never a far-off nonce
        chain_end = valid.account_nonce
        while chain_end in queued:
            chain_end += 1
        gap = xt.nonce - chain_end
        if gap > cfg.max_nonce_gap:
            raise InvalidExtrinsic(
                f"nonce {xt.nonce} is {gap} ahead of this sender's next nonce {chain_end} (the account's next "
                f"nonce and its pooled ones); the pool takes at most {cfg.max_nonce_gap} ahead"
            )
        existing = queued.get(xt.nonce)
        if existing is not None:
            self._check_replacement(existing, xt.tip, len(encoded))
        elif len(queued) >= cfg.max_per_sender:
            raise InvalidExtrinsic(f"this sender already has {len(queued)} pooled transactions, the most it may")
        spend = get_call_spend(self._head_runtime() if self._head_runtime else self._runtime, xt.call, xt.signer)
        dies_at = None
        if self._next_block is not None and not xt.era.immortal:
            dies_at = xt.era.birth(self._next_block()) + xt.era.period
        tx = PoolTx(xt, encoded, xt_hash, xt.tip, self._arrivals + 1, valid.fee, self._clock(),
                    spend=spend.amount, takes_rest=spend.rest, spend_upto=spend.upto, dies_at=dies_at)
        self._check_funds_for(queued, tx, valid.spendable)
        self._check_others(spend.others)
        victims: list[PoolTx] = []
        if existing is None:
            future = self._is_future(queued, xt.nonce, valid.account_nonce)
            if future and sum(1 for t in queued.values() if t.future) >= cfg.max_future_per_sender:
                raise InvalidExtrinsic("too many future transactions from this sender")
            victims = self._plan_room(tx, future)
        # nothing has changed up to here: every refusal above leaves the pool as it was
        for victim in victims:
            self._remove(victim)
            self.on_dropped(victim.hash, "dropped: evicted from the pool by a transaction paying more per byte")
        if existing is not None:
            self._remove(existing)
            self.on_dropped(existing.hash, "usurped: replaced by a transaction with the same nonce and a higher tip")
        self._arrivals += 1
        self._insert(tx)
        self._classify(xt.signer, valid.account_nonce)
        return xt_hash

    def resubmit(self, encoded: bytes) -> None:
        """Offer back a transaction of a retracted block; one that is no longer valid is left out."""
        self.counters.block_resubmitted += 1
        try:
            self.submit(encoded)
        except InvalidExtrinsic:
            pass

    def _check_replacement(self, existing: PoolTx, tip: int, size: int) -> None:
        """A replacement must tip enough more, and fit in the room its predecessor leaves."""
        cfg = self.config
        required = existing.tip + max(1, -(-existing.tip * cfg.replace_tip_bump_percent // 100))
        if tip < required:
            raise InvalidExtrinsic(
                f"a transaction with nonce {existing.nonce} from this sender is already pooled with tip "
                f"{existing.tip}: a replacement must tip at least {required} ({cfg.replace_tip_bump_percent}% and "
                f"at least 1 base unit more)"
            )
        if self._bytes - len(existing.encoded) + size > cfg.max_bytes:
            raise InvalidExtrinsic(
                f"the pool is full: this replacement is {size - len(existing.encoded)} bytes larger than the "
                f"transaction it replaces, and a replacement never evicts another transaction"
            )

    def _check_funds_for(self, queued: dict[int, PoolTx], tx: PoolTx, spendable: int) -> None:
        """The sender's pooled transactions with `tx` in its nonce's place must fit `spendable`, in nonce order."""
        replaced = queued.get(tx.nonce)
        total = self._committed.get(tx.sender, 0) - (replaced.cost if replaced is not None else 0) + tx.cost
        if total <= spendable and not tx.takes_rest and tx.sender not in self._rest_takers:
            return  # nothing takes "the rest": the walk would fail only on the total
        nonces = sorted(queued.keys() | {tx.nonce})
        ordered = [tx if n == tx.nonce else queued[n] for n in nonces]
        unpayable = find_unpayable(ordered, spendable)
        if unpayable is not None:
            index, need = unpayable
            others = len(queued) - (tx.nonce in queued)
            raise InvalidExtrinsic(
                f"cannot pay the fees, tips and amounts of its {others} pooled transactions and this one: up to "
                f"nonce {ordered[index].nonce} they need {need}, the spendable balance is {spendable}"
            )

    def _check_others(self, others: tuple[tuple[bytes, int], ...]) -> None:
        """What a call takes from accounts other than its sender (a proxy call's `real`) must fit each one's spendable
        balance less what its own pooled transactions commit it to (checked at admission only: the sender pays the
        fee, so a call that fails there later is paid for)."""
        if self._accounts is None:
            return
        for who, amount in others:
            available = self._accounts.spendable(who) - self._committed.get(who, 0)
            if amount > available:
                raise InvalidExtrinsic(
                    f"its call takes {amount} from account 0x{who.hex()} (made as it, through a proxy), which can "
                    f"spend {max(available, 0)} beside its own pooled transactions")

    @staticmethod
    def _is_future(queued: dict[int, PoolTx], nonce: int, account_nonce: int) -> bool:
        """Whether `nonce` would wait for a gap: some nonce between the account's and it is not pooled."""
        return any(n not in queued for n in range(account_nonce, nonce))

    def _classify(self, sender: bytes, account_nonce: int) -> None:
        """Mark the sender's contiguous run from its account nonce ready, the rest future."""
        queued = self._by_sender.get(sender, {})
        n = account_nonce
        while n in queued:
            n += 1
        for nonce, tx in queued.items():
            future = nonce > n
            if future != tx.future:
                self._future_count += 1 if future else -1
                tx.future = future

    def _evictable(self, taken: dict[bytes, int], newcomer: PoolTx) -> Iterator[PoolTx]:
        """Each sender's last nonce once its `taken[sender]` last ones are gone: removing it strands nothing. Never
        one of the newcomer's sender below the newcomer's nonce (that would only put a gap before it)."""
        for sender, queued in self._by_sender.items():
            k = taken.get(sender, 0)
            if k >= len(queued):
                continue
            tx = queued[max(queued)] if k == 0 else queued[sorted(queued)[-1 - k]]
            if sender == newcomer.sender and tx.nonce < newcomer.nonce:
                continue
            yield tx

    def _plan_room(self, newcomer: PoolTx, future: bool) -> list[PoolTx]:
        """The transactions to evict so that `newcomer` fits, cheapest first; raises InvalidExtrinsic (and nothing
        is removed) when it does not pay more per byte than they do."""
        cfg = self.config
        size, tip = len(newcomer.encoded), newcomer.tip
        victims: list[PoolTx] = []
        taken: dict[bytes, int] = {}
        if future and self._future_count >= cfg.max_future_total:
            worst = min((t for t in self._evictable(taken, newcomer) if t.future), key=_eviction_key, default=None)
            if worst is None or not worst.cheaper_than(tip, size):
                raise InvalidExtrinsic(
                    "the pool holds the most future transactions it may: send the missing nonces first"
                )
            victims.append(worst)
            taken[worst.sender] = 1
        count = len(self._by_hash) - len(victims)
        size_left = self._bytes - sum(len(v.encoded) for v in victims)
        while count + 1 > cfg.max_count or size_left + size > cfg.max_bytes:
            worst = min(self._evictable(taken, newcomer), key=lambda t: (not t.future, *_eviction_key(t)),
                        default=None)
            if worst is None or not (worst.future or worst.cheaper_than(tip, size)):
                raise InvalidExtrinsic("the pool is full: raise the tip to replace a pooled transaction")
            victims.append(worst)
            taken[worst.sender] = taken.get(worst.sender, 0) + 1
            count -= 1
            size_left -= len(worst.encoded)
        return victims

    def _insert(self, tx: PoolTx) -> None:
        sender = tx.sender
        self._by_hash[tx.hash] = tx
        self._by_sender.setdefault(sender, {})[tx.nonce] = tx
        self._bytes += len(tx.encoded)
        self._committed[sender] = self._committed.get(sender, 0) + tx.cost
        if tx.takes_rest:
            self._rest_takers[sender] = self._rest_takers.get(sender, 0) + 1
        if tx.dies_at is not None:
            heapq.heappush(self._deaths, (tx.dies_at, tx.arrival, tx.hash))
            if len(self._deaths) > 2 * len(self._by_hash) + DEATHS_SLACK:  # the included and dropped ones: rebuild
                self._deaths = [(t.dies_at, t.arrival, t.hash) for t in self._by_hash.values() if t.dies_at is not None]
                heapq.heapify(self._deaths)

    def _remove(self, tx: PoolTx) -> None:
        if self._by_hash.pop(tx.hash, None) is None:
            return
        sender = tx.sender
        queued = self._by_sender.get(sender)
        if queued is not None:
            queued.pop(tx.nonce, None)
            if not queued:
                del self._by_sender[sender]
        if tx.future:
            self._future_count -= 1
            tx.future = False
        self._bytes -= len(tx.encoded)
        if sender not in self._by_sender:
            self._committed.pop(sender, None)
            self._rest_takers.pop(sender, None)
            self._known_spendable.pop(sender, None)
            return
        self._committed[sender] -= tx.cost
        if tx.takes_rest:
            self._rest_takers[sender] -= 1
            if not self._rest_takers[sender]:
                del self._rest_takers[sender]

    def _expire_bans(self) -> None:
        now = self._clock()
        for h in [h for h, until in self._banned.items() if until <= now]:
            del self._banned[h]

    # reading ---------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._by_hash)

    def __contains__(self, xt_hash: bytes) -> bool:
        return xt_hash in self._by_hash

    def get(self, xt_hash: bytes) -> PoolTx | None:
        return self._by_hash.get(xt_hash)

    @property
    def total_bytes(self) -> int:
        return self._bytes

    def pending(self) -> list[PoolTx]:
        return sorted(self._by_hash.values(), key=lambda t: (t.sender, t.nonce))

    def committed(self, sender: bytes) -> int:
        """The fees, tips and spends of `sender`'s pooled transactions (0 when it has none)."""
        return self._committed.get(sender, 0)

    def ready(self) -> Iterator[PoolTx]:
        """Ready transactions in block order: each sender's run of consecutive nonces from its account nonce,
        interleaved across senders by tip (then arrival)."""
        heads: list[tuple[tuple[int, int], bytes, int]] = []
        for sender, queued in self._by_sender.items():
            nonce = self._account_nonce(sender)
            tx = queued.get(nonce)
            if tx is not None:
                heads.append((tx.sort_key, sender, nonce))
        heapq.heapify(heads)
        while heads:
            _, sender, nonce = heapq.heappop(heads)
            queued = self._by_sender.get(sender, {})
            tx = queued.get(nonce)
            if tx is None:
                continue
            yield tx
            nxt = queued.get(nonce + 1)
            if nxt is not None:
                heapq.heappush(heads, (nxt.sort_key, sender, nonce + 1))

    def status(self) -> dict[str, int]:
        ready = sum(1 for _ in self.ready())
        return {"ready": ready, "future": len(self) - ready, "bytes": self._bytes}

    def now(self) -> float:
        """The pool's clock (what `arrived_at` is measured on)."""
        return self._clock()

    @property
    def future_count(self) -> int:
        return self._future_count

    # maintenance -----------------------------------------------------------------------------------
    def prune(self, included: list[bytes], invalid: list[bytes]) -> None:
        """After a block: drop included and invalid ones (banning the invalid), then everything now stale, future
        transactions that waited longer than `future_ttl_seconds`, and what senders can no longer pay."""
        started = time.perf_counter()
        now = self._clock()
        self.counters.block_pruned += len(included)
        for h in invalid:
            self._banned[h] = now + self.config.ban_seconds
        for h in included:
            tx = self._by_hash.get(h)
            if tx is not None:
                self._remove(tx)
        for h in invalid:
            tx = self._by_hash.get(h)
            if tx is not None:
                self._remove(tx)
                self.counters.invalid_removed += 1
                self.on_dropped(h, "invalid: it can no longer be included")
        self._drop_dead()
        accounts = self._accounts
        checked = exact = dropped = 0
        for sender in list(self._by_sender):
            record = accounts.account(sender) if accounts is not None else None
            nonce = record.nonce if record is not None else self._account_nonce(sender)
            for tx in [t for n, t in self._by_sender.get(sender, {}).items() if n < nonce]:
                self._remove(tx)
                self.on_dropped(tx.hash, "invalid: its nonce was used by another transaction")
            self._classify(sender, nonce)
            for tx in [t for t in self._by_sender.get(sender, {}).values() if t.future]:
                if now - tx.arrived_at > self.config.future_ttl_seconds:
                    self._remove(tx)
                    self.on_dropped(tx.hash, "dropped: it waited too long for the missing nonces")
            if accounts is not None and record is not None and sender in self._by_sender:
                checked += 1
                read_exactly, gone = self._recheck_funds(accounts, sender, record)
                exact += read_exactly
                dropped += gone
        self.unpayable_dropped += dropped
        self.counters.invalid_removed += dropped
        self.last_recheck = RecheckStats(checked, exact, dropped, time.perf_counter() - started)
        if dropped:
            log.info(
                "dropped %d pooled transactions whose senders can no longer pay them (%d senders re-checked, %d "
                "read with their locks, %.1f ms)", dropped, checked, exact, self.last_recheck.seconds * 1000,
            )

    def _drop_dead(self) -> None:
        """Drop, as invalid (banned, its watcher told), every mortal transaction whose era has ended by the next
        block: its signature commits to a birth block that block no longer sees."""
        if self._next_block is None:
            return
        number = self._next_block()
        deaths = self._deaths
        while deaths and deaths[0][0] <= number:
            dies_at, _, h = heapq.heappop(deaths)
            tx = self._by_hash.get(h)
            if tx is None or tx.dies_at != dies_at:
                continue  # left the pool already (a same-hash transaction admitted again has its own entry)
            self._remove(tx)
            self._banned[h] = self._clock() + self.config.ban_seconds
            self.counters.invalid_removed += 1
            self.on_dropped(h, f"invalid: its mortal era ended at block #{dies_at - 1} (born at "
                               f"#{dies_at - tx.xt.era.period}, period {tx.xt.era.period}); sign it again against a "
                               "recent block")

    def _recheck_funds(self, accounts: HeadAccounts, sender: bytes, record: AccountInfo) -> tuple[int, int]:
        """Drop `sender`'s transactions from the first one its balance cannot pay; return (1 if its spendable
        balance was read with its locks else 0, how many were dropped)."""
        floor = record.spendable
        known = self._known_spendable.get(sender)
        if known is not None and known[0] == record:
            floor = max(floor, known[1])  # its locks can only have loosened since, with nothing written
        if self._committed[sender] <= floor and sender not in self._rest_takers:
            return 0, 0
        queued = self._by_sender[sender]
        ordered = [queued[n] for n in sorted(queued)]
        unpayable = find_unpayable(ordered, floor)
        if unpayable is None:
            return 0, 0
        read = 1 if record.frozen else 0
        spendable = floor
        if read:  # its locks may have loosened by the next block: read them (with no lock, free is all it has)
            spendable = accounts.spendable(sender)
            self._known_spendable[sender] = (record, spendable)
            unpayable = find_unpayable(ordered, spendable)
            if unpayable is None:
                return read, 0
        index, need = unpayable
        for tx in ordered[index:]:
            self._remove(tx)
            self.on_dropped(
                tx.hash,
                f"invalid: its sender can no longer pay it (fees, tips and amounts up to nonce {ordered[index].nonce} "
                f"need {need}, the spendable balance is {spendable})",
            )
        return read, len(ordered) - index
