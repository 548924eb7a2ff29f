"""Weak subjectivity: the trusted checkpoint that keeps a syncing node off long-range forks.

Finality justifications only prove that 2/3 of *some* validator set signed. Validators that have unbonded
(or whose old keys leaked) can sign a long, "finalized" alternative history at no cost, and a node that syncs
from genesis cannot tell it from the real one. A trusted checkpoint (a block hash and number from the chain
spec or `--checkpoint HASH@NUMBER`) settles it:

- A block at the checkpoint's number with another hash is refused, and so is every block that builds on a
  refused one, or on any block at or above that number while the checkpoint is not in the chain yet.
- Before a peer's chain is downloaded, the peer is asked for its block at the checkpoint's number; a peer
  whose block (or finalized block) there differs is refused. Refused peers are logged and banned. Blocks
  below the checkpoint cannot be told apart before it arrives: when a peer that holds the checkpoint lacks
  our unfinalized head, those blocks are rewound and the peer's chain synced instead.
- Until the checkpoint block is imported, nothing else is finalized; justifications wait (and only those on
  the checkpoint's chain are applied once it is in) and gossiped votes are ignored. Once it is imported it is
  final, so the node never reverts below it.
- A database that already holds another block at the checkpoint's number refuses to start.

Without a checkpoint the node only warns, once, when it syncs while its last finalized block is older than
the unbonding period (`bonds.unbonding_period_ms`): the validators that signed what follows may be gone and
unslashable. It warns the same way, once, when it syncs past a checkpoint that old.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Self

from btt_chain.node import sync
from btt_chain.node.chain import Chain, ImportedBlock
from btt_chain.primitives.block import Block, Header
from btt_chain.primitives.errors import BttError, DecodeError, InvalidBlock, StorageError
from btt_chain.primitives.vote import Justification, Vote
from genesis.spec import ChainSpec, TrustedCheckpoint

if TYPE_CHECKING:
    from p2p.service import P2PService

log = logging.getLogger("btt.checkpoint")

CHECKPOINT_BAN_S = 3600.0
"""How long a peer whose chain conflicts with the checkpoint is banned (it will not change its mind)."""
UNBONDING_PARAM = "bonds.unbonding_period_ms"
DEFAULT_UNBONDING_MS = 28 * 86_400_000
MAX_DEFERRED_BYTES = 64 * 1024 * 1024
"""Justifications held back until the checkpoint is imported (one per epoch below it)."""
MAX_REFUSED = 10_000
PROBE_TIMEOUT_S = 10.0
DAY_MS = 86_400_000

JustificationSink = Callable[[bytes, "str | None"], bool]
VoteHandler = Callable[[str, bytes], "bool | None"]
FinalizedListener = Callable[[Header, bytes], None]


class CheckpointConflict(InvalidBlock):
    """The block is not on the chain of this node's trusted checkpoint (`--checkpoint` or the chain spec)."""

    def __init__(self, offered: str, checkpoint: TrustedCheckpoint) -> None:
        self.offered = offered
        """What was refused, for the log: `block #N 0xHASH (why)`."""
        super().__init__(f"{offered} conflicts with the trusted checkpoint {checkpoint}")


