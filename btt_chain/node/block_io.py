"""Operator block tools on a stopped node's database: export and import of blocks, re-checking a stored block,
reverting the tip. Everything goes through the node's own `Chain`; the CLI (`cli/blocks_cmd.py`) only parses.

Export format `BTTBLKS2`: MAGIC, the genesis hash (32 bytes), then per block a big-endian u32 length and the encoded
block, a u32 count of the finality justifications stored beside that block (one per epoch it is the checkpoint of:
an epoch without blocks has the checkpoint of the one before), and each of them as a u32 length and its encoding.
Files in the first format, `BTTBLKS1` (a u32 length and one justification per block, length 0: none), import as
before. Every file ever exported therefore carries its justifications; a file without any imports without finality.

Import verifies each justification exactly as sync does (`FileFinality`): against the set active in its target's
epoch on the imported chain (`ChainTargetSets`, the finality service's own resolver), 2/3 of its stake, every
signature; the chain is finalized where the verified justifications finalize it, and a justification that does not
verify stops the import with one line, having finalized nothing.
"""

from __future__ import annotations

import struct
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, TextIO

from btt_chain.consensus.finality import (
    FinalityRecord,
    FinalityState,
    FinalityUpdate,
    ImportResult,
    JustificationStatus,
    VoteTracker,
)
from btt_chain.node.chain import LOOKAHEAD_BLOCKS, Chain
from btt_chain.node.checkpoint import CheckpointGuard
from btt_chain.node.finality_service import ChainTargetSets
from btt_chain.primitives.block import Block, Header
from btt_chain.primitives.errors import BttError, DecodeError, InvalidBlock, StorageError
from btt_chain.primitives.vote import Justification
from genesis.build import build_genesis
from runtime.overlay import Overlay
from storage import schema
from storage.history import HistoricalState
from storage.memory import MemoryStore

MAGIC = b"BTTBLKS2"
MAGIC_V1 = b"BTTBLKS1"
"""The first format: one justification per block."""
MAX_FRAME = 64 * 1024 * 1024
"""A length prefix above this is a damaged file, not a block."""
MAX_JUSTIFICATIONS_PER_BLOCK = 64
"""A count above this is a damaged file (a block is the checkpoint of one epoch per empty epoch after it)."""

_U32 = struct.Struct(">I")


class BlockFileError(BttError):
    """The block file is damaged, truncated, or from another chain."""


class JustificationRefused(BlockFileError):
    """A finality justification in the block file does not verify against the imported chain: it finalizes
    nothing."""


class RevertRefused(BttError):
    """The revert would go below the last finalized block."""


def now_ms() -> int:
    return time.time_ns() // 1_000_000


# export / import ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ExportStats:
    blocks: int
    """Blocks written."""
    justifications: int
    """Finality justifications written beside them."""


def export_blocks(chain: Chain, out: BinaryIO, start: int, end: int | None) -> ExportStats:
    """Write canonical blocks `start`..`end` (default: the head) with the justifications stored beside them."""
    last = chain.head.number if end is None else end
    if start < 0 or last > chain.head.number or start > last:
        raise BlockFileError(f"range #{start}..#{last} is not within the canonical chain #0..#{chain.head.number}")
    if start < chain.lowest_number and last > 0:
        raise BlockFileError(f"this database was warp-synced at block #{chain.lowest_number} and holds no block "
                             f"between genesis and there: export --from {chain.lowest_number} (a node importing it "
                             "needs the blocks before), or export from a node synced with --sync full")
    out.write(MAGIC + chain.genesis_hash)
    justifications = 0
    for number in range(start, last + 1):
        h = chain.db.canonical_hash(number)
        raw = chain.db.get_block_bytes(h) if h is not None else None
        if h is None or raw is None:
            raise StorageError(f"canonical block #{number} missing from the database")
        stored = chain.db.justifications(h)[-MAX_JUSTIFICATIONS_PER_BLOCK:]
        justifications += len(stored)
        out.write(_U32.pack(len(raw)) + raw + _U32.pack(len(stored)) + b"".join(_U32.pack(len(j)) + j for j in stored))
    return ExportStats(last - start + 1, justifications)


def _read_exact(src: BinaryIO, n: int, what: str) -> bytes:
    data = src.read(n)
    if len(data) != n:
        raise BlockFileError(f"block file ends inside {what}")
    return data


