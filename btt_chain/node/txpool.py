"""The transaction pool: validated on entry, ready and future queues keyed by (sender, nonce), tip priority.

Admission holds a sender to what it can pay: the fees and tips of all its pooled transactions (ready and
future) and the new one must fit its spendable balance at the head, so never-funded keys get nothing in.
A nonce may be at most `max_nonce_gap` ahead of the sender's next (its account nonce followed by its unbroken run
of pooled nonces); each sender holds at most
`max_future_per_sender` future and `max_per_sender` pooled transactions, all senders together at most
`max_future_total` future ones, and a future transaction that waits longer than `future_ttl_seconds` is
dropped. When the pool is full, a newcomer must pay more per byte than the cheapest evictable transaction:
each sender's last nonce (never a middle one, which would strand the rest), future ones first. Every
transaction that leaves without being included goes through `on_dropped(hash, reason)`, so a watcher can
tell its sender. Invalid transactions are banned by hash for a while. After each imported block the pool
drops what the block included or made stale and expires old future transactions.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from btt_chain.primitives.errors import DecodeError, InvalidExtrinsic
from btt_chain.primitives.extrinsic import MAX_EXTRINSIC_SIZE, Extrinsic
from btt_chain.primitives.hashing import blake2b_256
from runtime.executive import ValidTransaction


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
    """Inclusion fee at admission: with the tip, what the sender has committed to pay."""
    arrived_at: float = field(default=0.0, compare=False)
    future: bool = field(default=False, compare=False)
    """Not includable yet: a nonce gap lies between it and the account's next nonce."""

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
        return self.fee + self.tip

    def cheaper_than(self, tip: int, size: int) -> bool:
        """Whether this pays less per byte (tip / size) than `tip` over `size` bytes."""
        return self.tip * size < tip * len(self.encoded)


class TxPool:
    """Pending extrinsics. `validate` is the chain's admission check against the head state."""

    def __init__(
        self,
        validate: Callable[[Extrinsic, int], ValidTransaction],
        account_nonce: Callable[[bytes], int],
        config: PoolConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._validate = validate
        self._account_nonce = account_nonce
        self.config = config or PoolConfig()
        self._clock = clock
        self._by_hash: dict[bytes, PoolTx] = {}
        self._by_sender: dict[bytes, dict[int, PoolTx]] = {}
        self._banned: dict[bytes, float] = {}
        self._bytes = 0
        self._arrivals = 0
        self._future_count = 0
        self.on_dropped: Callable[[bytes, str], None] = lambda _hash, _reason: None
        """Called for every pooled transaction that leaves without being included (evicted, usurped, expired,
        invalid after a block)."""

    # admission -------------------------------------------------------------------------------------
    def submit(self, encoded: bytes) -> bytes:
        """Validate and add an encoded extrinsic; return its hash. Raises InvalidExtrinsic with the reason."""
        cfg = self.config
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
        try:
            valid = self._validate(xt, len(encoded))
        except InvalidExtrinsic:
            self._banned[xt_hash] = self._clock() + cfg.ban_seconds
            raise
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
        if existing is not None and existing.tip >= xt.tip:
            raise InvalidExtrinsic(
                f"a transaction with nonce {xt.nonce} from this sender is already pooled with an equal or higher tip"
            )
        others = [t for n, t in queued.items() if n != xt.nonce]
        if len(others) >= cfg.max_per_sender:
            raise InvalidExtrinsic(f"this sender already has {len(others)} pooled transactions, the most it may")
        committed = sum(t.cost for t in others) + valid.fee + xt.tip
        if committed > valid.spendable:
            raise InvalidExtrinsic(
                f"cannot pay the fees and tips of its {len(others)} pooled transactions and this one: they need "
                f"{committed}, the spendable balance is {valid.spendable}"
            )
        future = self._is_future(queued, xt.nonce, valid.account_nonce)
        if future:
            if sum(1 for t in others if t.future) >= cfg.max_future_per_sender:
                raise InvalidExtrinsic("too many future transactions from this sender")
            if self._future_count >= cfg.max_future_total:
                self._evict_future_for(xt.tip, len(encoded))
        self._make_room(len(encoded), xt.tip)
        if existing is not None and existing.hash in self._by_hash:  # _make_room may have evicted it already
            self._remove(existing)
            self.on_dropped(existing.hash, "usurped: replaced by a transaction with the same nonce and a higher tip")
        self._arrivals += 1
        tx = PoolTx(xt, encoded, xt_hash, xt.tip, self._arrivals, valid.fee, self._clock())
        self._by_hash[xt_hash] = tx
        self._by_sender.setdefault(xt.signer, {})[xt.nonce] = tx
        self._bytes += len(encoded)
        self._classify(xt.signer, valid.account_nonce)
        return xt_hash

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

    def _evictable(self) -> list[PoolTx]:
        """Each sender's last nonce: removing it strands nothing."""
        return [q[max(q)] for q in self._by_sender.values() if q]

    def _evict_future_for(self, tip: int, size: int) -> None:
        candidates = [t for t in self._evictable() if t.future]
        worst = min(candidates, key=lambda t: (t.tip * 1_000_000 // max(1, len(t.encoded)), -t.arrival), default=None)
        if worst is None or not worst.cheaper_than(tip, size):
            raise InvalidExtrinsic("the pool holds the most future transactions it may: send the missing nonces first")
        self._remove(worst)
        self.on_dropped(worst.hash, "dropped: evicted from the pool by a transaction paying more per byte")

    def _make_room(self, size: int, tip: int) -> None:
        while len(self._by_hash) + 1 > self.config.max_count or self._bytes + size > self.config.max_bytes:
            candidates = self._evictable()
            worst = min(candidates, key=lambda t: (not t.future, t.tip * 1_000_000 // max(1, len(t.encoded)),
                                                   -t.arrival), default=None)
            if worst is None or not (worst.future or worst.cheaper_than(tip, size)):
                raise InvalidExtrinsic("the pool is full: raise the tip to replace a pooled transaction")
            self._remove(worst)
            self.on_dropped(worst.hash, "dropped: evicted from the pool by a transaction paying more per byte")

    def _remove(self, tx: PoolTx) -> None:
        self._by_hash.pop(tx.hash, None)
        queued = self._by_sender.get(tx.sender)
        if queued is not None:
            queued.pop(tx.nonce, None)
            if not queued:
                del self._by_sender[tx.sender]
        if tx.future:
            self._future_count -= 1
            tx.future = False
        self._bytes -= len(tx.encoded)

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
        """After a block: drop included and invalid ones (banning the invalid), then everything now stale, and
        future transactions that waited longer than `future_ttl_seconds`."""
        now = self._clock()
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
                self.on_dropped(h, "invalid: it can no longer be included")
        for sender in list(self._by_sender):
            nonce = self._account_nonce(sender)
            for tx in [t for n, t in self._by_sender.get(sender, {}).items() if n < nonce]:
                self._remove(tx)
                self.on_dropped(tx.hash, "invalid: its nonce was used by another transaction")
            self._classify(sender, nonce)
            for tx in [t for t in self._by_sender.get(sender, {}).values() if t.future]:
                if now - tx.arrived_at > self.config.future_ttl_seconds:
                    self._remove(tx)
                    self.on_dropped(tx.hash, "dropped: it waited too long for the missing nonces")