class CheckpointGuard:
    """The node's trusted checkpoint, enforced on import, finality, sync, justifications and votes.

    With no checkpoint every check passes and only the weak-subjectivity warning remains."""

    def __init__(
        self,
        chain: Chain,
        checkpoint: TrustedCheckpoint | None,
        source: str,
        unbonding_period_ms: int,
        now_ms: Callable[[], int],
    ) -> None:
        self.chain = chain
        self.checkpoint = checkpoint
        self.source = source
        """Where the checkpoint came from: '--checkpoint' or 'the chain spec'."""
        self.unbonding_period_ms = unbonding_period_ms
        self.now_ms = now_ms
        self.reached = False
        """The checkpoint block is in the chain (and final)."""
        self.p2p: P2PService | None = None
        self._apply_justification: JustificationSink | None = None
        self._notify_finalized: FinalizedListener | None = None
        self._refused: set[bytes] = set()
        self._vetted: set[str] = set()
        self._deferred: dict[bytes, tuple[bytes, str | None]] = {}
        self._deferred_bytes = 0
        self._warned_unprotected = False
        self._warned_deferred_full = False

    @classmethod
    def start(cls, chain: Chain, spec: ChainSpec, override: TrustedCheckpoint | None,
              now_ms: Callable[[], int]) -> Self:
        """The guard of a node: `override` (--checkpoint) before the spec's checkpoint. Raises StorageError
        when the database already holds a chain that conflicts with the checkpoint."""
        checkpoint = override or spec.checkpoint
        source = "--checkpoint" if override is not None else "the chain spec"
        try:
            unbonding = spec.param(UNBONDING_PARAM).value
        except KeyError:
            unbonding = DEFAULT_UNBONDING_MS
        guard = cls(chain, checkpoint, source, unbonding, now_ms)
        guard.install()
        return guard

    def install(self) -> None:
        cp = self.checkpoint
        if cp is None:
            return
        chain = self.chain
        held = chain.db.canonical_hash(cp.number)
        trust = chain.db.warp_trust()
        if held is None and trust is not None and cp.number < chain.lowest_number:
            # a warp-synced database holds no block at the checkpoint's number: its warp proof started there, or it
            # cannot tell whether its chain has the checkpoint
            if trust != (cp.number, cp.hash):
                raise StorageError(
                    f"this node's database was warp-synced to block #{chain.lowest_number} by a proof from "
                    f"{'genesis' if trust[0] == 0 else f'the checkpoint 0x{trust[1].hex()}@{trust[0]}'}, and holds no "
                    f"block at the trusted checkpoint {cp} (from {self.source}) to check it against: `btt-chain "
                    "purge-chain` this database and warp again with the checkpoint"
                )
            held = cp.hash
        if held is not None and held != cp.hash:
            raise StorageError(
                f"this node's database holds block #{cp.number} 0x{held.hex()}, which conflicts with the trusted "
                f"checkpoint {cp} (from {self.source}): check the checkpoint, or `btt-chain purge-chain` this "
                "database and sync again"
            )
        chain.guard = self
        chain.on_import(self._on_import)
        if held == cp.hash:
            self._reach()
        else:
            log.info(
                "trusted checkpoint %s (from %s): chains without it are refused; nothing is finalized until it "
                "is imported", cp, self.source,
            )

    def connect(self, apply_justification: JustificationSink, notify_finalized: FinalizedListener) -> None:
        """Where justifications go once they may be applied, and whom to tell when the checkpoint becomes final."""
        self._apply_justification = apply_justification
        self._notify_finalized = notify_finalized

    def attach(self, p2p: P2PService) -> None:
        """The p2p service whose peers are banned when they offer a conflicting chain."""
        self.p2p = p2p

    def describe(self) -> dict[str, Any] | None:
        """For RPC: the checkpoint, where it came from, and whether the chain has reached it."""
        cp = self.checkpoint
        if cp is None:
            return None
        return {"hash": "0x" + cp.hash.hex(), "number": cp.number, "source": self.source, "reached": self.reached}

    # the chain's import guard --------------------------------------------------------------------------
    def check_block(self, block_hash: bytes, header: Header) -> None:
        cp = self.checkpoint
        if cp is None:
            return
        why = None
        if header.number == cp.number and block_hash != cp.hash:
            why = "another block at the checkpoint's number"
        elif header.parent_hash in self._refused:
            why = "it builds on a refused block"
        elif (header.number > cp.number and not self.reached and header.parent_hash != cp.hash
              and self.chain.knows(header.parent_hash)):
            why = "above the checkpoint's number on a chain without it"
        if why is None:
            return
        if len(self._refused) >= MAX_REFUSED:
            self._refused.clear()
        self._refused.add(block_hash)
        raise CheckpointConflict(f"block #{header.number} 0x{block_hash.hex()} ({why})", cp)

    def finality_refusal(self, block_hash: bytes, header: Header) -> str | None:
        cp = self.checkpoint
        if cp is None or self.reached or block_hash == cp.hash:
            return None
        return f"finality waits until the trusted checkpoint {cp} is imported"

    def _on_import(self, imported: ImportedBlock) -> None:
        cp = self.checkpoint
        if cp is not None and not self.reached and imported.hash == cp.hash:
            self._reach()

    def _reach(self) -> None:
        cp = self.checkpoint
        assert cp is not None
        self.reached = True
        chain = self.chain
        if chain.finalized.number < cp.number:
            chain.finalize(cp.hash)
            if self._notify_finalized is not None:
                self._notify_finalized(chain.finalized, cp.hash)
        log.info("reached the trusted checkpoint %s (from %s): it is final", cp, self.source)
        self._replay_deferred()

    # justifications and votes ----------------------------------------------------------------------------
    def import_justification(self, raw: bytes, peer: str | None = None) -> bool:
        """Apply a peer's justification, hold it back until the checkpoint is in, or refuse it (and ban the
        peer) when it finalizes a chain without the checkpoint. False: refused or invalid."""
        apply = self._apply_justification
        assert apply is not None, "connect() the guard to the finality service first"
        cp = self.checkpoint
        if cp is None:
            return apply(raw, peer)
        try:
            j = Justification.decode(raw)
        except DecodeError:
            return apply(raw, peer)  # the finality service rejects it as it would any malformed one
        target = j.target.block_hash
        header = self.chain.db.get_header(target)
        if target in self._refused or (header is not None and header.number == cp.number and target != cp.hash):
            self.refuse_peer(peer, f"a justification of block 0x{target.hex()} (epoch {j.target.epoch}), a block "
                             "the checkpoint rules out", via="justification")
            return False
        if not self.reached:
            self._defer(target, raw, peer)
            return True
        if header is not None and header.number <= cp.number and not self.chain.is_canonical(target, header.number):
            log.debug("ignored a justification of %s from %s: off the checkpoint's chain", j.target, peer)
            return True
        return apply(raw, peer)

    def _defer(self, target: bytes, raw: bytes, peer: str | None) -> None:
        if target in self._deferred:
            return
        if self._deferred_bytes + len(raw) > MAX_DEFERRED_BYTES:
            if not self._warned_deferred_full:
                self._warned_deferred_full = True
                log.warning("more justifications wait for the checkpoint than fit in memory: later ones are dropped")
            return
        self._deferred[target] = (raw, peer)
        self._deferred_bytes += len(raw)

    def _replay_deferred(self) -> None:
        """Apply the held-back justifications whose targets are on the checkpoint's chain, oldest first."""
        deferred, self._deferred, self._deferred_bytes = self._deferred, {}, 0
        if not deferred or self._apply_justification is None:
            return
        db = self.chain.db
        ready: list[tuple[int, bytes, str | None]] = []
        for target, (raw, peer) in deferred.items():
            header = db.get_header(target)
            if header is not None and self.chain.is_canonical(target, header.number):
                ready.append((header.number, raw, peer))
        ready.sort(key=lambda item: item[0])
        applied = sum(1 for _, raw, peer in ready if self._apply_justification(raw, peer))
        log.info(
            "applied %d of %d justifications held back until the checkpoint (%d off its chain or unknown dropped)",
            applied, len(deferred), len(deferred) - len(ready),
        )

    def filter_votes(self, handler: VoteHandler) -> VoteHandler:
        """Wrap the vote-gossip handler: votes wait (are ignored) until the checkpoint is in; after, votes for
        blocks at or below it that are off its chain are ignored."""

        def on_vote(peer: str, data: bytes) -> bool | None:
            cp = self.checkpoint
            if cp is None:
                return handler(peer, data)
            if not self.reached:
                return None
            try:
                target = Vote.decode(data, max_size=1024).target.block_hash
            except DecodeError:
                return handler(peer, data)
            header = self.chain.db.get_header(target)
            if header is not None and header.number <= cp.number and not self.chain.is_canonical(target, header.number):
                return None
            return handler(peer, data)

        return on_vote

    # peers ---------------------------------------------------------------------------------------------
    def refuse_peer(self, peer: str | None, offered: str, via: str) -> None:
        """Log who offered what against which checkpoint, and ban the peer."""
        log.warning(
            "checkpoint conflict: peer %s offered %s by %s, which conflicts with our trusted checkpoint %s (from "
            "%s): refusing its chain and banning it for %d s (if the checkpoint is wrong, fix it and restart)",
            peer or "(local)", offered, via, self.checkpoint, self.source, CHECKPOINT_BAN_S,
        )
        if peer is not None and self.p2p is not None:
            self.p2p.ban(peer, CHECKPOINT_BAN_S, f"its chain conflicts with the trusted checkpoint {self.checkpoint}")
        if peer is not None:
            self._vetted.discard(peer)

    def refuse_block(self, peer: str, exc: CheckpointConflict, via: str) -> None:
        """A peer sent a block the chain refused for the checkpoint."""
        self.refuse_peer(peer, exc.offered, via)

    async def vet_peer(self, p2p: P2PService, peer: str, status: sync.PeerStatus) -> bool:
        """Before catching up from a peer that is ahead: may we sync from it?

        Refuses (and bans) a peer whose finalized block or whose block at the checkpoint's number conflicts
        with the checkpoint. Until the checkpoint is reached, rewinds our unfinalized blocks when a peer that
        holds the checkpoint does not have our head (someone fed us a chain without it)."""
        cp = self.checkpoint
        if cp is None or self.reached:
            self._warn_unprotected()
        if cp is None:
            return True
        if status.finalized_number == cp.number and status.finalized_hash != cp.hash:
            self.refuse_peer(peer, f"a chain finalized at #{cp.number} 0x{status.finalized_hash.hex()}", via="status")
            return False
        if self.reached and status.finalized_number < cp.number:
            ours = self.chain.db.canonical_hash(status.finalized_number)
            if ours is not None and ours != status.finalized_hash:
                self.refuse_peer(peer, f"a chain finalized at #{status.finalized_number} "
                                 f"0x{status.finalized_hash.hex()} (not on the checkpoint's chain)", via="status")
                return False
        if status.best_number < cp.number:
            return True  # nothing to probe: its blocks are checked as they come, and a later probe rewinds them
        if peer not in self._vetted:
            theirs = await self._block_hash_at(p2p, peer, cp.number)
            if theirs is None:
                return self.reached
            if theirs != cp.hash:
                self.refuse_peer(peer, f"block #{cp.number} 0x{theirs.hex()} (another block at the checkpoint's "
                                 "number)", via="sync")
                return False
            self._vetted.add(peer)
        chain = self.chain
        if not self.reached and chain.head.number > chain.finalized.number:
            theirs = await self._block_hash_at(p2p, peer, chain.head.number)
            if theirs is not None and theirs != chain.head_hash:
                log.warning(
                    "our unfinalized head #%d 0x%s is not on the chain of %s, which holds the checkpoint: rewinding "
                    "to #%d and syncing from it", chain.head.number, chain.head_hash.hex()[:16], peer,
                    chain.finalized.number,
                )
                chain.rewind_to_finalized()
        return True

    async def _block_hash_at(self, p2p: P2PService, peer: str, number: int) -> bytes | None:
        """The hash of the peer's canonical block at `number`, or None when it does not answer sensibly."""
        try:
            raw = await p2p.request(peer, "sync/blocks", sync.encode_blocks_request(number, 1), timeout=PROBE_TIMEOUT_S)
            items = sync.decode_blocks_response(raw, 8 * 1024 * 1024)
            if not items:
                return None
            header = Block.decode(items[0][0]).header
        except (BttError, OSError) as exc:
            log.debug("no block #%d from %s: %s", number, peer, exc)
            return None
        if header.number != number:
            log.debug("%s answered a request for block #%d with block #%d", peer, number, header.number)
            return None
        return header.hash()

    def _warn_unprotected(self) -> None:
        if self._warned_unprotected:
            return
        finalized = self.chain.finalized
        age = self.now_ms() - finalized.timestamp_ms
        if age <= self.unbonding_period_ms:
            return
        self._warned_unprotected = True
        if self.checkpoint is None:
            log.warning(
                "syncing without weak-subjectivity protection: this node has no trusted checkpoint and its last "
                "finalized block #%d is %.1f days old, older than the unbonding period (%.1f days), so validators "
                "that have since left could feed it a fake history. Start it with --checkpoint HASH@NUMBER (a recent "
                "finalized block from a source you trust) or put a checkpoint in the chain spec",
                finalized.number, age / DAY_MS, self.unbonding_period_ms / DAY_MS,
            )
        else:
            log.warning(
                "syncing with a stale checkpoint: the last finalized block #%d is %.1f days old, older than the "
                "unbonding period (%.1f days), so blocks after it are not protected against validators that have "
                "since left. Pass a more recent --checkpoint HASH@NUMBER", finalized.number, age / DAY_MS,
                self.unbonding_period_ms / DAY_MS,
            )
