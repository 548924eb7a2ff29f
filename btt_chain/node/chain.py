"""The chain: opens the database at a genesis, imports blocks through the pipeline, and authors blocks.

Import pipeline: decode -> check header and seal -> check extrinsic signatures (batched, cached, in
worker processes when large) -> execute -> compare state root -> commit in one atomic batch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from btt_chain.consensus.leader import epoch_seed, slot_leader
from btt_chain.consensus.slots import SlotClock
from btt_chain.node.sigcheck import SignatureChecker
from btt_chain.primitives.block import Block, Digest, Header, extrinsics_root
from btt_chain.primitives.errors import BttError, DecodeError, InvalidBlock, InvalidExtrinsic, StorageError
from btt_chain.primitives.extrinsic import Extrinsic
from btt_chain.primitives.hashing import EMPTY_MERKLE_ROOT, blake2b_256
from btt_chain.primitives.keys import Keypair
from genesis.build import Genesis
from runtime.context import BlockEnv
from runtime.executive import BlockFull, BlockResult, Executive, ValidTransaction
from runtime.modules import RUNTIME
from runtime.overlay import Overlay
from runtime.session import storage as session
from runtime.session.types import ValidatorInfo
from storage.chaindb import BlockMeta, ChainDB
from storage.kv import KeyValueStore
from storage.smt import SparseMerkleTree

log = logging.getLogger("btt.chain")


@dataclass(frozen=True)
class ImportedBlock:
    block: Block
    hash: bytes
    result: BlockResult


def event_records(result: BlockResult) -> list[list[object]]:
    return [[phase if phase >= 0 else (2**32 + phase), *ev.to_record()] for phase, ev in result.events]


def outcome_records(result: BlockResult) -> list[list[object]]:
    return [[o.index, o.success, o.fee.to_bytes(16, "big"), o.weight, o.error or ""] for o in result.outcomes]


class Chain:
    """One node's view of the chain: head, state, import and authoring. Single-threaded by design."""

    def __init__(self, kv: KeyValueStore, genesis: Genesis, checker: SignatureChecker | None = None) -> None:
        self.db = ChainDB(kv)
        self.genesis = genesis
        self.genesis_hash = genesis.hash
        stored = self.db.genesis_hash()
        if stored is None:
            self.db.initialise(genesis.block, genesis.state, genesis.nodes, genesis.spec_json)
            log.info("initialised database at genesis 0x%s", self.genesis_hash.hex())
        elif stored != self.genesis_hash:
            raise StorageError(
                f"the database was created with genesis 0x{stored.hex()}, but this chain's genesis is "
                f"0x{self.genesis_hash.hex()}: use another --base-path, or `btt-chain purge-chain` it"
            )
        spec = genesis.spec
        self.clock = SlotClock(
            spec.genesis_time_ms, spec.consensus.slot_ms, spec.consensus.epoch_slots, spec.consensus.max_drift_ms
        )
        self.executive = Executive(RUNTIME, self.genesis_hash)
        self.tree = SparseMerkleTree(self.db.trie_node)
        self.checker = checker or SignatureChecker()
        self.head: Header = self._load_head()
        self.head_hash: bytes = self.db.head_hash()
        self._listeners: list[Callable[[ImportedBlock], None]] = []

    def _load_head(self) -> Header:
        header = self.db.get_header(self.db.head_hash())
        if header is None:
            raise StorageError("head block missing from the database")
        return header

    # queries ---------------------------------------------------------------------------------------
    def state(self) -> Overlay:
        """A read view of the state at the head."""
        return Overlay(self.db.state)

    def validators(self) -> tuple[ValidatorInfo, ...]:
        return session.active_validators(self.state())

    def leader(self, slot: int, validators: Iterable[ValidatorInfo] | None = None) -> bytes | None:
        vals = self.validators() if validators is None else validators
        seed = epoch_seed(self.genesis_hash, self.clock.epoch_of(slot))
        return slot_leader([(v.session_key, v.bond) for v in vals], seed, slot)

    def on_import(self, listener: Callable[[ImportedBlock], None]) -> None:
        self._listeners.append(listener)

    def next_env(self, author: bytes = bytes(32)) -> BlockEnv:
        slot = self.head.slot + 1
        return BlockEnv(self.head.number + 1, self.head_hash, slot, self.clock.slot_start_ms(slot), author)

    def validate_transaction(self, xt: Extrinsic, length: int) -> ValidTransaction:
        """Pool admission check against the head state; the signature is checked once and cached."""
        return self.executive.validate_transaction(self.db.state, self.next_env(), xt, length, self._verify_cached)

    def _verify_cached(self, xt: Extrinsic, msg: bytes) -> bool:
        return self.checker.verify_one(_sig_key(xt, msg), xt.signer, msg, xt.signature)

    # import ----------------------------------------------------------------------------------------
    def import_block(self, encoded: bytes, now_ms: int) -> ImportedBlock:
        """Check, execute and commit a block that extends the head. Raises InvalidBlock and changes nothing."""
        try:
            block = Block.decode(encoded)
        except DecodeError as exc:
            raise InvalidBlock(f"undecodable block: {exc}") from None
        h = block.header
        self._check_header(h, now_ms)
        if extrinsics_root(block.extrinsics) != h.extrinsics_root:
            raise InvalidBlock("extrinsics root does not match the block body")
        if h.receipts_root != EMPTY_MERKLE_ROOT:
            raise InvalidBlock("receipts root must be empty: no compute receipts exist yet")
        self._check_signatures(block)
        try:
            result = self.executive.execute_block(self.db.state, block, signatures_checked=True)
        except InvalidBlock:
            raise
        except BttError as exc:
            raise InvalidBlock(f"execution failed: {exc}") from None
        root, nodes = self.tree.update(self.head.state_root, result.changes)
        if root != h.state_root:
            raise InvalidBlock(f"state root mismatch: header 0x{h.state_root.hex()}, computed 0x{root.hex()}")
        return self._commit(block, encoded, result, nodes)

    def _check_header(self, h: Header, now_ms: int) -> None:
        if h.parent_hash != self.head_hash:
            raise InvalidBlock(f"parent 0x{h.parent_hash.hex()[:16]} is not the head: only head extensions import")
        if h.number != self.head.number + 1:
            raise InvalidBlock(f"number {h.number} does not follow parent number {self.head.number}")
        if h.slot <= self.head.slot:
            raise InvalidBlock(f"slot {h.slot} is not above the parent's slot {self.head.slot}")
        if self.clock.is_too_far_ahead(h.slot, now_ms):
            raise InvalidBlock(f"slot {h.slot} is in the future")
        if h.timestamp_ms != self.clock.slot_start_ms(h.slot):
            raise InvalidBlock("timestamp is not the start of the block's slot")
        leader = self.leader(h.slot)
        if h.author != leader:
            raise InvalidBlock(f"author is not the leader of slot {h.slot}")
        if not h.verify_seal():
            raise InvalidBlock("bad author signature")

    def _check_signatures(self, block: Block) -> None:
        h = block.header
        # birth hashes resolve as in the block itself (the parent's hash is recorded on initialise)
        state = self.executive.initialize_block(
            self.db.state, BlockEnv(h.number, h.parent_hash, h.slot, h.timestamp_ms, h.author)
        ).state
        number = h.number
        keys, items = [], []
        for i, xt in enumerate(block.extrinsics):
            try:
                msg = self.executive.signing_message(state, xt, number)
            except InvalidExtrinsic as exc:
                raise InvalidBlock(f"extrinsic {i}: {exc}") from None
            keys.append(_sig_key(xt, msg))
            items.append((xt.signer, msg, xt.signature))
        for i, ok in enumerate(self.checker.verify_many(keys, items)):
            if not ok:
                raise InvalidBlock(f"extrinsic {i} has a bad signature")

    def _commit(self, block: Block, encoded: bytes, result: BlockResult, nodes: dict[bytes, bytes]) -> ImportedBlock:
        meta = BlockMeta(event_records(result), outcome_records(result))
        self.db.commit_block(block, encoded, result.changes, nodes, meta)
        self.head = block.header
        self.head_hash = block.hash()
        imported = ImportedBlock(block, self.head_hash, result)
        for listener in self._listeners:
            try:
                listener(imported)
            except Exception:  # a failing listener must not undo an import
                log.exception("block listener failed")
        return imported

    # authoring -------------------------------------------------------------------------------------
    def author_block(self, slot: int, pair: Keypair, candidates: Iterable[tuple[Extrinsic, int]]) -> tuple[
        ImportedBlock, list[tuple[Extrinsic, str]]
    ]:
        """Build, seal and commit a block for `slot` from (extrinsic, encoded length) candidates in priority order.

        Returns the imported block and the candidates that were dropped as invalid (with the reason)."""
        if slot <= self.head.slot:
            raise InvalidBlock(f"slot {slot} is not above the head's slot {self.head.slot}")
        if self.leader(slot) != pair.public:
            raise InvalidBlock(f"this key does not lead slot {slot}")
        env = BlockEnv(self.head.number + 1, self.head_hash, slot, self.clock.slot_start_ms(slot), pair.public)
        ex = self.executive.initialize_block(self.db.state, env)
        included: list[Extrinsic] = []
        dropped: list[tuple[Extrinsic, str]] = []
        for xt, length in candidates:
            try:
                msg = self.executive.signing_message(ex.state, xt, env.number)
                if not self._verify_cached(xt, msg):
                    raise InvalidExtrinsic("bad signature")
                self.executive.apply_extrinsic(ex, xt, length, signature_checked=True)
            except BlockFull:
                break
            except InvalidExtrinsic as exc:
                dropped.append((xt, str(exc)))
                continue
            included.append(xt)
        result = self.executive.finalize_block(ex)
        root, nodes = self.tree.update(self.head.state_root, result.changes)
        header = Header(
            parent_hash=self.head_hash,
            number=env.number,
            slot=slot,
            timestamp_ms=env.timestamp_ms,
            state_root=root,
            extrinsics_root=extrinsics_root(included),
            receipts_root=EMPTY_MERKLE_ROOT,
            author=pair.public,
            digest=Digest(),
        ).sealed(pair)
        block = Block(header, tuple(included))
        return self._commit(block, block.encode(), result, nodes), dropped


def _sig_key(xt: Extrinsic, msg: bytes) -> bytes:
    return blake2b_256(msg + xt.signer + xt.signature)
