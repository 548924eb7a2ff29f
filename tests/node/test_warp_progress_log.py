"""What a warp sync logs while it has no peer (issue 53: "0 fragments verified" every 5 s): "warp sync: waiting for
peers (none connected)", at most every `NO_PEERS_EVERY_S`; progress lines only while a peer is connected; peers that
are all banned or resting are said to be so. The lines are taken at chosen clock readings (`progress_line(now)`), and
once from a real warp run that finds no peer."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest

from btt_chain.node import warp_sync
from btt_chain.node.warp_sync import NO_PEERS_EVERY_S, PROGRESS_INTERVAL_S, WarpFailed, WarpSync
from storage.memory import MemoryStore
from tests.support.fake_peers import PeerInfo
from tests.support.node_builder import devnet_genesis

GENESIS = devnet_genesis(3, epoch_slots=5)


@dataclass
class Peers:
    """The p2p host as the warp sees it: who is connected, and nothing answered."""

    connected: list[str] = field(default_factory=list)

    def peers(self) -> list[PeerInfo]:
        return [PeerInfo(p) for p in self.connected]


def new_sync(peers: Peers, said: list[str]) -> WarpSync:
    clock = lambda: GENESIS.spec.genesis_time_ms  # noqa: E731 - the chain's first moment: no age refusal
    return WarpSync(peers, MemoryStore(), GENESIS, None, 4, now_ms=clock,  # type: ignore[arg-type]
                    evidence_dir=None, say=said.append)


def lines_at(sync: WarpSync, times: range | list[float]) -> dict[float, str]:
    start = sync.stats.started
    out = {}
    for t in times:
        line = sync.progress_line(start + t)
        if line is not None:
            out[t] = line
    return out


def test_no_peers_is_said_as_such_and_rate_limited() -> None:
    peers = Peers()
    sync = new_sync(peers, [])
    got = lines_at(sync, range(5, 125, 5))  # every PROGRESS_INTERVAL_S for two minutes
    assert got == {5: "warp sync: waiting for peers (none connected), 5 s",
                   35: "warp sync: waiting for peers (none connected), 35 s",
                   65: "warp sync: waiting for peers (none connected), 65 s",
                   95: "warp sync: waiting for peers (none connected), 95 s"}
    assert (PROGRESS_INTERVAL_S, NO_PEERS_EVERY_S) == (5.0, 30.0)
    assert not any("fragments verified" in line for line in got.values())


def test_progress_only_while_peers_are_connected() -> None:
    peers = Peers()
    sync = new_sync(peers, [])
    assert "none connected" in (sync.progress_line(sync.stats.started + 5) or "")
    peers.connected.append("p1")
    sync.stats.phase = "proof"
    sync.stats.fragments = 2
    assert sync.progress_line(sync.stats.started + 10) == "warp sync: proof, 2 proof fragments verified, 10 s"
    assert sync.progress_line(sync.stats.started + 15) == "warp sync: proof, 2 proof fragments verified, 15 s"
    # the peers leave mid-warp: said at once (the quiet interval starts again), and what waits with it
    peers.connected.clear()
    assert sync.progress_line(sync.stats.started + 20) == ("warp sync: waiting for peers (none connected), 20 s; the "
                                                           "proof phase waits with it")
    assert sync.progress_line(sync.stats.started + 25) is None


def test_peers_that_are_all_banned_or_resting_are_said_to_be() -> None:
    peers = Peers(["p1", "p2"])
    sync = new_sync(peers, [])
    assert sync.progress_line(sync.stats.started + 5) == ("warp sync: waiting for peers (2 connected, none to ask "
                                                          "yet: banned or resting), 5 s")


def test_a_warp_run_with_no_peer_logs_that_it_waits_for_peers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(warp_sync, "PROGRESS_INTERVAL_S", 0.01)
    said: list[str] = []
    sync = new_sync(Peers(), said)
    with pytest.raises(WarpFailed, match="no peer to warp sync from"):
        asyncio.run(sync.run(limit_s=0.3))
    assert said and said[0].startswith("warp sync: waiting for peers (none connected), 0 s")
    assert len(said) == 1  # ~30 reports in 0.3 s: one line, the rest within NO_PEERS_EVERY_S
