"""Joining by warp sync (issue 44): the latest finalized block from a warp proof, its state from peers in verified
prefixes, written into a fresh database; the node then starts on it and imports blocks as usual from there.

1. Proof. From the trusted start (genesis, or the chain spec's / `--checkpoint` trusted checkpoint, which must then be
   an epoch's checkpoint block), which must be at most `max_gap` epochs behind the local clock (weak subjectivity:
   the validators it trusts are still bonded; else the warp is refused and says what to pass), every connected peer,
   up to `MAX_PROOF_PEERS`, is asked for a whole warp proof, each verified part by part
   (`btt_chain.consensus.warp`). A part that does not verify is a provable lie: its sender is banned and its proof
   dropped. When only one peer gave a proof, the warp waits `SECOND_PEER_WAIT_S` for another. The proofs are then
   compared (`relate_proofs`; the higher peer is asked for a proof from the lower one's checkpoint when the proofs
   alone cannot tell): proofs on one chain give the highest finalized checkpoint, the target. Two that verify but end
   at conflicting finalized checkpoints are evidence of a fork signed by keys trusted here: both are written to
   `warp-conflict-*.json` beside the database, nobody is banned (either may be honest), and the warp is refused
   with one ERROR line telling the operator to pass a `--checkpoint` from a source they trust (`WarpConflict`).
2. Block. The target block itself, whose hash the proof fixed.
3. State. The server's plan gives a prefix depth; each prefix of the state tree's paths at that depth is fetched from
   some peer (several at once), checked against the target's state root on its own (`storage.smt.verify_prefix_chunk`:
   a wrong chunk bans its sender; an answer "too big" splits the prefix in two; a peer that cannot serve the block,
   stops answering or is slow is left for the others), and written (flat state, tree leaf, path index) as it comes:
   memory holds a few chunks, never the state. Every prefix comes from somewhere, or the warp fails with why.
4. Finish. Nothing is written before the proof is settled (a refusal leaves the database as it was). The genesis
   and target blocks, the target as head and finalized, its justification, its validator set and
   the finality record go in last, in one batch: before it the database has no head, and the node's next start wipes
   what was written and begins again. When the node opens it, the state tree is rebuilt from the leaves and must give
   the target's state root, or nothing starts.

Blocks below the target are not fetched: a warp-synced node serves the chain from its target on, and says so for
older blocks (`WARP_BASE`); it is a full node from there, and may validate.

The log: a progress line every `PROGRESS_INTERVAL_S` while peers are connected; with none connected, "warp sync:
waiting for peers (none connected)" instead, at most every `NO_PEERS_EVERY_S` (`progress_line`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

from btt_chain.consensus.finality import FinalityRecord
from btt_chain.consensus.warp import (
    MAX_PROOF_BYTES,
    Relation,
    Trusted,
    WarpProgress,
    WarpProof,
    WarpProofError,
    genesis_trust,
    relate_proofs,
    trust_checkpoint,
    verify_proof_part,
)
from btt_chain.node.peer_requests import Peers
from btt_chain.node.warp_serve import (
    BUSY,
    MAX_CHUNK_BYTES,
    OK,
    PLAN_PROTOCOL,
    SPLIT,
    STATE_PROTOCOL,
    WARP_PROTOCOL,
)
from btt_chain.node.warp_trust import PeerProof, ProofPart, conflict_line, keep_evidence, start_too_old
from btt_chain.primitives.block import Block
from btt_chain.primitives.codec import pack, unpack
from btt_chain.primitives.errors import BttError, DecodeError
from btt_chain.primitives.hashing import HASH_LEN
from btt_chain.primitives.vote import Checkpoint
from genesis.build import Genesis
from genesis.spec import TrustedCheckpoint
from p2p import P2PError
from storage import schema
from storage.chaindb import ChainDB
from storage.kv import KeyValueStore
from storage.smt import verify_prefix_chunk
from storage.state_tree import leaf_records, tree_key_chunks
from storage.tree_engine import RECORD_LEN

log = logging.getLogger("btt.warp")

BAN_S = 3600.0
"""A peer that sent a proof or a chunk that does not verify (a provable lie) is banned this long."""
MALFORMED_PENALTY = 20
REQUEST_TIMEOUT_S = 30.0
PARALLEL = 4
"""Prefixes fetched at once (from different peers where there are several)."""
BUSY_WAIT_S = 0.5
"""How long a worker waits after a peer said it is busy (its serving budget spent) before its next request."""
MAX_SPLITS = 4
"""Levels below the planned depth a prefix is split to on a peer's word that it is too big for a chunk (an honest
server's planned prefixes hold a sixteenth of a chunk's limit; a peer that says 'split' of everything multiplies the
requests by at most 2**MAX_SPLITS, never without end)."""
PEER_REST_S = 10.0
"""A peer that failed to answer is not asked again for this long."""
PROGRESS_INTERVAL_S = 5.0
"""Seconds between progress lines while the warp has peers."""
NO_PEERS_EVERY_S = 30.0
"""Seconds between the lines that say the warp has no peer connected (the first comes `PROGRESS_INTERVAL_S` in)."""
CHUNK_RESPONSE_BYTES = MAX_CHUNK_BYTES + 1024 * 1024
"""The largest state response taken (a chunk at its bound with the siblings and framing)."""
MAX_PROOF_PEERS = 4
"""Peers asked for a whole warp proof (all connected ones, up to this many, at once): their proofs are compared."""
SECOND_PEER_WAIT_S = 10.0
"""How long the warp waits for a second peer's proof when only one peer gave one, before it goes on with that one."""
SETTLE_ATTEMPTS, SETTLE_RETRY_S = 3, 1.0
"""Times the higher of two peers is asked for a proof from the lower one's checkpoint while it gives no answer."""


