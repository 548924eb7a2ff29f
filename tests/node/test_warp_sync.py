"""Warp sync between nodes (issue 44), in one process: a node with a finalized chain serves warp proofs and state
chunks (`WarpServer`), a fresh node fetches them (`WarpSync`) over a stand-in for the p2p host, then opens its database
at the target and imports the blocks after it. Its state root and every key equal the server's at the target.

Each attack is a peer beside an honest one that lies one way; the warp must ban it (or leave it, for a slow or silent
peer), keep nothing it sent, and finish from the honest peer: a forged justification, a wrong validator set, a state
chunk that does not match the root, a chunk of another block, a peer that stops halfway, a slow peer, a chunk too big.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from btt_chain.consensus.checkpoints import checkpoint_for_epoch
from btt_chain.consensus.warp import SetProof, WarpProof
from btt_chain.node.chain import Chain
from btt_chain.node.finality_service import FinalityService
from btt_chain.node.warp_serve import PLAN_PROTOCOL, STATE_PROTOCOL, WARP_PROTOCOL, WarpServer
from btt_chain.node.warp_sync import WarpFailed, WarpSync
from btt_chain.primitives.block import Header
from btt_chain.primitives.codec import pack, unpack
from btt_chain.primitives.errors import StorageError
from btt_chain.primitives.keys import dev_keypair
from btt_chain.primitives.vote import Justification, sign_vote
from genesis.build import Genesis
from genesis.spec import TrustedCheckpoint
from p2p import P2PError
from storage.history import HistoricalState
from storage.memory import MemoryStore
from storage.smt import verify_prefix_chunk
from tests.support.fake_peers import Handler, PeerInfo
from tests.support.node_builder import author_as_leader, devnet_genesis, far_future_ms, transfer
from tests.support.stub_node import StubNode

E = 5
VALIDATORS = ("alice", "bob", "charlie")
GAP = 4


def canonical(chain: Chain) -> Callable[[int], Header | None]:
    def get(n: int) -> Header | None:
        h = chain.db.canonical_hash(n)
        return None if h is None else chain.db.get_header(h)

    return get


@dataclass
class Served:
    genesis: Genesis
    chain: Chain
    node: StubNode
    server: WarpServer


def finalized_chain(tmp_path: Path, epochs: int = 12, salt: int = 0) -> Served:
    """A three-validator chain of `epochs` epochs, every epoch's checkpoint justified by all three (so finalized up
    to two epochs back), with accounts made along the way."""
    genesis = devnet_genesis(3, epoch_slots=E)
    chain = Chain(MemoryStore(), genesis)
    node = StubNode(chain)
    svc = FinalityService(node, None, tmp_path / "votes.json")  # type: ignore[arg-type]
    node.finality = svc
    names = [f"acct{i}" for i in range(40)]
    n = 0
    while chain.head.slot // E < epochs:
        epoch = chain.head.slot // E
        xts = [transfer(chain, "alice", names[n % len(names)], 10**18 + n + salt)] if n < 60 else []
        author_as_leader(chain, VALIDATORS, xts)
        n += 1
        if chain.head.slot // E > epoch:  # the head entered a new epoch: everyone votes for its checkpoint
            e = chain.head.slot // E
            target = checkpoint_for_epoch(e, canonical(chain), chain.head.number, epoch_slots=E)
            source = svc.tracker.state.latest_justified
            votes = tuple(sorted((sign_vote(dev_keypair(v), chain.genesis_hash, source, target) for v in VALIDATORS),
                                 key=lambda v: v.validator))
            assert svc.import_justification(Justification(target, source, votes).encode())
    server = WarpServer(node, GAP)  # type: ignore[arg-type]
    return Served(genesis, chain, node, server)


@dataclass
class Net:
    """Peers as WarpSync sees them: each answers with its handlers; bans and penalties are recorded."""

    served: Served
    handlers: dict[str, dict[str, Handler]] = field(default_factory=dict)
    banned: dict[str, str] = field(default_factory=dict)
    penalties: list[tuple[str, str]] = field(default_factory=list)
    asked: dict[str, int] = field(default_factory=dict)

    def honest(self, peer: str) -> None:
        s = self.served.server
        self.handlers[peer] = {WARP_PROTOCOL: s.serve_warp, PLAN_PROTOCOL: s.serve_plan, STATE_PROTOCOL: s.serve_state,
                               "sync/block": self._block}

    async def _block(self, peer: str, data: bytes) -> bytes:
        (h,) = unpack(data)
        raw = self.served.chain.db.get_block_bytes(h)
        return raw or b""

    def peers(self) -> list[PeerInfo]:
        return [PeerInfo(p) for p in self.handlers if p not in self.banned]

    async def request(self, peer: str, protocol: str, data: bytes, timeout: float = 10.0) -> bytes:
        self.asked[peer] = self.asked.get(peer, 0) + 1
        try:
            return await asyncio.wait_for(self.handlers[peer][protocol]("client", data), timeout)
        except TimeoutError:
            raise P2PError(f"{protocol} to {peer} timed out") from None

    def ban(self, peer: str, seconds: float, reason: str) -> None:
        self.banned[peer] = reason

    def penalise(self, peer: str, amount: int, reason: str) -> None:
        self.penalties.append((peer, reason))


def young_clock(genesis: Genesis, epoch: int = 0) -> Callable[[], int]:
    """A local clock in `epoch` of `genesis`'s chain. These tests' chains run past GAP epochs (so that a proof takes
    several fragments) while a warp from genesis is refused once the clock is past GAP: the clock reads genesis time,
    unless a test is about the age rule."""
    c = genesis.spec.consensus
    return lambda: genesis.spec.genesis_time_ms + epoch * c.epoch_slots * c.slot_ms


def new_sync(served: Served, net: Net, kv: MemoryStore, checkpoint: TrustedCheckpoint | None = None,
             evidence: Path | None = None, clock_epoch: int = 0) -> WarpSync:
    """A warp sync over `net` into `kv`, that waits a moment (not 10 s) for a second peer's proof."""
    clock = young_clock(served.genesis, clock_epoch)
    return WarpSync(net, kv, served.genesis, checkpoint, GAP, now_ms=clock,  # type: ignore[arg-type]
                    evidence_dir=evidence, say=lambda _line: None, second_peer_wait_s=0.3)


