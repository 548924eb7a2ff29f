"""Warp sync that cannot be captured (issue 49, finding 6), in one process over the warp tests' stand-in network.

The attack: a long-range fork from genesis, every epoch justified by the genesis validators' keys (keys that have
since unbonded or leaked), longer than the real chain, served by the first peer in the list. Its proof verifies
from genesis like the real one, so a warp that takes the first proof is captured. Now every connected peer is asked
and the proofs compared: a fork served next to the real chain is refused with both proofs kept and one ERROR line,
nobody banned; a liar is banned and the warp finishes on the honest chain; two honest servers at different heights
agree. And a warp from genesis (or from a trusted checkpoint) older than the warp's max gap is refused before a
peer is asked, with what to pass instead.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from btt_chain.consensus.warp import (
    Relation,
    WarpProgress,
    WarpProof,
    compute_clock_epoch,
    genesis_trust,
    is_within_weak_subjectivity_period,
    relate_proofs,
    verify_proof_part,
)
from btt_chain.node.chain import Chain
from btt_chain.node.warp_serve import PLAN_PROTOCOL, STATE_PROTOCOL, WARP_PROTOCOL, WarpServer
from btt_chain.node.warp_start import warp_exit_code
from btt_chain.node.warp_sync import WarpConflict, WarpFailed
from btt_chain.primitives.codec import unpack
from btt_chain.primitives.vote import Checkpoint
from genesis.spec import TrustedCheckpoint
from storage.memory import MemoryStore
from tests.node.test_warp_sync import (
    GAP,
    Net,
    Served,
    assert_same_state,
    finalized_chain,
    forge_signature,
    lying,
    new_sync,
    swap_set,
)

FORK = "forger"
HONEST = "honest"


def serve_as(net: Net, peer: str, served: Served, server: WarpServer | None = None) -> dict[str, int]:
    """`peer` serves `served`'s chain as a node of that chain does (with `server`, another gap); the count of the
    warp proof requests it is asked is returned (live)."""
    s = server or served.server
    count = {"proofs": 0}

    async def warp_proof(who: str, data: bytes) -> bytes:
        count["proofs"] += 1
        return await s.serve_warp(who, data)

    async def block(who: str, data: bytes) -> bytes:
        (h,) = unpack(data)
        return served.chain.db.get_block_bytes(h) or b""

    net.handlers[peer] = {WARP_PROTOCOL: warp_proof, PLAN_PROTOCOL: s.serve_plan, STATE_PROTOCOL: s.serve_state,
                          "sync/block": block}
    return count


def finalized(served: Served) -> Checkpoint:
    assert served.node.finality is not None
    return served.node.finality.tracker.state.finalized


def fork_beside(tmp_path: Path, epochs: int = 15, fork_gap: int = GAP) -> tuple[Served, Served, Net, MemoryStore]:
    """The real chain (12 epochs) and a longer fork of it from genesis signed by the same genesis keys, the fork's
    server first in the peer list and the real one second."""
    real = finalized_chain(tmp_path / "real")
    fork = finalized_chain(tmp_path / "fork", epochs=epochs, salt=7)
    assert finalized(fork).epoch > finalized(real).epoch and fork.chain.finalized_hash != real.chain.finalized_hash
    net = Net(real)
    serve_as(net, FORK, fork, WarpServer(fork.node, fork_gap))  # type: ignore[arg-type]
    serve_as(net, HONEST, real)
    return real, fork, net, MemoryStore()


def reverify(proof: dict[str, object], real: Served) -> Checkpoint:
    """Verify a kept proof again from genesis, part by part, as anyone holding the file can: its finalized end."""
    g = real.genesis
    progress = WarpProgress(genesis_trust(g.hash, g.block.header.state_root, g.state))
    parts = proof["parts"]
    assert isinstance(parts, list) and parts
    for part in parts:
        raw = bytes.fromhex(part["response"][2:])
        progress = verify_proof_part(progress, WarpProof.decode(raw), g.hash, g.spec.consensus.epoch_slots, GAP)
    assert progress.finalized
    return progress.trusted.checkpoint


@pytest.mark.parametrize("fork_gap", [GAP, 3], ids=["same epochs named", "epochs stepped over"])
def test_a_long_range_fork_served_first_is_refused_and_both_proofs_are_kept(tmp_path: Path, fork_gap: int,
                                                                           caplog: pytest.LogCaptureFixture) -> None:
    """Both proofs verify from genesis. With the same gap both name a block for the same epochs, differently; with
    the fork's server stepping 3 epochs at a time they share none, so the fork's peer is asked to prove from the real
    chain's finalized checkpoint and cannot. Either way: refused, both kept, one ERROR line, nobody banned, nothing
    written, and the warp process's exit code is 1 with no further line."""
    real, fork, net, kv = fork_beside(tmp_path, fork_gap=fork_gap)
    evidence = tmp_path / "base" / "chains" / "devnet"
    sync = new_sync(real, net, kv, evidence=evidence)
    with caplog.at_level(logging.INFO, logger="btt.warp"):
        code = warp_exit_code(lambda: sync.run(limit_s=30))
    assert code == 1

    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, errors
    line = errors[0]
    ours, theirs = finalized(real), finalized(fork)
    for peer, cp in ((HONEST, ours), (FORK, theirs)):
        assert f"peer {peer} at epoch {cp.epoch} block #" in line and cp.block_hash.hex() in line, line
    assert "--checkpoint HASH@NUMBER" in line and "source you trust" in line
    why = "name different blocks for epoch" if fork_gap == GAP else "cannot prove from that checkpoint"
    assert why in line, line
    kept = re.search(r"kept in (\S+);", line)
    assert kept, line
    path = Path(kept.group(1))
    assert path.parent == evidence and path.name.startswith("warp-conflict-") and path.suffix == ".json"

    doc = json.loads(path.read_text())
    assert doc["genesis"] == "0x" + real.genesis.hash.hex() and doc["start"] == "genesis"
    assert sorted(p["peer"] for p in doc["proofs"]) == [FORK, HONEST]
    ends = {p["peer"]: reverify(p, real) for p in doc["proofs"]}  # both verify: evidence anyone can check
    assert ends == {HONEST: ours, FORK: theirs}

    assert net.banned == {} and net.penalties == []  # either may be the honest one
    assert list(kv.iterate()) == []  # refused before anything is written

    with pytest.raises(WarpConflict):  # the same in-process: the exception carries the line
        asyncio.run(new_sync(real, net, MemoryStore(), evidence=evidence).run(limit_s=30))
    assert len(list(evidence.glob("warp-conflict-*.json"))) == 2  # a second conflict never overwrites the first


