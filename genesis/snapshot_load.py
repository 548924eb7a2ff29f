"""Initialising a chain database from a genesis state file (`genesis.snapshot`): what `Chain` does for a spec that
names one (`genesis_state`) instead of writing a genesis state built in memory.

The records are streamed into the database as they are read (flat state, the state tree's leaves and its key index,
the entries `ChainDB.initialise` writes for a state in memory), behind the marker that says an initialise is under
way. Only when the whole file has been read and checked (its size, hash and record count, the root its records give
against the spec's `state_root`, the total issuance it stores against the spec's supply less its genesis burns, and the
validator set it queues against the spec's validators) is the genesis block written, with the database's head, in one
batch that also removes the marker. A file that fails any check wipes what was written and raises SnapshotError: the
database is left empty, never with a head a restart would trust. A database that holds a genesis already is never
given the file again (`Chain` only calls this when it has none).
"""

from __future__ import annotations

import logging
import time

from btt_chain.primitives.errors import BttError
from btt_chain.primitives.hashing import blake2b_256
from genesis.build import Genesis
from genesis.snapshot import SnapshotError, read_snapshot
from runtime.specs import package_module
from storage import schema
from storage.block_meta import BlockMeta, BlockSummary
from storage.chaindb import ChainDB, encode_journal
from storage.state_tree import tree_key_chunks
from storage.tree_engine import RECORD_LEN

log = logging.getLogger("btt.genesis")
PROGRESS_S = 10.0


def initialise_from_snapshot(db: ChainDB, genesis: Genesis, voter_set: bytes) -> int:
    """Write `genesis` (whose `snapshot` names its state file) into the empty database `db`; the records written.
    SnapshotError (one line) when the file is missing or not the one the spec names; the database is then empty."""
    ref = genesis.snapshot
    assert ref is not None
    kv = db.kv
    if kv.get(schema.META_HEAD) is not None:
        raise SnapshotError("the database is already initialised")
    if not ref.path.is_file():
        raise SnapshotError(f"genesis state file {ref.path} (hash 0x{ref.hash.hex()}) is missing: put the file the "
                            f"chain spec names beside it, or join the network with --sync warp (which needs no genesis "
                            "state)")
    spec = genesis.spec
    db.state.forget()
    if kv.get(schema.META_INITIALISING) is not None:
        db._wipe()  # what an initialise cut off mid-way left
    h = genesis.hash
    system = package_module(spec.spec_version, "runtime.system.storage")
    session = package_module(spec.spec_version, "runtime.session.storage")
    issuance_key, queued_key = system.total_issuance.key, session.queued.key
    found: dict[bytes, bytes] = {}
    leaves = [b""]
    kv.write({schema.META_INITIALISING: h}, sync=True)
    written = 0
    began = next_log = time.monotonic()
    try:
        for chunk in read_snapshot(ref, lambda records: leaves.__setitem__(0, records)):
            puts = next(tree_key_chunks(chunk, len(chunk)), {})
            records = leaves[0]
            for at in range(0, len(records), RECORD_LEN):
                puts[schema.TREE_LEAF + records[at : at + 32]] = records[at + 32 : at + RECORD_LEN]
            for key, value in chunk.items():
                puts[schema.STATE + key] = value
            for key in (issuance_key, queued_key):
                if key in chunk:
                    found[key] = chunk[key]
            kv.write_behind(puts)
            written += len(chunk)
            if time.monotonic() > next_log + PROGRESS_S:
                next_log = time.monotonic()
                log.info("genesis state: %s of %s records written from %s", f"{written:,}", f"{ref.records:,}",
                         ref.path.name)
        burned = sum(b.amount for b in spec.milestone_burns if b.at_genesis)
        issuance = system.total_issuance.codec.decode(found[issuance_key]) if issuance_key in found else None
        if issuance != spec.token.total_supply - burned:
            raise SnapshotError(f"genesis state file {ref.path}: it stores a total issuance of {issuance}, the chain "
                                f"spec's supply less its genesis burns is {spec.token.total_supply - burned}")
        if found.get(queued_key) != genesis.state.get(queued_key):
            raise SnapshotError(f"genesis state file {ref.path}: the validator set it queues is not the chain spec's "
                                "validators")
    except Exception as exc:  # (an interrupt leaves the marker: the next initialise wipes what was written)
        db._wipe()  # nothing of it kept: the database is as empty as it was
        if isinstance(exc, BttError):
            raise
        raise SnapshotError(f"genesis state file {ref.path}: {exc}") from exc
    block = genesis.block
    puts = ChainDB._block_puts(block)
    puts[schema.block_meta_key(h)] = BlockMeta([], []).encode()
    puts[schema.block_summary_key(h)] = BlockSummary(0, 0, len(block.encode())).encode()
    puts[schema.redo_key(h)] = encode_journal({})
    puts[schema.undo_key(h)] = encode_journal({})
    puts[schema.canonical_key(0)] = h
    puts[schema.META_GENESIS_HASH] = h
    puts[schema.META_CHAIN_SPEC] = genesis.spec_json
    puts[schema.META_HEAD] = h
    puts[schema.META_FINALIZED] = h
    puts[schema.META_TREE_LEAVES] = b"1"
    puts[schema.META_TREE_KEYS] = b"1"
    set_hash = blake2b_256(voter_set)
    puts[schema.voter_set_key(set_hash)] = voter_set
    puts[schema.block_voter_set_key(h)] = set_hash
    kv.write(puts, [schema.META_INITIALISING], sync=True)
    compact = getattr(kv, "compact", None)
    if compact is not None and written > 100_000:
        compact()
    log.info("genesis state: %s records from %s, root checked, in %.1f s", f"{written:,}", ref.path.name,
             time.monotonic() - began)
    return written
