"""Every database key layout in one place. Nothing else builds database keys by hand."""

from __future__ import annotations

from collections.abc import Mapping

try:  # the commit's loops compiled (storage/_commit_native.c)
    from storage import _commit_native  # type: ignore[attr-defined]
except ImportError:
    _commit_native = None

META_GENESIS_HASH = b"m:genesis"
"""The genesis hash the database was created with."""
META_CHAIN_SPEC = b"m:spec"
"""The canonical JSON of the chain spec the database was created with."""
META_HEAD = b"m:head"
"""Hash of the best (head) block; the flat state below is the state after it."""
META_FINALIZED = b"m:finalized"
"""Hash of the last finalized block."""
META_INITIALISING = b"m:initialising"
"""Present only while a large genesis is written in several batches: a database holding it without a head was cut
off mid-way, and the next initialise wipes what that attempt wrote before starting again."""

BLOCK = b"b:"
"""b: + block hash -> encoded block."""
HEADER = b"h:"
"""h: + block hash -> encoded header (so header reads do not decode whole blocks)."""
CANONICAL = b"n:"
"""n: + number (8 bytes big-endian) -> block hash on the canonical chain."""
BLOCK_META = b"bm:"
"""bm: + block hash -> what executing the block produced, for RPC: its event records and per-extrinsic outcomes
with the indexes that find one extrinsic's events and outcome without decoding the rest (`chaindb.BlockMeta`)."""
BLOCK_SUMMARY = b"bs:"
"""bs: + block hash -> encoded [extrinsic count, event count, encoded block size]: what a block list shows without
reading the block or its events. Written with the meta; blocks stored before it existed have none."""
TX_INDEX = b"x:"
"""x: + extrinsic hash -> [block hash, index] of its inclusion on the canonical chain."""
STATE = b"s:"
"""s: + runtime storage key -> value, the flat state at the head block."""
TREE_LEAF = b"l:"
"""l: + path (blake2b-256 of a state key) -> blake2b-256 of its value: the leaves of the state tree at the head, in
path order (`storage.state_tree`). Written in the same batch as the flat state."""
TREE_KEY = b"k:"
"""k: + path (blake2b-256 of a state key) -> that key: the keys of the flat state in path order, so that the keys
under a prefix of the state tree (a warp-sync chunk) are found by a seek. Written in the same batch as the flat
state, only when a key appears or disappears (an update of a key's value leaves it alone)."""
META_TREE_KEYS = b"m:tree-keys"
"""Present once every key of the flat state has its `k:` entry (written with genesis; an earlier version's database
gets them from its flat state when it is first opened)."""
META_TREE_LEAVES = b"m:tree-leaves"
"""Present once the database holds the state tree's leaves (written with genesis; an earlier version's database gets
them from its flat state when it is first opened)."""
TRIE_NODE = b"t:"
"""t: + node hash -> a state-tree node, as versions before the leaves stored the whole tree: deleted when such a
database is first opened."""
UNDO = b"u:"
"""u: + block hash -> encoded list of [key, present, old value]: how to revert the block's state changes."""
REDO = b"r:"
"""r: + block hash -> encoded list of [key, present, new value]: how to re-apply them after a reorg back."""
BLOCKS_BY_NUMBER = b"bn:"
"""bn: + number (8 bytes big-endian) + block hash -> b'': every stored block, canonical or not."""
JUSTIFICATION = b"j:"
"""j: + block hash + target epoch (8 bytes big-endian) -> encoded finality justification of the block as the checkpoint
of that epoch (a block is the checkpoint of every epoch up to the next block's). A key without the epoch is one
written before a block could hold several; it is read as the oldest of its block's."""
META_JUSTIFIED = b"m:justified"
"""Encoded finality record (`btt_chain.consensus.finality.FinalityRecord`): the finalized and justified checkpoints."""
META_FINALITY_CONFLICT = b"m:finality-conflict"
"""Encoded `btt_chain.consensus.finality.FinalityConflict`, once conflicting checkpoints were seen finalized: finality
stays stopped across restarts, and the evidence is kept."""
VOTER_SET = b"vs:"
"""vs: + set hash -> encoded validator set (`btt_chain.consensus.validator_set.ValidatorSetRecord`), content-addressed
by the blake2b-256 of that encoding: sets change rarely, so many blocks point at one record."""
BLOCK_VOTER_SET = b"bv:"
"""bv: + block hash -> hash of the validator set queued in the block's post-state (`session.queued`): the set
that votes for the block as the checkpoint of any epoch it opens. Written with the block when it is executed."""
JOB_OUTPUTS = b"o:"
"""o: + job id (8 bytes big-endian) + provider (32 bytes) -> encoded [output root, [output item, ...]]: a
compute provider's full outputs, kept off chain by the node once they match the revealed root (`storage.outputs`)."""
CHECKPOINT_SET = b"cs:"
"""cs: + block hash -> encoded `btt_chain.consensus.warp.SetProof` of an epoch's checkpoint block: `session.queued` in
its post-state with that value's state proof, kept when the next epoch's first block was built on it (what warp proofs
carry; the block's state itself is long gone when a joining node asks)."""
KEY_AUTHORIZATION = b"ka:"
"""ka: + session key -> the claims on the key: a list of up to 4 encoded
`btt_chain.primitives.key_authorization.KeyAuthorization`s, one an account (a single encoded one in records written
before claims were kept side by side, read as a list of one): each a signed `set_keys` or `register_validator` that
named the key, from a block this node executed or a peer's answer to a request for that key, verified; they show on
any fork which account the key signs for (`btt_chain.node.key_authorizations`)."""
META_WARP_BASE = b"m:warp-base"
"""Present in a database filled by warp sync: encoded [number, hash] of the block it started from (it holds no block
between genesis and that one)."""