def test_two_honest_servers_at_different_heights_agree_and_the_warp_completes(tmp_path: Path) -> None:
    """One server lags (finalized at an epoch the other's proof steps over): the one ahead is asked to prove from
    the lagging one's checkpoint, does, and the warp takes the higher finalized block. Nobody is banned."""
    ahead = finalized_chain(tmp_path / "ahead")
    behind = finalized_chain(tmp_path / "behind", epochs=11)
    low, high = finalized(behind), finalized(ahead)
    assert low.epoch < high.epoch
    assert ahead.chain.db.canonical_hash(behind.chain.finalized.number) == behind.chain.finalized_hash  # one chain
    net = Net(ahead)
    serve_as(net, "behind", behind)
    asked = serve_as(net, "ahead", ahead)
    kv = MemoryStore()
    asyncio.run(new_sync(ahead, net, kv, evidence=tmp_path / "evidence").run(limit_s=30))
    joined = Chain(kv, ahead.genesis)
    assert joined.head_hash == high.block_hash
    assert_same_state(ahead, joined)
    assert asked["proofs"] >= 2  # its own proof, then the proof from the lagging server's checkpoint
    assert net.banned == {} and net.penalties == []
    assert not (tmp_path / "evidence").exists()


def test_a_peer_that_lies_proving_from_the_lower_checkpoint_is_banned_and_its_proof_dropped(tmp_path: Path) -> None:
    """The peer ahead proves honestly from genesis, then forges a signature in its proof from the lagging peer's
    checkpoint: a provable lie, so it is banned, its first proof is not taken either, and the warp ends at the other
    peer's finalized block."""
    ahead = finalized_chain(tmp_path / "ahead")
    behind = finalized_chain(tmp_path / "behind", epochs=11)
    net = Net(ahead)
    serve_as(net, "behind", behind)
    serve_as(net, "ahead", ahead)
    honest_answer = net.handlers["ahead"][WARP_PROTOCOL]

    async def lies_when_continuing(who: str, data: bytes) -> bytes:
        raw = await honest_answer(who, data)
        return raw if unpack(data)[1] == 0 else forge_signature(raw)

    net.handlers["ahead"][WARP_PROTOCOL] = lies_when_continuing
    kv = MemoryStore()
    asyncio.run(new_sync(behind, net, kv).run(limit_s=30))
    assert set(net.banned) == {"ahead"}
    joined = Chain(kv, behind.genesis)
    assert joined.head_hash == behind.chain.finalized_hash
    assert_same_state(behind, joined)


