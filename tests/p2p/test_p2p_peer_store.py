"""Saved peers (p2p/peer_store.py): a node with no bootnodes of its own dials the peers it knew before a restart;
the file is read as untrusted input, and what it offers is dialed, forgotten and told like any learnt address."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from p2p import discovery
from p2p.peer_store import load_peers, save_peers
from tests.p2p.harness import Net, assert_stays, bootnode, peer_ids, wait_until
from tests.p2p.test_p2p_discovery import peer


def test_saved_peers_round_trip_and_a_missing_file_is_no_peers(tmp_path: Path) -> None:
    path = tmp_path / "network" / "peers.json"
    assert load_peers(path) == []
    peers = [(peer(2), "/ip4/10.0.0.3/tcp/30333"), (peer(1), "/ip4/127.0.0.1/tcp/30334")]
    save_peers(path, peers)
    assert load_peers(path) == sorted(peers)
    assert not path.with_name("peers.json.tmp").exists()


@pytest.mark.parametrize("content", [
    b"\xff\xfe not json", b"[]", b'{"version": 2, "peers": []}', b'{"version": 1, "peers": {}}', b"",
])
def test_an_unusable_file_is_skipped_with_a_warning(
    tmp_path: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "peers.json"
    path.write_bytes(content)
    with caplog.at_level(logging.WARNING, "btt.p2p"):
        assert load_peers(path) == []
    assert "starting without them" in caplog.text


def test_malformed_entries_are_skipped_and_the_rest_kept(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    good = [peer(1), "/ip4/10.0.0.2/tcp/30333"]
    bad = [
        [peer(2)], [peer(3), "/ip4/0.0.0.0/tcp/1"], [peer(4), "/dns4/example.com/tcp/1"], ["not a peer id", good[1]],
        [peer(5), 30333], "text", None, [peer(6), "/ip4/10.0.0.6/tcp/70000"],
    ]
    path = tmp_path / "peers.json"
    path.write_text(json.dumps({"version": 1, "peers": [*bad, good]}))
    with caplog.at_level(logging.WARNING, "btt.p2p"):
        assert load_peers(path) == [tuple(good)]
    assert f"skipped {len(bad)} malformed entries" in caplog.text


def test_at_most_a_book_of_entries_is_read(tmp_path: Path) -> None:
    path = tmp_path / "peers.json"
    many = [[f"{peer(0)[:-6]}{i:06d}".replace("0", "z"), f"/ip4/10.{i // 250}.{i % 250}.1/tcp/1"]
            for i in range(discovery.MAX_BOOK + 50)]
    path.write_text(json.dumps({"version": 1, "peers": many}))
    assert len(load_peers(path)) == discovery.MAX_BOOK


def test_restored_addresses_are_dial_candidates_forgotten_after_failed_dials_and_not_told() -> None:
    now = [0.0]
    book = discovery.AddressBook(peer(0), clock=lambda: now[0])
    saved = [(peer(0), "/ip4/10.0.0.1/tcp/1"), (peer(1), "/ip4/10.0.0.2/tcp/1"), (peer(2), "/ip4/10.0.0.3/tcp/1")]
    assert book.restore(saved) == 2  # never ourselves
    assert sorted(book.candidates(lambda p: False, 5)) == saved[1:]
    assert book.answer([peer(1), peer(2)], peer(9)) == []  # not told to others until they work again
    assert book.to_save() == saved[1:]  # kept across another restart meanwhile
    book.learn_verified(peer(1), "/ip4/10.0.0.22/tcp/2")  # it worked, at a new address
    assert book.answer([peer(1)], peer(9)) == [(peer(1), "/ip4/10.0.0.22/tcp/2")]
    for _ in range(discovery.MAX_FAILURES):
        now[0] += 1_000.0
        book.dial_failed(peer(2))
    assert peer(2) not in book.entries
    assert book.to_save() == [(peer(1), "/ip4/10.0.0.22/tcp/2")]


async def test_a_node_without_bootnodes_dials_the_peers_it_saved_before_a_restart(net: Net, tmp_path: Path) -> None:
    peers_file = tmp_path / "a" / "peers.json"
    b = net.service("b")
    a = net.service("a", (bootnode(b),), peers_file=peers_file)
    await b.start()
    await a.start()
    await wait_until(lambda: b.local_peer_id in peer_ids(a), what="a connected to its bootnode")
    await wait_until(lambda: load_peers(peers_file) == [(b.local_peer_id, bootnode(b).split("/p2p/")[0])],
                     what="b's address saved")
    await a.stop()
    await wait_until(lambda: not peer_ids(b), what="b saw a go")

    # the same node (same key), no bootnodes: without the file it would know nobody and b would not dial it
    again = net.service("a", (), peers_file=peers_file)
    assert again.local_peer_id == a.local_peer_id
    await again.start()
    await wait_until(lambda: b.local_peer_id in peer_ids(again), what="a redialed b from its saved peers")


async def test_a_node_without_saved_peers_or_bootnodes_stays_alone_and_a_garbage_file_does_not_stop_it(
    net: Net, tmp_path: Path
) -> None:
    b = net.service("b")
    peers_file = tmp_path / "peers.json"
    peers_file.write_bytes(b"\x00garbage")
    a = net.service("a", (), peers_file=peers_file)
    await b.start()
    await a.start()
    await assert_stays(lambda: not peer_ids(a) and not peer_ids(b), 2.0, "nobody to dial")