class WarpFailed(BttError):
    """Warp sync could not finish (no peer could give a proof, the block or every prefix): the reason says which."""


class WarpConflict(WarpFailed):
    """Two peers' warp proofs verify but end at conflicting finalized checkpoints: both are kept and the warp refused
    (its message is the ERROR line already logged)."""


PHASES = ("waiting for peers", "proof", "block", "state", "writing", "done")
"""The phases of a warp sync, in order."""


@dataclass
class WarpStats:
    """What the warp did, for the progress line, the metrics and the benchmark."""

    phase: str = PHASES[0]
    fragments: int = 0
    target_number: int = 0
    prefixes_total: int = 0
    prefixes_done: int = 0
    keys: int = 0
    state_bytes: int = 0
    bytes_in: int = 0
    busy: int = 0
    """State requests a peer answered with 'busy' (asked again in a moment)."""
    banned: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    state_started: float = 0.0
    """When the state phase began (monotonic), for the ETA."""

    def eta_s(self, now: float | None = None) -> float:
        """Seconds until the state is fetched at the rate so far; 0 when not known (yet)."""
        if self.phase != "state" or not self.prefixes_done:
            return 0.0
        now = time.monotonic() if now is None else now
        rate = self.prefixes_done / max(now - self.state_started, 1e-6)
        return max(0.0, (self.prefixes_total - self.prefixes_done) / rate)

    def line(self, now: float | None = None) -> str:
        """The progress line (`now`: the monotonic clock's reading, by default the real one)."""
        now = time.monotonic() if now is None else now
        elapsed = now - self.started
        if self.phase != "state" or not self.prefixes_done:
            return (f"warp sync: {self.phase}, {self.fragments} proof fragments verified, {elapsed:.0f} s"
                    + (f", target #{self.target_number}" if self.target_number else ""))
        return (f"warp sync: state of #{self.target_number}, {self.prefixes_done}/{self.prefixes_total} prefixes "
                f"({100 * self.prefixes_done // max(1, self.prefixes_total)}%), {self.keys:,} keys, "
                f"{self.state_bytes / 1e6:.1f} MB, {self.bytes_in / 1e6:.1f} MB received, "
                f"ETA {self.eta_s(now):.0f} s")


