"""Operator block tools on a stopped node's database: export and import of blocks, re-checking a stored block,
reverting the tip. Everything goes through the node's own `Chain`; the CLI (`cli/blocks_cmd.py`) only parses.

Export format: MAGIC, the genesis hash (32 bytes), then per block a big-endian u32 length and the encoded block,
followed by a u32 length and the encoded justification (length 0: none).
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from btt_chain.node.chain import Chain
from btt_chain.primitives.block import Block
from btt_chain.primitives.errors import BttError, DecodeError, InvalidBlock, StorageError
from genesis.build import build_genesis
from runtime.overlay import Overlay
from storage import schema
from storage.chaindb import ChainUpdate
from storage.history import HistoricalState
from storage.memory import MemoryStore

MAGIC = b"BTTBLKS1"
MAX_FRAME = 64 * 1024 * 1024
"""A length prefix above this is a damaged file, not a block."""

_U32 = struct.Struct(">I")


class BlockFileError(BttError):
    """The block file is damaged, truncated, or from another chain."""


class RevertRefused(BttError):
    """The revert would go below the last finalized block."""


def now_ms() -> int:
    return time.time_ns() // 1_000_000


# export / import ---------------------------------------------------------------------------------------
def export_blocks(chain: Chain, out: BinaryIO, start: int, end: int | None) -> int:
    """Write canonical blocks `start`..`end` (default: the head) with their justifications; returns the count."""
    last = chain.head.number if end is None else end
    if start < 0 or last > chain.head.number or start > last:
        raise BlockFileError(f"range #{start}..#{last} is not within the canonical chain #0..#{chain.head.number}")
    out.write(MAGIC + chain.genesis_hash)
    for number in range(start, last + 1):
        h = chain.db.canonical_hash(number)
        raw = chain.db.get_block_bytes(h) if h is not None else None
        if h is None or raw is None:
            raise StorageError(f"canonical block #{number} missing from the database")
        justification = chain.db.justification(h) or b""
        out.write(_U32.pack(len(raw)) + raw + _U32.pack(len(justification)) + justification)
    return last - start + 1


def _read_exact(src: BinaryIO, n: int, what: str) -> bytes:
    data = src.read(n)
    if len(data) != n:
        raise BlockFileError(f"block file ends inside {what}")
    return data


def read_block_file(src: BinaryIO, genesis_hash: bytes) -> Iterator[tuple[bytes, bytes]]:
    """(encoded block, justification or b"") from an export; refuses a file of another genesis."""
    head = src.read(len(MAGIC) + 32)
    if len(head) < len(MAGIC) + 32 or head[: len(MAGIC)] != MAGIC:
        raise BlockFileError("not a btt-chain block file (bad header)")
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
        (jsize,) = _U32.unpack(_read_exact(src, _U32.size, "a length prefix"))
        if jsize > MAX_FRAME:
            raise BlockFileError(f"justification of {jsize} bytes: the file is damaged")
        yield block, _read_exact(src, jsize, "a justification")


def count_blocks(src: BinaryIO) -> int | None:
    """The number of blocks in a seekable export (for the ETA), leaving the position where it was; None if the
    frames do not add up (the import then says what is wrong)."""
    start = src.tell()
    count = 0
    try:
        src.seek(start + len(MAGIC) + 32)
        while prefix := src.read(_U32.size):
            if len(prefix) != _U32.size:
                return None
            src.seek(_U32.unpack(prefix)[0], 1)
            jprefix = src.read(_U32.size)
            if len(jprefix) != _U32.size:
                return None
            src.seek(_U32.unpack(jprefix)[0], 1)
            count += 1
        return count
    finally:
        src.seek(start)


@dataclass
class ImportStats:
    imported: int = 0
    known: int = 0


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


def import_blocks(
    chain: Chain, src: BinaryIO, report: Callable[[str], None], every_s: float = 2.0, total: int | None = None,
) -> ImportStats:
    """Import every block of an export, fully checked; blocks already known are skipped. Justifications are
    kept beside their blocks (finality is not moved: a node does that when it runs)."""
    stats = ImportStats()
    began = last = time.monotonic()
    for encoded, justification in read_block_file(src, chain.genesis_hash):
        result = chain.import_block(encoded, now_ms())
        if result.status == "known":
            stats.known += 1
        else:
            stats.imported += 1
            if justification:
                chain.db.store_justification(result.hash, justification)
        now = time.monotonic()
        if now - last >= every_s:
            last = now
            report(progress_line(stats.imported + stats.known, total, now - began, chain.head.number))
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
        chain._execute(Overlay(state), block, parent.state_root, {})
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
def revert_blocks(chain: Chain, count: int) -> int:
    """Revert the last `count` canonical blocks with their undo journals and forget them, so that importing them
    again executes them again. Never below the finalized block. Returns the new head number."""
    target = chain.head.number - count
    allowed = chain.head.number - chain.finalized.number
    if count < 0 or target < chain.finalized.number:
        raise RevertRefused(
            f"cannot revert {count} blocks: the finalized block is #{chain.finalized.number} and the head "
            f"#{chain.head.number}, so at most {allowed} may be reverted"
        )
    if count == 0:
        return chain.head.number
    view = Overlay(chain.db.state)
    retracted: list[Block] = []
    for number in range(chain.head.number, target, -1):
        h = chain.db.canonical_hash(number)
        if h is None:
            raise StorageError(f"canonical block #{number} missing from the database")
        retracted.append(stored_block(chain, h))
        for k, v in chain.db.undo(h).items():
            if v is None:
                view.delete(k)
            else:
                view.set(k, v)
    new_hash = chain.db.canonical_hash(target)
    assert new_hash is not None
    new_head = chain.db.get_header(new_hash)
    assert new_head is not None
    chain.db.apply_update(ChainUpdate(new_head, new_hash, view.changes(), [], retracted, []))
    deletes: list[bytes] = []
    for b in retracted:
        h = b.hash()
        deletes += [
            schema.block_key(h), schema.header_key(h), schema.blocks_by_number_key(b.header.number, h),
            schema.block_meta_key(h), schema.block_summary_key(h), schema.undo_key(h), schema.redo_key(h),
            schema.block_voter_set_key(h), schema.justification_key(h),
        ]
    chain.db.kv.write({}, deletes, sync=True)
    chain.db.forget_block_metas()
    chain.head, chain.head_hash = new_head, new_hash
    return target