def test_a_higher_peer_silent_on_the_lower_checkpoint_leaves_the_proofs_unreconciled(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A peer whose proof ends higher but that gives no proof from the lower peer's checkpoint (asked three times)
    has not shown it on its chain: the warp does not take its word (a fork's server could stay silent just so), the
    two proofs are kept, nobody is banned."""
    import btt_chain.node.warp_sync as ws
    from p2p import P2PError

    monkeypatch.setattr(ws, "SETTLE_RETRY_S", 0.01)
    ahead = finalized_chain(tmp_path / "ahead")
    behind = finalized_chain(tmp_path / "behind", epochs=11)
    net = Net(ahead)
    serve_as(net, "behind", behind)
    serve_as(net, "ahead", ahead)
    honest_answer = net.handlers["ahead"][WARP_PROTOCOL]
    silent = [0]

    async def silent_when_continuing(who: str, data: bytes) -> bytes:
        if unpack(data)[1] != 0:
            silent[0] += 1
            raise P2PError("stream reset")
        return await honest_answer(who, data)

    net.handlers["ahead"][WARP_PROTOCOL] = silent_when_continuing
    with pytest.raises(WarpConflict, match=r"from the lower checkpoint, gave no answer \(3 times\): not shown on one"):
        asyncio.run(new_sync(ahead, net, MemoryStore(), evidence=tmp_path / "evidence").run(limit_s=30))
    assert silent[0] == ws.SETTLE_ATTEMPTS and net.banned == {}
    assert len(list((tmp_path / "evidence").glob("warp-conflict-*.json"))) == 1


def test_liars_are_banned_and_the_warp_completes_on_the_honest_chain(tmp_path: Path) -> None:
    served = finalized_chain(tmp_path)
    net = Net(served)
    lying(net, "forged", WARP_PROTOCOL, forge_signature)
    lying(net, "swapped", WARP_PROTOCOL, swap_set)
    net.honest(HONEST)
    kv = MemoryStore()
    asyncio.run(new_sync(served, net, kv, evidence=tmp_path / "evidence").run(limit_s=30))
    joined = Chain(kv, served.genesis)
    assert joined.head_hash == served.chain.finalized_hash
    assert_same_state(served, joined)
    assert set(net.banned) == {"forged", "swapped"}
    assert not (tmp_path / "evidence").exists()


def checkpoint_of(served: Served, epoch: int) -> tuple[TrustedCheckpoint, int]:
    """The trusted checkpoint of `epoch` on `served`'s chain, and the epoch its block's slot opens."""
    asyncio.run(served.server._ensure_index())
    h = served.server.checkpoint_hash(epoch)
    header = None if h is None else served.chain.db.get_header(h)
    assert h is not None and header is not None
    return TrustedCheckpoint(h, header.number), header.slot // served.genesis.spec.consensus.epoch_slots + 1


def test_a_warp_from_a_start_older_than_the_max_gap_is_refused_and_a_recent_checkpoint_passes(tmp_path: Path) -> None:
    """From genesis: refused once the clock is past epoch GAP, before any peer is asked; at GAP exactly it goes on.
    A trusted checkpoint moves the start: the same clock passes with a recent one, and one more than GAP epochs
    old is refused as soon as a peer has given its block (whose slot fixes its epoch), nothing written, nobody
    banned."""
    served = finalized_chain(tmp_path)
    net = Net(served)
    net.honest(HONEST)
    kv = MemoryStore()
    with pytest.raises(WarpFailed, match=rf"--sync warp from genesis is refused: the local clock is in epoch "
                                         rf"{GAP + 1} .*more than the warp's max gap of {GAP} epochs.*--checkpoint"):
        asyncio.run(new_sync(served, net, kv, clock_epoch=GAP + 1).run(limit_s=30))
    assert net.asked == {} and list(kv.iterate()) == []

    checkpoint, opens = checkpoint_of(served, 6)
    clock = opens + GAP
    assert clock > GAP  # from genesis this clock is refused
    asyncio.run(new_sync(served, net, kv, checkpoint, clock_epoch=clock).run(limit_s=30))
    assert Chain(kv, served.genesis).head_hash == served.chain.finalized_hash

    old = MemoryStore()
    with pytest.raises(WarpFailed, match=rf"from the trusted checkpoint {checkpoint} is refused: .* "
                                         rf"{GAP + 1} epochs after epoch {opens}"):
        asyncio.run(new_sync(served, net, old, checkpoint, clock_epoch=clock + 1).run(limit_s=30))
    assert list(old.iterate()) == [] and net.banned == {}

    boundary = MemoryStore()  # GAP epochs after genesis is still within the period
    asyncio.run(new_sync(served, net, boundary, clock_epoch=GAP).run(limit_s=30))
    assert Chain(boundary, served.genesis).head_hash == served.chain.finalized_hash


def test_a_release_spec_carrying_the_finalized_checkpoint_is_a_warp_start(tmp_path: Path) -> None:
    """What a release does: put a trusted node's finalized checkpoint (`btt_finality`'s `finalized`: an epoch's
    checkpoint block, as a warp start must be) into the chain spec as "0xHASH@NUMBER". The genesis hash stays, and a
    warp from the spec's checkpoint ends at it, whatever the genesis's age."""
    from genesis.build import build_genesis
    from genesis.devnet import devnet_spec_doc
    from genesis.loader import parse_chain_spec
    from tests.node.test_warp_sync import E
    from tests.support.node_builder import GENESIS_TIME_MS

    served = finalized_chain(tmp_path)
    head = served.chain.finalized
    doc = devnet_spec_doc(3, GENESIS_TIME_MS, E)
    doc["checkpoint"] = f"0x{served.chain.finalized_hash.hex()}@{head.number}"
    spec = parse_chain_spec(doc)
    assert spec.checkpoint is not None and build_genesis(spec).hash == served.genesis.hash
    net = Net(served)
    net.honest(HONEST)
    kv = MemoryStore()
    _, opens = checkpoint_of(served, finalized(served).epoch)
    asyncio.run(new_sync(served, net, kv, spec.checkpoint, clock_epoch=opens + GAP).run(limit_s=30))
    joined = Chain(kv, served.genesis)
    assert joined.head_hash == served.chain.finalized_hash and joined.db.warp_trust() == (head.number,
                                                                                          spec.checkpoint.hash)


def test_the_pure_rules() -> None:
    assert compute_clock_epoch(1_000, 2_000, 1_000, 5) == 0  # before genesis
    assert compute_clock_epoch(2_000 + 5 * 1_000 * 7 + 4_999, 2_000, 1_000, 5) == 7
    assert is_within_weak_subjectivity_period(10, 6, 4) and not is_within_weak_subjectivity_period(11, 6, 4)

    def cp(epoch: int, tag: int) -> Checkpoint:
        return Checkpoint(epoch, bytes([tag]) * 32)

    g = cp(0, 0)
    assert relate_proofs([g, cp(4, 1), cp(8, 2)], [g, cp(4, 1), cp(8, 2), cp(10, 3)])[0] is Relation.SAME_CHAIN
    assert relate_proofs([g, cp(4, 1), cp(8, 2)], [g, cp(4, 1), cp(8, 2)])[0] is Relation.SAME_CHAIN
    relation, why = relate_proofs([g, cp(4, 1), cp(8, 2)], [g, cp(4, 9), cp(8, 9), cp(12, 9)])
    assert relation is Relation.CONFLICT and "epoch 4" in why
    assert relate_proofs([g, cp(4, 1), cp(9, 2)], [g, cp(4, 9), cp(9, 3)])[0] is Relation.CONFLICT  # same end epoch
    assert relate_proofs([g, cp(4, 1), cp(9, 2)], [g, cp(4, 1), cp(8, 5), cp(12, 6)])[0] is Relation.UNKNOWN
    with pytest.raises(ValueError):
        relate_proofs([g, cp(12, 1)], [g, cp(8, 1)])  # the lower-ending one goes first


def old_spec(tmp_path: Path, age_days: int, checkpoint: str | None = None) -> Path:
    from genesis.devnet import devnet_spec_doc
    from genesis.loader import canonical_json

    doc = devnet_spec_doc(2, int(time.time() * 1000) - age_days * 86_400_000, 5)
    if checkpoint is not None:
        doc["checkpoint"] = checkpoint
    path = tmp_path / f"spec-{age_days}-{checkpoint is not None}.json"
    path.write_bytes(canonical_json(doc))
    return path


def test_a_node_refuses_a_warp_from_genesis_on_an_old_chain_in_one_line_before_writing(tmp_path: Path) -> None:
    """`btt-chain node --sync warp` on a chain older than the warp's max gap (the dev preset's 28-day unbonding: 14
    days), with no trusted checkpoint: one `error:` line saying how both figures are computed and what to pass, and
    no base path made. A young chain, `--checkpoint` or a spec carrying one passes the check (`warp_needed`)."""
    from btt_chain.node.service import NodeConfig
    from btt_chain.node.warp_start import warp_needed
    from btt_chain.primitives.errors import ConfigError
    from tests.functional.framework import REPO, free_port
    from tests.support.wait_limits import scaled

    spec = old_spec(tmp_path, 15)
    base = tmp_path / "node"
    done = subprocess.run([sys.executable, "-m", "cli", "node", "--chain", str(spec), "--base-path", str(base),
                           "--sync", "warp", "--port", str(free_port()), "--rpc-port", str(free_port()),
                           "--prometheus-port", str(free_port())], cwd=REPO, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=scaled(120), stdin=subprocess.DEVNULL)
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert done.returncode == 1 and len(lines) == 1, lines
    assert re.fullmatch(r"error: --sync warp from genesis is refused: the local clock is in epoch \d+ \(\(now - the "
                        r"spec's genesis time\) / 1000 ms a slot / 5 slots an epoch\), \d+ epochs after epoch 0 .* "
                        r"max gap of 241920 epochs \(half the unbonding period.*--checkpoint HASH@NUMBER.*"
                        r'a chain spec carrying a recent "checkpoint"', lines[0]), lines[0]
    assert not base.exists(), "the node wrote its data before it refused the warp"

    def config(spec_path: Path, checkpoint: TrustedCheckpoint | None = None) -> NodeConfig:
        return NodeConfig(chain=str(spec_path), base_path=base, tmp=False, validator_key=None, p2p_port=free_port(),
                          checkpoint=checkpoint)

    with pytest.raises(ConfigError, match="from genesis is refused"):
        warp_needed(config(spec))
    given = TrustedCheckpoint(b"\x01" * 32, 1_000)
    assert warp_needed(config(spec, given))  # its own age is checked once a peer gives its block
    assert warp_needed(config(old_spec(tmp_path, 15, f"{given}")))  # a release's spec carrying a checkpoint
    assert warp_needed(config(old_spec(tmp_path, 13)))  # younger than the max gap
    assert not base.exists()