def warp(served: Served, net: Net) -> tuple[Chain, MemoryStore]:
    kv = MemoryStore()
    asyncio.run(new_sync(served, net, kv).run(limit_s=30))
    return Chain(kv, served.genesis), kv


def honest_warp(tmp_path: Path) -> tuple[Served, Chain]:
    """A finalized chain and a node warp-synced to it from one honest peer."""
    served = finalized_chain(tmp_path)
    net = Net(served)
    net.honest("honest")
    return served, warp(served, net)[0]


def following(joined: Chain, tmp_path: Path) -> tuple[StubNode, FinalityService]:
    """A stub node over `joined` with a finality service that follows it, voting for no one."""
    node = StubNode(joined)
    node.finality = FinalityService(node, None, tmp_path / "joined-votes.json")  # type: ignore[arg-type]
    return node, node.finality


def assert_same_state(served: Served, joined: Chain) -> None:
    server = served.chain
    target = joined.head
    assert server.db.canonical_hash(target.number) == joined.head_hash
    view = HistoricalState(server.db, server.head.number, target.number)
    theirs = {k: v for k, v in view.iterate(b"")}
    ours = {k: v for k, v in joined.db.state.iterate(b"")}
    assert ours == theirs
    assert joined.tree.root == target.state_root


def test_a_fresh_node_warps_to_the_finalized_block_and_follows_the_chain(tmp_path: Path) -> None:
    served = finalized_chain(tmp_path)
    net = Net(served)
    net.honest("honest")
    joined, _ = warp(served, net)
    finalized = served.node.finality.tracker.state.finalized  # type: ignore[union-attr]
    assert joined.head_hash == finalized.block_hash and joined.finalized_hash == finalized.block_hash
    assert_same_state(served, joined)
    # then it imports every block after the target, as any node does
    server = served.chain
    for n in range(joined.head.number + 1, server.head.number + 1):
        h = server.db.canonical_hash(n)
        assert h is not None
        raw = server.db.get_block_bytes(h)
        assert raw is not None
        assert joined.import_block(raw, far_future_ms()).status == "best"
    assert joined.head_hash == server.head_hash and joined.tree.root == server.head.state_root
    assert not net.banned and not net.penalties


