"""Peer exchange (p2p/discovery.py): the wire format, and an answer treated as the untrusted input it is."""

from __future__ import annotations

import pytest

from btt_chain.primitives.codec import pack
from p2p import discovery
from p2p.errors import P2PError

PEER = "12D3KooWGzh8BTBvWXpLD3J8nN9GmWfTeLd4jhmaK6TnLWu6VUhx"


def peer(i: int) -> str:
    return PEER[:-4] + f"{i:04d}".replace("0", "z")


def test_request_round_trip_and_malformed_requests() -> None:
    assert discovery.decode_request(discovery.encode_request(30333)) == 30333
    for bad in (pack([2, 30333]), pack([1, 70000]), pack([1, "30333"]), pack([1]), b"\xff"):
        with pytest.raises(P2PError):
            discovery.decode_request(bad)


def test_response_round_trip() -> None:
    entries = [(peer(1), "/ip4/10.0.0.2/tcp/30333"), (peer(2), "/ip4/10.0.0.3/tcp/30333")]
    assert discovery.decode_response(discovery.encode_response(entries), False) == entries


@pytest.mark.parametrize("addr", [
    "/ip4/0.0.0.0/tcp/30333", "/ip4/224.0.0.1/tcp/30333", "/ip4/10.0.0.1/tcp/0", "/ip4/10.0.0.1/tcp/70000",
    "/ip4/300.1.1.1/tcp/1", "/dns4/example.com/tcp/1", "/ip4/10.0.0.1/udp/1", "/ip4/127.0.0.1/tcp/30333",
    "/ip4/10.0.0.1/tcp/1/p2p/x",
])
def test_an_answer_with_a_bad_address_is_dropped_whole(addr: str) -> None:
    answer = pack([1, [[peer(1), "/ip4/10.0.0.2/tcp/30333"], [peer(2), addr]]])
    with pytest.raises(P2PError, match="bad entry"):
        discovery.decode_response(answer, source_is_loopback=False)


def test_loopback_addresses_only_from_a_peer_on_loopback() -> None:
    answer = pack([1, [[peer(1), "/ip4/127.0.0.1/tcp/30334"]]])
    assert discovery.decode_response(answer, source_is_loopback=True) == [(peer(1), "/ip4/127.0.0.1/tcp/30334")]


def test_an_answer_over_the_cap_or_with_a_bad_peer_id_is_refused() -> None:
    many = [[peer(i), f"/ip4/10.0.0.{i + 1}/tcp/30333"] for i in range(discovery.MAX_ANSWER_ENTRIES + 1)]
    with pytest.raises(P2PError, match="entries"):
        discovery.decode_response(pack([1, many]), False)
    with pytest.raises(P2PError, match="bad entry"):
        discovery.decode_response(pack([1, [["not/a/peer", "/ip4/10.0.0.1/tcp/1"]]]), False)
    with pytest.raises(P2PError):
        discovery.decode_response(b"\x00" * (discovery.MAX_PEX_BYTES + 1), False)


def test_one_peer_cannot_fill_the_book() -> None:
    book = discovery.AddressBook(peer(0))
    added = 0
    for batch in range(10):
        entries = [(f"{PEER[:-8]}{batch:02d}{i:02d}".replace("0", "z") + "abcd", f"/ip4/10.1.{batch}.{i + 1}/tcp/1")
                   for i in range(16)]
        added += book.learn("mallory", entries)
    assert added == discovery.MAX_PER_SOURCE
    assert book.learn("honest", [(peer(9), "/ip4/10.0.0.9/tcp/30333")]) == 1
    book.forget_source("mallory")
    assert list(book.entries) == [peer(9)]


def test_our_own_id_is_never_learnt_and_failed_addresses_are_forgotten() -> None:
    now = [0.0]
    book = discovery.AddressBook(peer(0), clock=lambda: now[0])
    assert book.learn("p", [(peer(0), "/ip4/10.0.0.1/tcp/1"), (peer(1), "/ip4/10.0.0.2/tcp/1")]) == 1
    assert book.candidates(lambda p: False, 5) == [(peer(1), "/ip4/10.0.0.2/tcp/1")]
    book.dial_failed(peer(1))
    assert book.candidates(lambda p: False, 5) == []  # backing off
    now[0] = 1_000.0
    assert book.candidates(lambda p: False, 5) == [(peer(1), "/ip4/10.0.0.2/tcp/1")]
    for _ in range(discovery.MAX_FAILURES):
        book.dial_failed(peer(1))
    assert peer(1) not in book.entries


def test_peers_seen_work_stay_within_the_book() -> None:
    """Every inbound peer that asks for peers is learnt as seen work: one making up a fresh id per connection must
    not grow the book (or the peers file) past MAX_BOOK."""
    book = discovery.AddressBook(peer(0))
    book.learn("p", [(peer(1), "/ip4/10.0.0.2/tcp/1")])  # hearsay: the first to go from the candidates
    book.learn_verified(peer(2), "/ip4/10.0.0.3/tcp/1")
    for i in range(3, 3 + 2 * discovery.MAX_BOOK):
        book.learn_verified(peer(i), f"/ip4/10.1.{i // 256}.{i % 256}/tcp/1")
        assert len(book.verified) <= discovery.MAX_BOOK and len(book.entries) <= discovery.MAX_BOOK
    assert peer(1) not in book.entries and peer(2) not in book.verified  # the hearsay, and the longest unseen
    last = peer(2 + 2 * discovery.MAX_BOOK)
    assert book.verified[last] == book.entries[last].addr
    book.learn_verified(peer(2 + discovery.MAX_BOOK), "/ip4/10.9.9.9/tcp/1")  # seen again: kept, now the newest
    assert list(book.verified)[-1] == peer(2 + discovery.MAX_BOOK)
    assert len(book.to_save()) <= discovery.MAX_BOOK


def test_answers_list_only_verified_connected_peers_and_never_the_asker() -> None:
    book = discovery.AddressBook(peer(0))
    book.learn("p", [(peer(3), "/ip4/10.0.0.4/tcp/1")])  # hearsay: never repeated to others
    book.learn_verified(peer(1), "/ip4/10.0.0.2/tcp/30333")
    book.learn_verified(peer(2), "/ip4/10.0.0.3/tcp/30333")
    assert book.answer([peer(1), peer(2), peer(3)], asker=peer(2)) == [(peer(1), "/ip4/10.0.0.2/tcp/30333")]
    assert book.answer([peer(2)], asker=peer(1)) == [(peer(2), "/ip4/10.0.0.3/tcp/30333")]


def test_with_port_keeps_the_observed_ip() -> None:
    assert discovery.with_port("/ip4/10.0.0.7/tcp/51234", 30333) == "/ip4/10.0.0.7/tcp/30333"
    assert discovery.with_port("/ip6/::1/tcp/5", 30333) is None