def read_block_file(src: BinaryIO, genesis_hash: bytes) -> Iterator[tuple[bytes, list[bytes]]]:
    """(encoded block, the justifications beside it) from an export of either format; refuses a file of another
    genesis."""
    head = src.read(len(MAGIC) + 32)
    if len(head) < len(MAGIC) + 32 or head[: len(MAGIC)] not in (MAGIC, MAGIC_V1):
        raise BlockFileError("not a btt-chain block file (bad header)")
    first_format = head[: len(MAGIC)] == MAGIC_V1
    file_genesis = head[len(MAGIC):]
    if file_genesis != genesis_hash:
        raise BlockFileError(
            f"the file's blocks are from genesis 0x{file_genesis.hex()}, this chain's genesis is 0x{genesis_hash.hex()}"
        )
    while True:
        prefix = src.read(_U32.size)
        if not prefix:
            return
        if len(prefix) != _U32.size:
            raise BlockFileError("block file ends inside a length prefix")
        (size,) = _U32.unpack(prefix)
        if size > MAX_FRAME:
            raise BlockFileError(f"block of {size} bytes: the file is damaged")
        block = _read_exact(src, size, "a block")
        if first_format:
            justification = _read_justification(src)
            yield block, [justification] if justification else []
            continue
        (count,) = _U32.unpack(_read_exact(src, _U32.size, "a justification count"))
        if count > MAX_JUSTIFICATIONS_PER_BLOCK:
            raise BlockFileError(f"{count} justifications beside one block: the file is damaged")
        yield block, [_read_justification(src) for _ in range(count)]


def with_next_blocks(
    entries: Iterator[tuple[bytes, list[bytes]]], count: int,
) -> Iterator[tuple[tuple[bytes, list[bytes]], tuple[bytes, ...]]]:
    """Each entry of a block file with the encoded blocks of the up to `count` entries after it. Reading ahead
    changes nothing that is reported, or when: an entry that cannot be read ends the blocks given with the entries
    before it, and its error is raised only once they are all done with, as it would be without reading ahead."""
    pending: deque[tuple[bytes, list[bytes]]] = deque()
    failure: Exception | None = None
    ended = False
    while True:
        while not ended and failure is None and len(pending) <= count:
            try:
                pending.append(next(entries))
            except StopIteration:
                ended = True
            except Exception as exc:  # the reader's own error: raised where the loop reaches the entry
                failure = exc
        if not pending:
            break
        entry = pending.popleft()
        yield entry, tuple(block for block, _ in pending)
    if failure is not None:
        raise failure


def _read_justification(src: BinaryIO) -> bytes:
    (jsize,) = _U32.unpack(_read_exact(src, _U32.size, "a length prefix"))
    if jsize > MAX_FRAME:
        raise BlockFileError(f"justification of {jsize} bytes: the file is damaged")
    return _read_exact(src, jsize, "a justification")


def count_blocks(src: BinaryIO) -> int | None:
    """The number of blocks in a seekable export (for the ETA), leaving the position where it was; None if the
    frames do not add up (the import then says what is wrong)."""
    start = src.tell()
    count = 0

    def u32() -> int | None:
        raw = src.read(_U32.size)
        return _U32.unpack(raw)[0] if len(raw) == _U32.size else None

    try:
        first_format = src.read(len(MAGIC)) == MAGIC_V1
        src.seek(start + len(MAGIC) + 32)
        while prefix := src.read(_U32.size):
            if len(prefix) != _U32.size:
                return None
            src.seek(_U32.unpack(prefix)[0], 1)
            justifications = 1 if first_format else u32()
            if justifications is None or justifications > MAX_JUSTIFICATIONS_PER_BLOCK:
                return None
            for _ in range(justifications):
                size = u32()
                if size is None:
                    return None
                src.seek(size, 1)
            count += 1
        return count
    finally:
        src.seek(start)


@dataclass
class ImportStats:
    imported: int = 0
    """Blocks executed and stored."""
    known: int = 0
    """Blocks this database held already (skipped)."""
    justifications: int = 0
    """Justifications verified that justified or finalized a checkpoint here (stored beside their targets)."""
    unchecked: int = 0
    """Justifications left unverified: their target's epoch goes on past the file's last block, or their source
    is justified by a justification the file does not hold (an export that starts after it)."""
    seconds: float = 0.0
    waiting_for: str | None = None
    """Why the file's finality was not applied (yet): the node's trusted checkpoint is not in the chain."""