def lying(net: Net, peer: str, protocol: str, change: Callable[[bytes], bytes]) -> None:
    """`peer` answers `protocol` as the honest server, changed by `change`."""
    net.honest(peer)
    inner = net.handlers[peer][protocol]

    async def answer(who: str, data: bytes) -> bytes:
        return change(await inner(who, data))

    net.handlers[peer][protocol] = answer


def forge_signature(raw: bytes) -> bytes:
    proof = WarpProof.decode(raw)
    f = proof.fragments[-1]
    j = Justification.decode(f.justification)
    bad = j.replace(votes=(j.votes[0].replace(signature=bytes(64)), *j.votes[1:])).encode()
    return proof.replace(fragments=(*proof.fragments[:-1], f.replace(justification=bad))).encode()


def swap_set(raw: bytes) -> bytes:
    proof = WarpProof.decode(raw)
    f = proof.fragments[-1]
    other = proof.fragments[0].voters if len(proof.fragments) > 1 else SetProof(b"\x00", f.voters.siblings)
    return proof.replace(fragments=(*proof.fragments[:-1], f.replace(voters=other))).encode()


def change_value(raw: bytes) -> bytes:
    value = unpack(raw, max_size=1 << 26)
    if value[0] == 0 and value[1]:
        value[1][0][1] = value[1][0][1] + b"\x01"
    return pack(value)


def drop_entry(raw: bytes) -> bytes:
    value = unpack(raw, max_size=1 << 26)
    if value[0] == 0 and len(value[1]) > 1:
        del value[1][-1]
    return pack(value)


@pytest.mark.parametrize("attack", ["forged justification", "wrong validator set", "changed value", "dropped entry",
                                    "another block's chunk", "stops halfway", "slow", "too big", "splits everything",
                                    "busy"])
def test_a_lying_or_failing_peer_is_dealt_with_and_the_warp_finishes_from_an_honest_one(tmp_path: Path,
                                                                                      attack: str) -> None:
    served = finalized_chain(tmp_path)
    net = Net(served)
    liar = "liar"
    if attack == "forged justification":
        lying(net, liar, WARP_PROTOCOL, forge_signature)
    elif attack == "wrong validator set":
        lying(net, liar, WARP_PROTOCOL, swap_set)
    elif attack == "changed value":
        lying(net, liar, STATE_PROTOCOL, change_value)
    elif attack == "dropped entry":
        lying(net, liar, STATE_PROTOCOL, drop_entry)
    elif attack == "another block's chunk":
        net.honest(liar)
        older = served.chain.db.canonical_hash(served.chain.finalized.number - 1)
        assert older is not None

        async def other_block(who: str, data: bytes) -> bytes:
            _, depth, index = unpack(data)
            return await served.server.serve_state(who, pack([older, depth, index]))

        net.handlers[liar][STATE_PROTOCOL] = other_block
    elif attack == "stops halfway":
        net.honest(liar)
        inner = net.handlers[liar][STATE_PROTOCOL]
        count = [0]

        async def stops(who: str, data: bytes) -> bytes:
            count[0] += 1
            if count[0] > 2:
                raise P2PError("connection reset")
            return await inner(who, data)

        net.handlers[liar][STATE_PROTOCOL] = stops
    elif attack == "slow":
        net.honest(liar)

        async def slow(who: str, data: bytes) -> bytes:
            await asyncio.sleep(3600)
            return b""

        net.handlers[liar][STATE_PROTOCOL] = slow
    elif attack == "busy":  # a server whose serving budget is spent says so: asked again, never blamed
        lying(net, liar, STATE_PROTOCOL, lambda raw: pack([3, "this node is serving as much as it may"]))
    elif attack == "splits everything":  # a split cannot be checked: it is followed only a few levels down
        lying(net, liar, STATE_PROTOCOL, lambda raw: pack([1, "too big, ask for the halves"]))
    else:
        lying(net, liar, STATE_PROTOCOL, lambda raw: raw + b"\x00" * (1 << 25))
    net.honest("honest")
    import btt_chain.node.warp_sync as ws

    limit = ws.REQUEST_TIMEOUT_S
    ws.REQUEST_TIMEOUT_S = 0.5  # the slow peer's requests time out quickly here
    try:
        joined, _ = warp(served, net)
    finally:
        ws.REQUEST_TIMEOUT_S = limit
    assert_same_state(served, joined)
    if attack in ("forged justification", "wrong validator set", "changed value", "dropped entry",
                  "another block's chunk"):
        assert liar in net.banned, net.banned
    else:
        assert liar not in net.banned  # failing is no lie
    if attack == "splits everything":
        from btt_chain.node.warp_sync import MAX_SPLITS

        assert net.asked[liar] <= 2 * (1 << MAX_SPLITS) * (1 << served.server.plan_depth()) + 10
    assert "honest" not in net.banned


