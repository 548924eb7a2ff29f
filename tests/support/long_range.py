"""A long-range attack, built in one process: a real chain whose genesis validators left (deregistered,
unbonded and withdrew, so their keys hold no stake), and a longer fake fork from genesis authored and
"finalized" by those same genesis keys. Plus an in-memory stand-in for the p2p service whose peers serve
chains the way `NetworkBridge` does, so the node's real sync code runs against them."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from btt_chain.consensus.checkpoints import checkpoint_for_epoch
from btt_chain.node import sync
from btt_chain.node.chain import Chain
from btt_chain.node.network import canonical_headers
from btt_chain.primitives.block import Block, Header
from btt_chain.primitives.extrinsic import Extrinsic, sign_extrinsic
from btt_chain.primitives.keys import Keypair, dev_keypair
from btt_chain.primitives.vote import Checkpoint, Justification, sign_vote
from genesis.build import Genesis, build_genesis
from genesis.devnet import devnet_spec_doc
from genesis.loader import canonical_json, dev_hash_chain_commitment, parse_chain_spec
from genesis.spec import DEFAULT_HASH_CHAIN_LENGTH, TrustedCheckpoint
from p2p.peerbook import PeerInfo
from p2p.service import P2PError
from runtime.modules import RUNTIME
from storage.memory import MemoryStore
from tests.support.session_proof import registration

UNIT = 10**18
DAY_MS = 86_400_000
EPOCH_SLOTS = 5
GENESIS_VALIDATORS = ("alice", "bob")
FAKE_EXTRA_BLOCKS = 10
"""How much longer than the real chain the fake fork is."""


@dataclass
class LongRange:
    spec_doc: dict
    genesis: Genesis
    real: Chain
    fake: Chain
    fake_justifications: dict[bytes, bytes]
    """Target block hash -> encoded justification signed by the genesis validators, for each fake epoch."""
    checkpoint: TrustedCheckpoint
    """A real block after the genesis validators left."""

    def write_spec(self, directory: Path) -> Path:
        path = directory / "spec.json"
        path.write_bytes(canonical_json(self.spec_doc))
        return path

    def fake_block(self, number: int) -> Block:
        h = self.fake.db.canonical_hash(number)
        assert h is not None
        block = self.fake.db.get_block(h)
        assert block is not None
        return block


def _keys(names: tuple[str, ...]) -> dict[bytes, Keypair]:
    return {dev_keypair(n).public: dev_keypair(n) for n in names}


def author(chain: Chain, names: tuple[str, ...], xts: list[Extrinsic] | None = None, start: int | None = None) -> Block:
    """Author a block in the first slot from `start` (default: after the head) that one of `names` leads."""
    keys = _keys(names)
    first = start if start is not None else chain.head.slot + 1
    for slot in range(first, first + 200):
        leader = chain.leader(slot)
        if leader in keys:
            imported, dropped = chain.author_block(slot, keys[leader], [(x, len(x.encode())) for x in xts or []])
            assert not dropped, dropped
            assert imported.result is not None
            assert all(o.success for o in imported.result.outcomes), imported.result.outcomes
            return imported.block
    raise AssertionError(f"none of {names} leads a slot from {first}")


def build_long_range(now_ms: int | None = None) -> LongRange:
    """Genesis 60 days ago with alice and bob as validators. The real chain: charlie bonds and registers, alice
    and bob deregister and unbond; once charlie alone is active, 29 days later alice and bob withdraw (no stake
    left). The fake chain: from genesis, alice and bob only, longer, with a justification for every epoch."""
    now = now_ms if now_ms is not None else time.time_ns() // 1_000_000
    genesis_ms = (now - 60 * DAY_MS) // 1000 * 1000
    doc = devnet_spec_doc(len(GENESIS_VALIDATORS), genesis_ms, EPOCH_SLOTS)
    genesis = build_genesis(parse_chain_spec(doc))
    gh = genesis.hash

    def xt(name: str, call: str, *args: object, nonce: int) -> Extrinsic:
        return sign_extrinsic(dev_keypair(name), RUNTIME.call(call, *args), nonce, gh, RUNTIME.spec_version)

    real = Chain(MemoryStore(), genesis)
    length = doc["consensus"].get("hash_chain_length", DEFAULT_HASH_CHAIN_LENGTH)
    charlie = dev_keypair("charlie")
    author(real, GENESIS_VALIDATORS, [
        xt("charlie", "bonds.bond", 10_000 * UNIT, nonce=0),
        xt("charlie", "bonds.register_validator",
           *registration(charlie, charlie.public, dev_hash_chain_commitment("charlie", length)), nonce=1),
        *(x for n in GENESIS_VALIDATORS for x in (
            xt(n, "bonds.deregister_validator", nonce=0), xt(n, "bonds.unbond", 10_000 * UNIT, nonce=1))),
    ])
    by_charlie = 0
    while [v.session_key for v in real.validators()] != [charlie.public] or by_charlie < 2:
        block = author(real, (*GENESIS_VALIDATORS, "charlie"))
        by_charlie += block.header.author == charlie.public
        assert real.head.number < 40, "the validator set did not change"
    far = real.head.slot + 29 * DAY_MS // doc["consensus"]["slot_ms"]
    author(real, ("charlie",), [xt(n, "bonds.withdraw_unbonded", nonce=2) for n in GENESIS_VALIDATORS], start=far)
    for _ in range(3):
        author(real, ("charlie",))
    cp_number = real.head.number - 1
    cp_hash = real.db.canonical_hash(cp_number)
    assert cp_hash is not None

    fake = Chain(MemoryStore(), genesis)
    while fake.head.number < real.head.number + FAKE_EXTRA_BLOCKS:
        author(fake, GENESIS_VALIDATORS)
    justifications = fake_justifications(fake, gh)
    return LongRange(doc, genesis, real, fake, justifications, TrustedCheckpoint(cp_hash, cp_number))


def fake_justifications(fake: Chain, genesis_hash: bytes, signers: tuple[str, ...] = GENESIS_VALIDATORS,
                        first_epoch: int = 1) -> dict[bytes, bytes]:
    """A chain of justifications (epoch e-1 -> e, from genesis to `first_epoch`'s) over the chain's epoch checkpoints,
    signed by `signers` (the genesis validators); the chain's own finalized pointer follows them (so its status says
    'finalized'). An epoch without a block has the checkpoint block of the one before: no link to it."""

    def header_at(n: int) -> Header | None:
        h = fake.db.canonical_hash(n)
        return None if h is None else fake.db.get_header(h)

    out: dict[bytes, bytes] = {}
    source = Checkpoint(0, genesis_hash)
    last_epoch = fake.head.slot // EPOCH_SLOTS
    for epoch in range(first_epoch, last_epoch + 1):
        target = checkpoint_for_epoch(epoch, header_at, fake.head.number, epoch_slots=EPOCH_SLOTS)
        if target.block_hash == source.block_hash:
            continue
        votes = sorted((sign_vote(dev_keypair(n), genesis_hash, source, target) for n in signers),
                       key=lambda v: v.validator)
        out[target.block_hash] = Justification(target, source, tuple(votes)).encode()
        if source.epoch > 0:
            fake.finalize(source.block_hash)
        source = target
    return out


# ------------------------------------------------------------------------------------------ the network


@dataclass
class RemotePeer:
    """A peer that serves `chain` over the sync protocols, with justifications beside their blocks (`justifications`,
    one per block, or, when it is empty, every one the chain's database holds).

    `probe_answers` (block number -> encoded block) are served to single-block requests instead: a liar that
    answers a checkpoint probe with the real block and then serves its own chain. `upto` hides the blocks
    above that number (a peer that claims to be behind)."""

    chain: Chain
    justifications: dict[bytes, bytes] = field(default_factory=dict)
    probe_answers: dict[int, bytes] = field(default_factory=dict)
    upto: int | None = None
    requests: list[tuple[str, bytes]] = field(default_factory=list)
    key_authorizations: dict[bytes, bytes] = field(default_factory=dict)
    """Session key -> encoded key authorization, served over `keys/auth`."""

    def handle(self, protocol: str, data: bytes) -> bytes:
        self.requests.append((protocol, data))
        chain, db = self.chain, self.chain.db
        best = chain.head.number if self.upto is None else min(self.upto, chain.head.number)
        if protocol == "sync/status":
            best_hash = db.canonical_hash(best)
            assert best_hash is not None
            finalized = min(best, chain.finalized.number)
            finalized_hash = db.canonical_hash(finalized)
            assert finalized_hash is not None
            return sync.PeerStatus(best, best_hash, finalized, finalized_hash).encode()
        if protocol == "sync/blocks":
            start, count = sync.decode_blocks_request(data)
            if count == 1 and start in self.probe_answers:
                return sync.encode_blocks_response([(self.probe_answers[start], [])])
            items = []
            for n in range(start, min(start + count, best + 1)):
                h = db.canonical_hash(n)
                if h is None:
                    break
                raw = db.get_block_bytes(h)
                assert raw is not None
                j = self.justifications.get(h)
                items.append((raw, [j] if j else [] if self.justifications else db.justifications(h)))
            return sync.encode_blocks_response(items)
        if protocol == "sync/block":
            return db.get_block_bytes(sync.decode_hash_request(data)) or b""
        if protocol == "sync/justifications":
            from_epoch = sync.decode_justifications_request(data)
            served = sorted((Justification.decode(j).target.epoch, j) for j in self.justifications.values())
            if from_epoch is None:  # the latest, newest first
                return sync.encode_bytes_list([j for _, j in reversed(served)][:8])
            return sync.encode_bytes_list([j for e, j in served if e >= from_epoch][:sync.MAX_JUSTIFICATIONS_FROM])
        if protocol == "sync/headers":
            start, count = sync.decode_headers_request(data)
            return sync.encode_bytes_list(canonical_headers(db, start, min(count, best + 1 - start)))
        if protocol == "keys/auth":
            keys = sync.decode_bytes_list(data)
            return sync.encode_bytes_list([self.key_authorizations[k] for k in keys if k in self.key_authorizations])
        raise P2PError(f"{protocol} is not served here")


class FakeP2P:
    """The slice of `p2p.P2PService` the node's network code uses, over in-process peers (in this order)."""

    def __init__(self, peers: dict[str, RemotePeer]) -> None:
        self.remote = peers
        self.banned: dict[str, str] = {}
        self.penalised: list[tuple[str, str]] = []
        self.handlers: dict[str, Callable[..., object]] = {}

    def peers(self) -> list[PeerInfo]:
        return [PeerInfo(p, "/ip4/127.0.0.1/tcp/1", 0, 0.0, b"") for p in self.remote if p not in self.banned]

    async def request(self, peer: str, protocol: str, data: bytes, timeout: float = 10.0) -> bytes:
        if peer in self.banned or peer not in self.remote:
            raise P2PError(f"{peer} is not connected")
        return self.remote[peer].handle(protocol, data)

    def ban(self, peer: str, seconds: float, reason: str) -> None:
        self.banned[peer] = reason

    def is_banned(self, peer: str) -> bool:
        return peer in self.banned

    def penalise(self, peer: str, amount: int, reason: str) -> None:
        self.penalised.append((peer, reason))

    def subscribe(self, topic: str, handler: Callable[..., object]) -> None:
        self.handlers[topic] = handler

    def set_request_handler(self, protocol: str, handler: Callable[..., object]) -> None:
        self.handlers[protocol] = handler

    def on_peer_connected(self, callback: Callable[..., object]) -> None:
        pass

    async def publish(self, topic: str, data: bytes) -> None:
        pass


def block_gossip(block: Block) -> bytes:
    return sync.encode_block_gossip(block.encode(), block.header.encode())