def progress_line(done: int, total: int | None, elapsed_s: float, head: int) -> str:
    """One progress line: count, rate and (when the total is known) ETA."""
    rate = done / elapsed_s if elapsed_s > 0 else 0.0
    line = f"{done} blocks, head #{head}, {rate:.1f} blocks/s"
    if total is not None and rate > 0:
        line += f", ETA {max(total - done, 0) / rate:.0f} s"
    return line


def sync_progress_line(head: int, target: int, imported: int, elapsed_s: float) -> str:
    """One line of a catching-up node's progress: height, target, rate and ETA."""
    rate = imported / elapsed_s if elapsed_s > 0 else 0.0
    eta = f"{max(target - head, 0) / rate:.0f} s" if rate > 0 else "unknown"
    return f"#{head} of #{target}, {rate:.1f} blocks/s, ETA {eta}"


def summary_line(stats: ImportStats, chain: Chain) -> str:
    """The line an import ends with: blocks, time, rate, head and finalized block."""
    done = stats.imported + stats.known
    rate = done / stats.seconds if stats.seconds > 0 else 0.0
    line = (
        f"imported {stats.imported} blocks ({stats.known} already known) in {stats.seconds:.1f} s, {rate:.1f} "
        f"blocks/s; head #{chain.head.number} 0x{chain.head_hash.hex()}; finalized #{chain.finalized.number} "
        f"0x{chain.finalized_hash.hex()} ({stats.justifications} justifications verified"
    )
    if stats.unchecked:
        line += (f", {stats.unchecked} not checked: their epoch goes on past the file's end, or their source's "
                 "justification is not in the file")
    line += ")"
    if stats.waiting_for is not None:
        line += f"; {stats.waiting_for}"
    return line