def test_with_only_liars_nothing_is_kept_and_the_warp_fails_with_why(tmp_path: Path) -> None:
    served = finalized_chain(tmp_path)
    net = Net(served)
    lying(net, "liar", STATE_PROTOCOL, change_value)
    kv = MemoryStore()
    sync = new_sync(served, net, kv)
    with pytest.raises(WarpFailed):
        asyncio.run(sync.run(limit_s=5))
    from storage import schema

    assert kv.get(schema.META_HEAD) is None  # nothing a node would start on
    assert "liar" in net.banned


def test_a_warp_from_a_trusted_checkpoint_starts_there_and_its_guard_holds_it_reached(tmp_path: Path) -> None:
    """A node with a trusted checkpoint warps from that block's fragment (never from genesis: validators that have
    since unbonded cannot sign it a long-range fork), and its checkpoint guard takes the checkpoint as reached though
    the database holds no block at its number; a database warped from elsewhere is refused the checkpoint, with why."""
    from btt_chain.node.checkpoint import CheckpointGuard
    from storage import schema

    served = finalized_chain(tmp_path)
    chain = served.chain
    asyncio.run(served.server._ensure_index())
    cp_hash = served.server.checkpoint_hash(3)
    assert cp_hash is not None
    header = chain.db.get_header(cp_hash)
    assert header is not None
    checkpoint = TrustedCheckpoint(cp_hash, header.number)
    net = Net(served)
    net.honest("honest")
    kv = MemoryStore()
    sync = new_sync(served, net, kv, checkpoint)
    asyncio.run(sync.run(limit_s=30))
    joined = Chain(kv, served.genesis)
    assert joined.head_hash == chain.finalized_hash and joined.lowest_number > checkpoint.number
    assert joined.db.warp_trust() == (checkpoint.number, checkpoint.hash)
    assert_same_state(served, joined)
    guard = CheckpointGuard.start(joined, served.genesis.spec, checkpoint, far_future_ms)
    assert guard.reached and joined.finalized_hash == chain.finalized_hash

    other = chain.db.get_header(served.server.checkpoint_hash(2) or b"")
    assert other is not None
    with pytest.raises(StorageError, match="warp again with the checkpoint"):
        CheckpointGuard.start(Chain(kv, served.genesis), served.genesis.spec,
                              TrustedCheckpoint(other.hash(), other.number), far_future_ms)
    assert kv.get(schema.META_HEAD) == chain.finalized_hash  # refusing changed nothing


def test_a_warp_synced_node_does_not_blame_a_peer_finalized_below_its_base(tmp_path: Path) -> None:
    """A lagging full node's finalized block lies below where this node was warp-synced: no block here to compare it
    with, so it is no conflict (and no penalty)."""
    from btt_chain.node.network import NetworkBridge
    from btt_chain.node.sync import PeerStatus

    served, joined = honest_warp(tmp_path)
    low = served.chain.db.get_header(served.chain.db.canonical_hash(3) or b"")
    assert low is not None and 3 < joined.lowest_number

    class Bridge:
        node = StubNode(joined)

    status = PeerStatus(low.number, low.hash(), low.number, low.hash())
    assert NetworkBridge._claims_conflicting_finality(Bridge(), status) is False  # type: ignore[arg-type]
    forged = PeerStatus(joined.finalized.number, bytes(32), joined.finalized.number, bytes(32))
    assert NetworkBridge._claims_conflicting_finality(Bridge(), forged) is True  # type: ignore[arg-type]


