"""How far back a node serves state (`--state-pruning N|archive`) and the views it serves it through.

The chain keeps every block's undo journal (for reorganisations) and never deletes one, so any canonical block
could be read; the window bounds the work of one read (one journal per block between it and the head) and is
the promise an operator makes to the node's callers. `archive` serves every canonical block.
"""

from __future__ import annotations

from btt_chain.primitives.block import Header
from btt_chain.primitives.errors import BttError
from storage.chaindb import ChainDB
from storage.history import HistoricalState, HistoryTooFar

DEFAULT_STATE_PRUNING = 256
"""Blocks back from the head whose state is served unless the operator says otherwise (Substrate's default)."""
ARCHIVE = "archive"
VIEW_KEYS = 100_000
"""Changed keys a view of an older block may gather from the undo journals between it and the head (one entry each,
about 80 ms of this machine's time on the node's event loop, where RPC runs): what bounds the cost of one read at an
older block, whatever the pruning window. A lightly used chain serves its whole window; under full blocks of
transfers (~10,000 changed keys each) about ten blocks back."""


class StateUnavailable(BttError):
    """The state of that block is not served by this node: unknown, not canonical, or beyond the pruning window."""


def parse_state_pruning(value: str) -> int | None:
    """`archive` -> None (every block); a non-negative integer -> that many blocks back from the head."""
    text = value.strip().lower()
    if text == ARCHIVE:
        return None
    if not (text.isascii() and text.isdigit()):
        raise ValueError(f"expected a number of blocks or `archive`, got {value!r}")
    return int(text)


def describe_window(keep: int | None) -> str:
    return "every block (archive)" if keep is None else f"the last {keep} blocks"


def state_at(db: ChainDB, head: Header, block_hash: bytes, keep: int | None) -> tuple[Header, HistoricalState]:
    """The header of `block_hash` and a read-only view of the state after it; StateUnavailable if not served."""
    header = db.get_header(block_hash)
    if header is None:
        raise StateUnavailable(f"unknown block 0x{block_hash.hex()}")
    label = f"#{header.number} 0x{block_hash.hex()}"
    if db.canonical_hash(header.number) != block_hash or header.number > head.number:
        raise StateUnavailable(f"state of block {label} is not kept: the block is not on the canonical chain")
    if keep is not None and head.number - header.number > keep:
        raise StateUnavailable(
            f"state of block {label} is pruned (this node keeps the last {keep} blocks; "
            "run with --state-pruning archive)"
        )
    try:
        return header, HistoricalState(db, head.number, header.number, VIEW_KEYS)
    except HistoryTooFar as exc:
        raise StateUnavailable(f"state of block {label} is not served: more than {VIEW_KEYS:,} keys changed since "
                               f"({exc.keys:,} in its {exc.blocks_read} newest blocks), more than one read may "
                               "gather; ask a block nearer the head") from None