class ImportProgress:
    """An import's progress on `stream` (stderr). On a terminal: one line rewritten in place with a carriage return,
    at most every `tty_every_s`, with count, rate and ETA (when the file's size tells the total). Elsewhere (a pipe,
    a CI log): no carriage returns, a plain line at most every `log_every_s` so that a long import shows it is
    alive, and the caller's summary line at the end. `clock` is injectable for tests."""

    def __init__(
        self,
        stream: TextIO,
        tty: bool,
        total: int | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        tty_every_s: float = 0.5,
        log_every_s: float = 30.0,
    ) -> None:
        self.stream = stream
        self.tty = tty
        self.total = total
        self.clock = clock
        self.every_s = tty_every_s if tty else log_every_s
        self.began = clock()
        self._last: float | None = None
        self._width = 0
        """Width of the in-place line on screen (0: none)."""

    def update(self, done: int, head: int) -> None:
        now = self.clock()
        since = now - (self._last if self._last is not None else (-1e9 if self.tty else self.began))
        if since < self.every_s:
            return
        self._last = now
        line = "importing: " + progress_line(done, self.total, now - self.began, head)
        if self.tty:
            self.stream.write("\r" + line.ljust(self._width))
            self._width = len(line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        """Clear the in-place line, so that the summary or an error line takes its place."""
        if self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0


class FileFinality:
    """The finality a block file carries, applied as the node's finality service applies the justifications sync
    brings: each one verified by the finality tracker against the set active in its target's epoch on this chain
    (`ChainTargetSets`: 2/3 of that set's stake, every signature), stored beside its target once it justified or
    finalized a checkpoint, the tracker's record persisted, and the chain finalized where verified justifications
    finalize it. A justification whose target's set is not known yet (the block that opens the next epoch comes
    later in the file) waits, and is retried after each block, as in sync.

    A justification that does not verify raises `JustificationRefused` and changes nothing; neither do the ones
    after it (the import stops). With `persist=False` nothing is written: `finality_floor` replays stored
    justifications that way."""

    def __init__(self, chain: Chain, persist: bool = True) -> None:
        self.chain = chain
        self.persist = persist
        raw = chain.db.meta(schema.META_JUSTIFIED)
        state = FinalityState.from_record(FinalityRecord.decode(raw)) if raw else None
        self.sets = ChainTargetSets(chain)
        self.tracker = VoteTracker(chain.genesis_hash, self.sets, state)
        self.applied = 0
        self._waiting: dict[bytes, tuple[Justification, int]] = {}
        """Justifications read and not settled yet (target's set unknown, or source not justified), by hash, with
        the number of the block each travelled with."""

    def add(self, raw: bytes, block_hash: bytes, header: Header) -> None:
        """The justification `raw` that travelled with block `block_hash`: checked, then applied or kept waiting."""
        number = header.number
        try:
            j = Justification.decode(raw)
        except DecodeError as exc:
            raise JustificationRefused(
                f"the justification beside block #{number} does not decode ({exc}): nothing was finalized by it"
            ) from None
        if j.target.block_hash != block_hash:
            raise self._refusal(
                j, number, f"its target is block 0x{j.target.block_hash.hex()[:16]}, not the block it travels with"
            )
        if header.slot >= j.target.epoch * self.chain.clock.epoch_slots:
            raise self._refusal(j, number, f"block #{number} (slot {header.slot}) cannot be the checkpoint of "
                                           f"epoch {j.target.epoch}")
        self._waiting[j.hash()] = (j, number)
        result = self.tracker.import_justification(j)
        self._settle(j, result)
        self._apply(result.update)

    def after_block(self) -> None:
        """Retry the justifications that wait for their target's set (the block just imported may open the epoch
        after their target), and finalize what the tracker finalized once its block is canonical."""
        retry = self.tracker.retry_unresolved()
        for j, result in retry.justifications:
            self._settle(j, result)
        self._apply(retry.update)
        self._finalize()

    def finish(self) -> int:
        """After the last block. A justification still waiting for its target's set although that target has a
        canonical child here is refused: the file shows that its block is not the checkpoint it claims. Returns how
        many others remain unverified (their epoch goes on past the file, or their source's justification is not
        in the file)."""
        chain, fin = self.chain, self.tracker.state.finalized.epoch
        left = 0
        for j, number in list(self._waiting.values()):
            if j.target.epoch <= fin or j.source.epoch < fin or self.tracker.state.is_justified(j.target):
                continue  # settled: below finality now, or justified by another justification for its link
            if self.tracker.target_set(j.target) is None:
                if (number < chain.head.number and chain.is_canonical(j.target.block_hash, number)
                        and chain.is_above_finalized(j.target.block_hash)):
                    raise self._refusal(j, number, f"block #{number} is not the checkpoint of epoch {j.target.epoch} "
                                                   "on this chain")
            left += 1
        return left

    def _settle(self, j: Justification, result: ImportResult) -> None:
        if result.status is JustificationStatus.INVALID:
            number = self._waiting.get(j.hash(), (j, -1))[1]
            raise self._refusal(j, number, result.reason or "it does not verify")
        if result.status in (JustificationStatus.APPLIED, JustificationStatus.IGNORED):
            self._waiting.pop(j.hash(), None)

    def _refusal(self, j: Justification, number: int, reason: str) -> JustificationRefused:
        chain = self.chain
        return JustificationRefused(
            f"the justification beside block #{number} (epoch {j.source.epoch} -> {j.target.epoch}) is refused: "
            f"{reason}; nothing was finalized by it (blocks imported up to #{chain.head.number}, finalized "
            f"#{chain.finalized.number})"
        )

    def _apply(self, update: FinalityUpdate) -> None:
        db = self.chain.db
        for j in update.justifications:
            self._waiting.pop(j.hash(), None)
            self.applied += 1
            if self.persist:
                db.store_justification(j.target.block_hash, j.target.epoch, j.encode())
        if update.justifications and self.persist:
            db.store_justified(self.tracker.state.to_record().encode())
        self._finalize()
        if update.conflicts:
            j = update.conflicts[0]
            number = self._waiting.get(j.hash(), (j, -1))[1]
            raise self._refusal(j, number, f"epoch {j.target.epoch} has another justified checkpoint here (a third of "
                                           "the stake voted for both)")

    def _finalize(self) -> None:
        if not self.persist:
            return
        chain = self.chain
        cp = self.tracker.state.finalized
        if cp.block_hash == chain.finalized_hash:
            return
        header = chain.db.get_header(cp.block_hash)
        if header is None or header.number <= chain.finalized.number:
            return
        if not chain.is_canonical(cp.block_hash, header.number):
            return  # on another branch than this node's head: the node applies it if it gets there
        # a node with a trusted checkpoint finalizes nothing until the checkpoint block is in (sync's rule too): a
        # file's justifications of a long-range fork must not finalize it; tried again after every block
        if chain.guard is not None and chain.guard.finality_refusal(cp.block_hash, header) is not None:
            return
        chain.finalize(cp.block_hash, self.tracker.state.to_record().encode())


class ImportCheckpointGuard(CheckpointGuard):
    """The trusted checkpoint during `import-blocks`: the node's rules (a conflicting block stops the import, nothing
    is finalized until the checkpoint block is in), except that the checkpoint block itself is finalized when the
    import ends (`finish`), not as it is imported: the file's justifications of the blocks before it are verified
    first, and a justification can be verified only while its target is at or above the finalized block."""

    def _reach(self) -> None:
        self.reached = True

    def finish(self) -> str | None:
        """Finalize the checkpoint block if it is in and nothing above it is final; else say why finality waits."""
        cp = self.checkpoint
        if cp is None:
            return None
        if not self.reached:
            return f"finality waits until the trusted checkpoint {cp} (from {self.source}) is imported"
        if self.chain.finalized.number < cp.number:
            self.chain.finalize(cp.hash)
        return None


def import_blocks(
    chain: Chain, src: BinaryIO, progress: Callable[[int, int], None] | None = None,
    checkpoint: ImportCheckpointGuard | None = None,
) -> ImportStats:
    """Import every block of an export, fully checked (blocks already known are skipped), with the finality its
    justifications carry, verified (`FileFinality`), under the node's trusted `checkpoint` (installed on `chain`).
    `progress(blocks done, head number)` is called after each block."""
    stats = ImportStats()
    began = time.monotonic()
    finality = FileFinality(chain)
    entries = with_next_blocks(read_block_file(src, chain.genesis_hash), LOOKAHEAD_BLOCKS)
    for (encoded, justifications), following in entries:
        # the file's next blocks at hand, as sync has the rest of its batch: their signatures checked meanwhile
        result = chain.import_block(encoded, now_ms(), ahead=following)
        if result.status == "known":
            stats.known += 1
        else:
            stats.imported += 1
        finality.after_block()
        for justification in justifications:
            finality.add(justification, result.hash, result.header)
        if progress is not None:
            progress(stats.imported + stats.known, chain.head.number)
    stats.unchecked = finality.finish()
    stats.justifications = finality.applied
    if checkpoint is not None:
        stats.waiting_for = checkpoint.finish()
    stats.seconds = time.monotonic() - began
    return stats


# check-block -------------------------------------------------------------------------------------------
def stored_block(chain: Chain, block_hash: bytes) -> Block:
    """The stored block, checked to decode and to hash to its key."""
    raw = chain.db.get_block_bytes(block_hash)
    if raw is None:
        raise StorageError(f"block 0x{block_hash.hex()} is not in the database")
    try:
        block = Block.decode(raw)
    except DecodeError as exc:
        raise InvalidBlock(f"stored block 0x{block_hash.hex()[:16]} does not decode: {exc}") from None
    if block.hash() != block_hash:
        raise InvalidBlock(
            f"stored block 0x{block_hash.hex()[:16]} is corrupt: its content hashes to 0x{block.hash().hex()[:16]}"
        )
    return block


def resolve_block(chain: Chain, ident: str) -> bytes:
    """A block hash from a `0x` hash or a canonical block number."""
    text = ident.strip()
    if text.isascii() and text.isdigit():
        h = chain.db.canonical_hash(int(text))
        if h is None:
            raise StorageError(f"no canonical block #{text} (head is #{chain.head.number})")
        return h
    try:
        h = bytes.fromhex(text.removeprefix("0x"))
    except ValueError:
        h = b""
    if len(h) != 32:
        raise BlockFileError(f"{ident!r} is neither a block number nor a 32-byte 0x hash")
    return h


def check_block(chain: Chain, block_hash: bytes) -> str:
    """Re-execute a stored block against its parent's state and compare roots; raises InvalidBlock saying what
    differs. A canonical block's parent state is read through the undo journals (storage/history.py); a side
    block's is rebuilt by replaying its ancestors from genesis into a memory database."""
    block = stored_block(chain, block_hash)
    number = block.header.number
    if number == 0:
        if block_hash != chain.genesis_hash:
            raise InvalidBlock("block #0 is not this chain's genesis")
        return "genesis matches the chain spec"
    parent_hash = block.header.parent_hash
    parent = chain.db.get_header(parent_hash)
    if chain.db.canonical_hash(number) == block_hash and parent is not None:
        state = HistoricalState(chain.db, chain.head.number, parent.number)
        with chain.tree.rewound(state.changes_from_head) as root:
            if root != parent.state_root:
                raise StorageError(f"the undo journals above #{parent.number} do not lead to its state root: "
                                   "database damaged")
            chain._execute(Overlay(state), block)[1].finish()
        how = "against its parent's state from the undo journals"
    else:
        _replay_check(chain, block)
        how = "parent state replayed from genesis"
    return (
        f"block #{number} 0x{block_hash.hex()} re-executed ({how}): state root "
        f"0x{block.header.state_root.hex()[:16]} and receipts root 0x{block.header.receipts_root.hex()[:16]} match"
    )


def _replay_check(chain: Chain, block: Block) -> None:
    number = block.header.number
    ancestors: list[Block] = [block]
    h = block.header.parent_hash
    while len(ancestors) <= number:
        parent = stored_block(chain, h)
        ancestors.append(parent)
        h = parent.header.parent_hash
    if ancestors[-1].hash() != chain.genesis_hash:
        raise InvalidBlock(f"block #{number} does not descend from this chain's genesis")
    replay = Chain(MemoryStore(), build_genesis(chain.genesis.spec))  # the chain keeps no genesis state
    for b in reversed(ancestors[1:-1]):
        try:
            replay.import_block(b.encode(), now_ms())
        except InvalidBlock as exc:
            raise InvalidBlock(f"ancestor #{b.header.number} 0x{b.hash().hex()[:16]} fails: {exc}") from None
    if replay.import_block(block.encode(), now_ms()).status != "best":  # cannot happen on a bare ancestry
        raise InvalidBlock(f"block #{number} was not executed on replay")


# revert ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FinalityFloor:
    """The lowest block a revert may leave as the head."""

    number: int
    block_hash: bytes
    justified_at: int | None
    """The block whose stored justification finalizes it, when that is above the node's own finalized block."""


def finality_floor(chain: Chain) -> FinalityFloor:
    """The node's finalized block, or a later one that a justification stored beside a canonical block finalizes
    (replayed and verified as `import-blocks` verifies them, writing nothing): a database filled by an import that
    kept justifications without applying them, or a node stopped between storing a justification and finalizing."""
    floor = FinalityFloor(chain.finalized.number, chain.finalized_hash, None)
    replay = FileFinality(chain, persist=False)
    for number in range(chain.finalized.number, chain.head.number + 1):
        h = chain.db.canonical_hash(number)
        header = chain.db.get_header(h) if h is not None else None
        if h is None or header is None:
            raise StorageError(f"canonical block #{number} missing from the database")
        replay.after_block()
        try:
            for raw in chain.db.justifications(h):
                replay.add(raw, h, header)
        except JustificationRefused:
            continue  # finalizes nothing
        cp = replay.tracker.state.finalized
        fin = chain.db.get_header(cp.block_hash)
        if fin is not None and fin.number > floor.number and chain.is_canonical(cp.block_hash, fin.number):
            floor = FinalityFloor(fin.number, cp.block_hash, number)
    return floor


def revert_blocks(chain: Chain, count: int) -> int:
    """Revert the last `count` canonical blocks with their undo journals and forget them, so that importing them
    again executes them again. Never below the finalized block, nor below a block that a justification stored
    here finalizes (`finality_floor`); a refused revert changes nothing. Returns the new head number."""
    target = chain.head.number - count
    floor = finality_floor(chain)
    if count < 0 or target < floor.number:
        allowed = chain.head.number - floor.number
        what = f"the finalized block is #{floor.number}"
        if floor.justified_at is not None:
            what = (f"block #{floor.number} is finalized by the justification stored beside #{floor.justified_at} "
                    f"(this node's own finalized block is #{chain.finalized.number})")
        raise RevertRefused(
            f"cannot revert {count} blocks: {what} and the head #{chain.head.number}, so at most {allowed} may be "
            "reverted"
        )
    if count == 0:
        return chain.head.number
    retracted = chain.retract_to(target)
    deletes: list[bytes] = []
    for b in retracted:
        h = b.hash()
        deletes += [
            schema.block_key(h), schema.header_key(h), schema.blocks_by_number_key(b.header.number, h),
            schema.block_meta_key(h), schema.block_summary_key(h), schema.undo_key(h), schema.redo_key(h),
            schema.block_voter_set_key(h), *chain.db.justification_keys(h),
        ]
    chain.db.kv.write({}, deletes, sync=True)
    chain.db.forget_block_metas()
    return target
