"""The transaction pool: validated on entry, ready and future queues keyed by (sender, nonce), tip priority.

Bounded by count and bytes; when full, a transaction must outbid the lowest-tip one to get in. Invalid
transactions are banned by hash for a while. After each imported block the pool drops what the block
included or made stale and promotes future transactions whose nonce gap closed.
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


@dataclass(order=True)
class PoolTx:
    """One pooled transaction."""

    sort_key: tuple[int, int] = field(init=False, repr=False)
    xt: Extrinsic = field(compare=False)
    encoded: bytes = field(compare=False)
    hash: bytes = field(compare=False)
    tip: int = field(compare=False)
    arrival: int = field(compare=False)

    def __post_init__(self) -> None:
        self.sort_key = (-self.tip, self.arrival)

    @property
    def sender(self) -> bytes:
        return self.xt.signer

    @property
    def nonce(self) -> int:
        return self.xt.nonce


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

    # admission -------------------------------------------------------------------------------------
    def submit(self, encoded: bytes) -> bytes:
        """Validate and add an encoded extrinsic; return its hash. Raises InvalidExtrinsic with the reason."""
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
            self._banned[xt_hash] = self._clock() + self.config.ban_seconds
            raise
        queued = self._by_sender.get(xt.signer, {})
        existing = queued.get(xt.nonce)
        if existing is not None and existing.tip >= xt.tip:
            raise InvalidExtrinsic(
                f"a transaction with nonce {xt.nonce} from this sender is already pooled with an equal or higher tip"
            )
        if valid.is_future and sum(1 for n in queued if n > valid.account_nonce) >= self.config.max_future_per_sender:
            raise InvalidExtrinsic("too many future transactions from this sender")
        self._make_room(len(encoded), xt.tip)
        if existing is not None and existing.hash in self._by_hash:  # _make_room may have evicted it already
            self._remove(existing)
        self._arrivals += 1
        tx = PoolTx(xt, encoded, xt_hash, xt.tip, self._arrivals)
        self._by_hash[xt_hash] = tx
        self._by_sender.setdefault(xt.signer, {})[xt.nonce] = tx
        self._bytes += len(encoded)
        return xt_hash

    def _make_room(self, size: int, tip: int) -> None:
        while len(self._by_hash) + 1 > self.config.max_count or self._bytes + size > self.config.max_bytes:
            worst = max(self._by_hash.values(), key=lambda t: (-t.tip, t.arrival), default=None)
            if worst is None or worst.tip >= tip:
                raise InvalidExtrinsic("the pool is full: raise the tip to replace a pooled transaction")
            self._remove(worst)

    def _remove(self, tx: PoolTx) -> None:
        self._by_hash.pop(tx.hash, None)
        queued = self._by_sender.get(tx.sender)
        if queued is not None:
            queued.pop(tx.nonce, None)
            if not queued:
                del self._by_sender[tx.sender]
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

    # maintenance -----------------------------------------------------------------------------------
    def prune(self, included: list[bytes], invalid: list[bytes]) -> None:
        """After a block: drop included and invalid ones (banning the invalid), then everything now stale."""
        now = self._clock()
        for h in invalid:
            self._banned[h] = now + self.config.ban_seconds
        for h in [*included, *invalid]:
            tx = self._by_hash.get(h)
            if tx is not None:
                self._remove(tx)
        for sender in list(self._by_sender):
            nonce = self._account_nonce(sender)
            for tx in [t for n, t in self._by_sender.get(sender, {}).items() if n < nonce]:
                self._remove(tx)