class WarpSync:
    """One warp sync into the empty database `kv`, over `p2p`'s peers."""

    def __init__(self, p2p: Peers, kv: KeyValueStore, genesis: Genesis, checkpoint: TrustedCheckpoint | None,
                 max_gap: int, *, now_ms: Callable[[], int], evidence_dir: Path | None,
                 say: Callable[[str], None] = log.info, second_peer_wait_s: float = SECOND_PEER_WAIT_S) -> None:
        self.p2p = p2p
        self.kv = kv
        self.genesis = genesis
        self.checkpoint = checkpoint
        self.max_gap = max_gap
        self.now_ms = now_ms
        """The local clock (ms since the epoch), against which the trusted start's age is judged."""
        self.evidence_dir = evidence_dir
        """Where two conflicting proofs are written (the node's chain directory)."""
        self.second_peer_wait_s = second_peer_wait_s
        self._checkpoint_slot: int | None = None
        """The trusted checkpoint block's slot, once a peer has given its header (hash checked)."""
        self._planned = 0
        self.say = say
        self.stats = WarpStats()
        self._rest: dict[str, float] = {}
        self._banned: set[str] = set()
        self._no_peers_said: float | None = None
        """When the last "no peers" line was said, while none is connected."""

    # peers ----------------------------------------------------------------------------------------------------------
    def _peers(self) -> list[str]:
        now = time.monotonic()
        return [p.peer_id for p in self.p2p.peers()
                if p.peer_id not in self._banned and self._rest.get(p.peer_id, 0.0) <= now]

    def _lied(self, peer: str, reason: str) -> None:
        self._banned.add(peer)
        self.stats.banned.append(peer)
        self.p2p.ban(peer, BAN_S, f"warp sync: {reason}")
        log.warning("warp sync: banned %s: %s", peer, reason)

    def _rested(self, peer: str, why: str) -> None:
        self._rest[peer] = time.monotonic() + PEER_REST_S
        log.info("warp sync: %s %s; asking others", peer[-8:], why)

    async def _ask(self, peer: str, protocol: str, request: bytes, what: str) -> bytes | None:
        """`peer`'s answer to `request` (its bytes counted), or None when it gives none: then it rests a while."""
        try:
            raw = await self.p2p.request(peer, protocol, request, timeout=REQUEST_TIMEOUT_S)
        except P2PError as exc:
            self._rested(peer, f"gave no {what} ({exc})")
            return None
        self.stats.bytes_in += len(raw)
        return raw

    def _malformed(self, peer: str, what: str, exc: DecodeError) -> None:
        self.p2p.penalise(peer, MALFORMED_PENALTY, f"malformed {what}: {exc}")

    async def _wait_for_peer(self, limit_s: float) -> None:
        deadline = time.monotonic() + limit_s
        while not self._peers():
            if time.monotonic() > deadline:
                raise WarpFailed(f"no peer to warp sync from within {limit_s:.0f} s")
            await asyncio.sleep(0.2)

    # the whole run ---------------------------------------------------------------------------------------------------
    async def run(self, limit_s: float = 3600.0) -> WarpStats:
        reporter = asyncio.get_running_loop().create_task(self._report())
        try:
            self._refuse_if_not_empty()
            if self.checkpoint is None:
                self._refuse_if_too_old(0)
            await self._wait_for_peer(limit_s)
            self.stats.phase = "proof"
            proof = await self._proof(limit_s)
            self._wipe()
            target = proof.end
            self.stats.target_number = target.number
            self.stats.phase = "block"
            block = await self._block(target)
            self.stats.phase = "state"
            self.stats.state_started = time.monotonic()
            await self._state(target, self.stats.started + limit_s)
            self.stats.phase = "writing"
            self._finish(block, target, proof.justification)
            self.stats.phase = "done"
            st = self.stats
            self.say(f"warp sync done: block #{target.number} 0x{target.block_hash.hex()[:16]} with {st.keys:,} keys "
                     f"({st.state_bytes / 1e6:.1f} MB of state, {st.bytes_in / 1e6:.1f} MB received) in "
                     f"{time.monotonic() - st.started:.1f} s")
            return self.stats
        finally:
            reporter.cancel()

    async def _report(self) -> None:
        while True:
            await asyncio.sleep(PROGRESS_INTERVAL_S)
            line = self.progress_line(time.monotonic())
            if line is not None:
                self.say(line)

    def progress_line(self, now: float) -> str | None:
        """What the warp says every `PROGRESS_INTERVAL_S`: its progress while it has peers; with none connected, that
        it waits for them (no "0 fragments verified"), at most every `NO_PEERS_EVERY_S`; None: nothing this time."""
        connected = len(self.p2p.peers())
        elapsed = now - self.stats.started
        if connected == 0:
            if self._no_peers_said is not None and now - self._no_peers_said < NO_PEERS_EVERY_S:
                return None
            self._no_peers_said = now
            paused = "" if self.stats.phase == PHASES[0] else f"; the {self.stats.phase} phase waits with it"
            return f"warp sync: waiting for peers (none connected), {elapsed:.0f} s{paused}"
        self._no_peers_said = None
        if self.stats.phase == PHASES[0]:  # connected, but every one banned or resting after a failed request
            return (f"warp sync: waiting for peers ({connected} connected, none to ask yet: banned or resting), "
                    f"{elapsed:.0f} s")
        return self.stats.line(now)

    # 1. the proof ----------------------------------------------------------------------------------------------------
    def _start(self) -> WarpProgress | None:
        """The trust every node has: genesis (None with a trusted checkpoint: its fragment comes first)."""
        if self.checkpoint is not None:
            return None
        g = self.genesis
        root = g.block.header.state_root
        return WarpProgress(genesis_trust(g.hash, root, g.state))

    def _start_label(self) -> str:
        return "genesis" if self.checkpoint is None else f"the trusted checkpoint {self.checkpoint}"

    def _refuse_if_too_old(self, start_epoch: int) -> None:
        """Weak subjectivity: WarpFailed (one line: why, how it is computed, what to pass) when the trusted start is
        more than `max_gap` epochs behind the local clock. Nobody is blamed: the peers proved what was asked."""
        why = start_too_old(self.genesis.spec, self.now_ms(), start_epoch, self._start_label(), self.max_gap)
        if why is not None:
            raise WarpFailed(why)

    async def _proof(self, limit_s: float) -> PeerProof:
        """Verified proofs from every connected peer up to MAX_PROOF_PEERS (with one, SECOND_PEER_WAIT_S for a
        second), settled into one: the highest finalized checkpoint they agree on. WarpConflict if two conflict."""
        deadline = time.monotonic() + limit_s
        proofs: dict[str, PeerProof] = {}
        first_at: float | None = None
        while time.monotonic() < deadline:
            if len(proofs) >= min(2, MAX_PROOF_PEERS):
                break
            if first_at is not None and time.monotonic() >= first_at + self.second_peer_wait_s:
                break
            fresh = [p for p in self._peers() if p not in proofs][:MAX_PROOF_PEERS - len(proofs)]
            if not fresh:
                await asyncio.sleep(0.2)
                continue
            for got in await asyncio.gather(*(self._fetch_proof(p, self._start(), None, deadline) for p in fresh)):
                if isinstance(got, PeerProof):
                    proofs[got.peer] = got
            if self._checkpoint_slot is not None:  # the trusted checkpoint's block is known now: its age, then
                self._refuse_if_too_old(self._checkpoint_slot // self.genesis.spec.consensus.epoch_slots + 1)
            if proofs and first_at is None:
                first_at = time.monotonic()
        if not proofs:
            raise WarpFailed("no peer gave a warp proof to a finalized block in time")
        if len(proofs) == 1:
            only = next(iter(proofs.values()))
            log.warning("warp sync: a warp proof from one peer only (%s; no other peer gave one within %g s): a "
                        "long-range fork served by it could not be told from the real chain", only.peer,
                        self.second_peer_wait_s)
        chosen = await self._settle(proofs, deadline)
        self.say(f"warp proof verified: {chosen.fragments} fragments to block #{chosen.end.number} (epoch "
                 f"{chosen.end.epoch}), finalized; proofs of {len(proofs)} peer{'s' if len(proofs) != 1 else ''} on "
                 "one chain")
        return chosen

    async def _fetch_proof(self, peer: str, start: WarpProgress | None, before: PeerProof | None,
                           deadline: float) -> PeerProof | str:
        """`peer`'s whole proof from `start` (None: from the trusted checkpoint's block), part after part, verified;
        or why there is none (a lie bans the peer). `before`: the proof `start` is the end of, when continuing."""
        progress = start
        checkpoints: list[Checkpoint] = [] if start is None else [start.trusted.checkpoint]
        parts: list[ProofPart] = []
        fragments = 0
        justification = b""
        if before is not None:
            checkpoints, parts = list(before.checkpoints), list(before.parts)
            fragments, justification = before.fragments, before.justification
        while time.monotonic() < deadline:
            if progress is None:
                assert self.checkpoint is not None
                request = pack([1, self.checkpoint.number, self.checkpoint.hash])
            else:
                request = pack([0, progress.trusted.epoch, progress.trusted.block_hash])
            raw = await self._ask(peer, WARP_PROTOCOL, request, "warp proof")
            if raw is None:
                return "gave no answer"
            if len(raw) > MAX_PROOF_BYTES:
                self.p2p.penalise(peer, MALFORMED_PENALTY, "warp proof over its size bound")
                return "sent a proof over its size bound"
            if raw == pack([]):
                self._rested(peer, "cannot prove from our trusted checkpoint")
                return "answered that it cannot prove from that checkpoint (its finalized chain does not hold it)"
            try:
                proof = WarpProof.decode(raw)
                step, passed = self._verify_part(progress, proof)
            except DecodeError as exc:
                self._malformed(peer, "warp proof", exc)
                return "sent a malformed proof"
            except WarpProofError as exc:
                self._lied(peer, f"warp proof: {exc}")
                return f"lied: {exc}"
            self.stats.fragments += len(proof.fragments)
            fragments += len(proof.fragments)
            checkpoints += passed
            parts.append(ProofPart(peer, request, raw))
            if proof.fragments:
                justification = proof.fragments[-1].justification
            progress = step
            if step.finalized:
                return PeerProof(peer, step, tuple(checkpoints), tuple(parts), fragments, justification)
            if not proof.fragments:
                self._rested(peer, "has no finalized checkpoint past ours")
                return "has no finalized checkpoint past it"
        return "gave no whole proof in time"

    def _verify_part(self, progress: WarpProgress | None, proof: WarpProof) -> tuple[WarpProgress, list[Checkpoint]]:
        """One part on top of `progress` (None: the first part from the trusted checkpoint, whose block it must start
        with), and the checkpoints it went through. WarpProofError if it does not hold."""
        spec = self.genesis.spec
        epoch_slots = spec.consensus.epoch_slots
        fragments = proof.fragments
        passed: list[Checkpoint] = []
        if progress is None:
            assert self.checkpoint is not None
            if not fragments:
                raise WarpProofError("no fragment of the trusted checkpoint")
            first = trust_checkpoint(fragments[0], self.checkpoint.hash, self.checkpoint.number)
            assert first.header is not None
            self._checkpoint_slot = first.header.slot
            progress, fragments = WarpProgress(first), fragments[1:]
            passed.append(first.checkpoint)
        step = verify_proof_part(progress, WarpProof(fragments, proof.finality, proof.complete), self.genesis.hash,
                                 epoch_slots, self.max_gap)
        passed += [Checkpoint(f.epoch, f.header.hash()) for f in fragments]
        return step, passed

    async def _settle(self, proofs: dict[str, PeerProof], deadline: float) -> PeerProof:
        """The highest of `proofs` once every lower one is shown on its chain; WarpConflict when one is not."""
        while True:
            held = sorted(proofs.values(), key=lambda p: (p.end.epoch, p.peer), reverse=True)
            top = held[0]
            for low in held[1:]:
                relation, why = relate_proofs(low.checkpoints, top.checkpoints)
                if relation is Relation.UNKNOWN:
                    relation, why, shown = await self._shown(low, top, deadline)
                    if top.peer in self._banned:  # it lied proving from the lower checkpoint: its proof goes
                        break
                    if shown is not None:
                        top = shown
                if relation is Relation.CONFLICT:
                    self._conflict(low, top, why)
            else:
                return top
            del proofs[top.peer]

    async def _shown(self, low: PeerProof, top: PeerProof,
                     deadline: float) -> tuple[Relation, str, PeerProof | None]:
        """Ask `top`'s peer to prove on from `low`'s end (SETTLE_ATTEMPTS times if it gives no answer): a proof from
        there to a finalized checkpoint at or past its own shows `low` on its chain and continues it (returned)."""
        why = ""
        for attempt in range(SETTLE_ATTEMPTS):
            if attempt:
                await asyncio.sleep(SETTLE_RETRY_S)
            got = await self._fetch_proof(top.peer, WarpProgress(low.end), low, deadline)
            if isinstance(got, PeerProof):  # verified from `low`'s end on: `low` is on the chain it proves
                if got.end.epoch >= top.end.epoch:
                    return Relation.SAME_CHAIN, "", got
                return Relation.CONFLICT, (f"{top.peer} proved from the lower checkpoint only to epoch "
                                           f"{got.end.epoch}, below its own finalized epoch {top.end.epoch}"), None
            why = got
            if got != "gave no answer" or top.peer in self._banned:
                break
            why = f"gave no answer ({attempt + 1} times): not shown on one chain"
        return Relation.CONFLICT, f"the higher peer, asked for a proof from the lower checkpoint, {why}", None

    def _conflict(self, low: PeerProof, top: PeerProof, why: str) -> NoReturn:
        """Keep both proofs, raise the alarm (one ERROR line) and refuse the warp."""
        if self.evidence_dir is None:
            kept = "no file (this warp was given no directory for evidence)"
        else:
            kept = str(keep_evidence(self.evidence_dir, self.genesis.spec.id, self.genesis.hash, self._start_label(),
                                     (low, top), why))
        line = conflict_line(low, top, why, kept)
        log.error("%s", line)
        raise WarpConflict(line)

    # 2. the block ----------------------------------------------------------------------------------------------------
    async def _block(self, target: Trusted) -> Block:
        for _ in range(3):
            for peer in self._peers():
                raw = await self._ask(peer, "sync/block", pack([target.block_hash]), "block")
                if raw is None:
                    continue
                try:
                    block = Block.decode(raw)
                except DecodeError as exc:
                    self._malformed(peer, "block", exc)
                    continue
                if block.hash() != target.block_hash:
                    self._lied(peer, f"sent block 0x{block.hash().hex()[:16]} for 0x{target.block_hash.hex()[:16]}")
                    continue
                return block
            await asyncio.sleep(1.0)
        raise WarpFailed(f"no peer gave block #{target.number} 0x{target.block_hash.hex()[:16]}")

    # 3. the state ----------------------------------------------------------------------------------------------------
    async def _plan(self, target: Trusted) -> int:
        for peer in self._peers():
            raw = await self._ask(peer, PLAN_PROTOCOL, pack([target.block_hash]), "state plan")
            if raw is None:
                continue
            try:
                value = unpack(raw, max_size=256)
            except DecodeError as exc:
                self._malformed(peer, "state plan", exc)
                continue
            if isinstance(value, list) and len(value) == 3 and value[0] == OK and type(value[1]) is int \
                    and 0 <= value[1] <= 24:
                return int(value[1])
            self._rested(peer, "cannot serve the state of the target")
        return 8

    async def _state(self, target: Trusted, deadline: float) -> None:
        depth = self._planned = await self._plan(target)
        todo: list[tuple[int, int]] = [(depth, i) for i in range(1 << depth)]
        self.stats.prefixes_total = len(todo)
        failures: dict[tuple[int, int], int] = {}

        async def worker(offset: int) -> None:
            turn = offset
            while todo:
                if time.monotonic() > deadline:
                    raise WarpFailed(f"the state of block #{target.number} was not fetched in time "
                                     f"({self.stats.prefixes_done} of {self.stats.prefixes_total} prefixes)")
                peers = self._peers()
                if not peers:
                    await asyncio.sleep(0.2)
                    continue
                prefix = todo.pop(0)
                peer = peers[turn % len(peers)]
                turn += 1
                if not await self._prefix(peer, target, prefix, todo):
                    failures[prefix] = failures.get(prefix, 0) + 1
                    todo.append(prefix)

        await asyncio.gather(*(worker(i) for i in range(PARALLEL)))

    async def _prefix(self, peer: str, target: Trusted, prefix: tuple[int, int], todo: list[tuple[int, int]]) -> bool:
        """Fetch, check and write one prefix from `peer`; whether it is done (or split into its halves)."""
        depth, index = prefix
        raw = await self._ask(peer, STATE_PROTOCOL, pack([target.block_hash, depth, index]), "state chunk")
        if raw is None:
            return False
        try:
            value = unpack(raw, max_size=CHUNK_RESPONSE_BYTES)
            status = value[0] if isinstance(value, list) and value else None
            if status == OK:
                entries, siblings, lone = _chunk(value)
            elif status == BUSY:  # the peer serves as much as it may now: the prefix again in a moment, no blame
                self.stats.busy += 1
                todo.append(prefix)
                await asyncio.sleep(BUSY_WAIT_S)
                return True
            elif status == SPLIT and depth < self._planned + MAX_SPLITS:
                todo.extend([(depth + 1, 2 * index), (depth + 1, 2 * index + 1)])
                self.stats.prefixes_total += 1
                return True
            else:
                self._rested(peer, f"cannot serve the state of block #{target.number}: {value[1:]!r}"[:200])
                return False
        except DecodeError as exc:
            self._malformed(peer, "state chunk", exc)
            return False
        why = verify_prefix_chunk(target.state_root, depth, index, entries, siblings, lone)
        if why is not None:
            self._lied(peer, f"state chunk ({depth}, {index}) of block #{target.number}: {why}")
            return False
        self._write(entries)
        self.stats.prefixes_done += 1
        return True

    def _write(self, entries: list[tuple[bytes, bytes]]) -> None:
        """A verified chunk's flat state, tree leaves and key index, the hashing done by the compiled tree's helpers
        (`leaf_records`, `tree_key_chunks`: ten million keys hashed in Python twice each were a fifth of the warp's
        time) and the write left to the store's writer thread while the next chunk comes (`write_behind`)."""
        chunk = {key: value for key, value in entries}
        puts = next(tree_key_chunks(chunk, len(chunk)), {}) if chunk else {}
        records = leaf_records(chunk)
        for at in range(0, len(records), RECORD_LEN):
            puts[schema.TREE_LEAF + records[at : at + HASH_LEN]] = records[at + HASH_LEN : at + RECORD_LEN]
        for key, value in chunk.items():
            puts[schema.STATE + key] = value
            self.stats.state_bytes += len(key) + len(value)
        self.kv.write_behind(puts)
        self.stats.keys += len(entries)

    # 4. the finish ---------------------------------------------------------------------------------------------------
    def _refuse_if_not_empty(self) -> None:
        """The database must hold no chain (what an earlier warp that was cut off wrote has no head: it goes)."""
        db = ChainDB(self.kv)
        if db.genesis_hash() is not None and self.kv.get(schema.META_HEAD) is not None:
            raise WarpFailed("the database already holds a chain: warp sync starts only into an empty one "
                             "(`btt-chain purge-chain`, or start without --sync warp)")

    def _wipe(self) -> None:
        """What an earlier warp that was cut off wrote goes; the database is marked as being filled."""
        self._refuse_if_not_empty()
        doomed = [k for k, _ in self.kv.iterate()]
        for at in range(0, len(doomed), 100_000):
            self.kv.write({}, doomed[at:at + 100_000])
        self.kv.write({schema.META_INITIALISING: b"warp"}, sync=True)

    def _finish(self, block: Block, target: Trusted, justification: bytes) -> None:
        justifications = [(target.epoch, justification)] if justification else []
        record = FinalityRecord(target.checkpoint, (target.checkpoint,)).encode()
        trusted = None if self.checkpoint is None else (self.checkpoint.number, self.checkpoint.hash)
        ChainDB(self.kv).initialise_warp(self.genesis.block, self.genesis.spec_json, block, target.voters.encode(),
                                         justifications, record, trusted)


Chunk = tuple[list[tuple[bytes, bytes]], list[tuple[bytes, int]], tuple[bytes, bytes] | None]
"""(entries, siblings, lone leaf) of a state response."""


def _chunk(value: list[object]) -> Chunk:
    """A state response [0, entries, siblings, lone] as the checker takes it; DecodeError for any other shape."""
    if len(value) != 4 or not isinstance(value[1], list) or not isinstance(value[2], list) \
            or not isinstance(value[3], list):
        raise DecodeError("a state chunk must be [0, entries, siblings, lone leaf]")
    entries: list[tuple[bytes, bytes]] = []
    for e in value[1]:
        if not (isinstance(e, list) and len(e) == 2 and isinstance(e[0], bytes) and isinstance(e[1], bytes)):
            raise DecodeError("a state entry must be [key, value]")
        entries.append((e[0], e[1]))
    siblings: list[tuple[bytes, int]] = []
    for s in value[2]:
        if not (isinstance(s, list) and len(s) == 2 and isinstance(s[0], bytes) and type(s[1]) is int):
            raise DecodeError("a sibling must be [hash, kind]")
        siblings.append((s[0], s[1]))
    lone = value[3]
    if lone and not (len(lone) == 2 and isinstance(lone[0], bytes) and isinstance(lone[1], bytes)):
        raise DecodeError("the lone leaf must be [] or [key, value]")
    return entries, siblings, (lone[0], lone[1]) if lone else None