BLOB_PREFIXES = (BLOCK, BLOCK_META, UNDO, REDO)
"""Keys whose values are large, written once and read rarely: a LevelDB store keeps them in its block files
(`storage.blob_log`) and only a reference in LevelDB, so that compactions do not rewrite them level after level."""


def canonical_key(number: int) -> bytes:
    return CANONICAL + number.to_bytes(8, "big")


def block_key(block_hash: bytes) -> bytes:
    return BLOCK + block_hash


def header_key(block_hash: bytes) -> bytes:
    return HEADER + block_hash


def block_meta_key(block_hash: bytes) -> bytes:
    return BLOCK_META + block_hash


def block_summary_key(block_hash: bytes) -> bytes:
    return BLOCK_SUMMARY + block_hash


def tx_index_key(xt_hash: bytes) -> bytes:
    return TX_INDEX + xt_hash


def state_key(key: bytes) -> bytes:
    return STATE + key


def put_state(puts: dict[bytes, bytes], deletes: list[bytes], changes: Mapping[bytes, bytes | None]) -> None:
    """A commit's flat-state entries: puts[state_key(k)] = v for each set key, state_key(k) into deletes for each
    deleted one (~10,000 a block: the key made inline)."""
    if _commit_native is not None and type(changes) is dict:
        _commit_native.put_state(puts, deletes, STATE, changes)
        return
    prefix = STATE
    for key, value in changes.items():
        if value is None:
            deletes.append(prefix + key)
        else:
            puts[prefix + key] = value


def tree_leaf_key(path: bytes) -> bytes:
    return TREE_LEAF + path


def tree_key_key(path: bytes) -> bytes:
    """The `k:` entry of the state key whose path is `path`."""
    return TREE_KEY + path


def undo_key(block_hash: bytes) -> bytes:
    return UNDO + block_hash


def redo_key(block_hash: bytes) -> bytes:
    return REDO + block_hash


def blocks_by_number_key(number: int, block_hash: bytes) -> bytes:
    return BLOCKS_BY_NUMBER + number.to_bytes(8, "big") + block_hash


def justification_key(block_hash: bytes, epoch: int | None = None) -> bytes:
    """The key of the justification of `block_hash` as the checkpoint of `epoch`; None: the key without an epoch that
    older databases hold."""
    return JUSTIFICATION + block_hash + (b"" if epoch is None else epoch.to_bytes(8, "big"))


def voter_set_key(set_hash: bytes) -> bytes:
    return VOTER_SET + set_hash


def block_voter_set_key(block_hash: bytes) -> bytes:
    return BLOCK_VOTER_SET + block_hash


def job_outputs_key(job_id: int, provider: bytes) -> bytes:
    return JOB_OUTPUTS + job_id.to_bytes(8, "big") + provider


def key_authorization_key(session_key: bytes) -> bytes:
    return KEY_AUTHORIZATION + session_key


def checkpoint_set_key(block_hash: bytes) -> bytes:
    return CHECKPOINT_SET + block_hash