def test_a_long_range_fork_signed_by_the_same_keys_is_refused_from_a_trusted_checkpoint(tmp_path: Path) -> None:
    """Another chain from the same genesis, every epoch justified by the same validators' keys (keys that may since
    have been unbonded or leaked): from genesis alone its proof verifies, which is why a node joining a long-lived
    network is given a trusted checkpoint. With one, the fork's proof (which cannot start at the checkpoint's block)
    is refused, its sender banned, and the warp finishes on the real chain."""

    served = finalized_chain(tmp_path / "real")
    fork = finalized_chain(tmp_path / "fork", salt=7)
    assert fork.chain.finalized_hash != served.chain.finalized_hash
    asyncio.run(served.server._ensure_index())
    asyncio.run(fork.server._ensure_index())
    cp_hash = served.server.checkpoint_hash(2)
    fork_cp = fork.server.checkpoint_hash(2)
    assert cp_hash is not None and fork_cp is not None and cp_hash != fork_cp
    header = served.chain.db.get_header(cp_hash)
    fork_header = fork.chain.db.get_header(fork_cp)
    assert header is not None and fork_header is not None
    checkpoint = TrustedCheckpoint(cp_hash, header.number)

    net = Net(served)
    net.handlers["forger"] = {WARP_PROTOCOL: lambda who, data: fork.server.serve_warp(
        who, pack([1, fork_header.number, fork_cp]))}
    net.honest("honest")
    kv = MemoryStore()
    sync = new_sync(served, net, kv, checkpoint)
    asyncio.run(sync.run(limit_s=30))
    joined = Chain(kv, served.genesis)
    assert joined.head_hash == served.chain.finalized_hash
    assert "forger" in net.banned and "honest" not in net.banned
    assert_same_state(served, joined)

    # from genesis (no checkpoint) the fork is as good as the real chain to a node that knows nothing else
    alone = Net(fork)
    alone.honest("forger")
    fooled, _ = warp(fork, alone)
    assert fooled.head_hash == fork.chain.finalized_hash and not alone.banned


def test_a_warp_synced_node_serves_state_and_what_proofs_it_can(tmp_path: Path) -> None:
    """A node that warp-synced holds no block between genesis and its warp target: asked for a proof from genesis it
    answers what it can (here nothing: its links start at its target), never fails; it serves the state of its
    finalized block like any node, every chunk checking against its root."""
    served, joined = honest_warp(tmp_path)
    node, _ = following(joined, tmp_path)
    server = WarpServer(node, GAP)  # type: ignore[arg-type]
    raw = asyncio.run(server.serve_warp("peer", pack([0, 0, joined.genesis_hash])))
    assert raw == pack([]) or not WarpProof.decode(raw).complete

    target = joined.head
    for index in range(4):  # every prefix at depth 2 verifies against the root of its warp target
        value = unpack(asyncio.run(server.serve_state("peer", pack([joined.head_hash, 2, index]))), max_size=1 << 26)
        assert value[0] == 0, value
        lone = (value[3][0], value[3][1]) if value[3] else None
        assert verify_prefix_chunk(target.state_root, 2, index, [(k, v) for k, v in value[1]],
                                   [(h, kind) for h, kind in value[2]], lone) is None


def test_export_blocks_of_a_warp_synced_database_says_what_it_lacks(tmp_path: Path) -> None:
    import io

    from btt_chain.node.block_io import BlockFileError, export_blocks

    served, joined = honest_warp(tmp_path)
    out = io.BytesIO()
    with pytest.raises(BlockFileError, match=f"warp-synced at block #{joined.lowest_number}.*--from"):
        export_blocks(joined, out, 0, None)
    assert out.getvalue() == b""
    assert export_blocks(joined, out, joined.lowest_number, None).blocks == 1


def test_a_warp_synced_node_takes_the_justifications_peers_serve_without_blaming_them(tmp_path: Path) -> None:
    """Right after a warp, peers hand the node their latest justifications (`sync/justifications`), among them its
    warp target's own, whose source lies below the target where it holds no block: stale, so ignored, and no
    peer is penalised for it (each returns True: not invalid)."""
    served, joined = honest_warp(tmp_path)
    _, finality = following(joined, tmp_path)
    server = served.chain
    for n in range(joined.head.number + 1, server.head.number + 1):  # its children known: the target's set is too
        raw = server.db.get_block_bytes(server.db.canonical_hash(n) or b"")
        assert raw is not None and joined.import_block(raw, far_future_ms()).status == "best"
    for n in range(server.head.number, 0, -1):
        h = server.db.canonical_hash(n)
        assert h is not None
        for raw in server.db.justifications(h):
            assert finality.import_justification(raw, "honest"), Justification.decode(raw).link
