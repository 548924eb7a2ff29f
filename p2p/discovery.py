"""Peer exchange: how a node given one bootnode finds the rest (`/btt/<genesis16>/peers/1`).

A node asks a connected peer for addresses; the request carries the TCP port it listens on, the answer lists up
to `MAX_ANSWER_ENTRIES` (peer id, /ip4/HOST/tcp/PORT) of the answerer's connected peers. The node dials learnt
peers while it has fewer than `out_peers` outbound connections.

What an answer may say is untrusted input, so:
- an answerer lists only addresses it has itself seen work: ones it dialed, or a peer's own listening port at
  the IP that peer's connection came from (so nobody can make us announce a third party's address);
- an answer over `MAX_ANSWER_ENTRIES`, or with a malformed entry, is dropped whole; addresses must be
  `/ip4/A.B.C.D/tcp/PORT`, not unspecified or multicast, and loopback only from a peer that is itself on loopback;
- one peer's answers can hold at most `MAX_PER_SOURCE` entries of the book (of `MAX_BOOK`), so one peer cannot
  fill it; entries that fail `MAX_FAILURES` dials are forgotten; the dialer picks at random, not in book order.
Dialing a learnt address is safe against a wrong peer id: the Noise handshake checks it.

Wire (strict canonical msgpack, see btt_chain.primitives.codec):
- request:  [1, listen_port]                      (0: not listening for peers)
- response: [1, [[peer_id, multiaddr], ...]]      (at most 16 entries)
"""

from __future__ import annotations

import ipaddress
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from btt_chain.primitives.codec import pack, unpack
from btt_chain.primitives.errors import DecodeError
from p2p.errors import P2PError

PEX_PROTOCOL_NAME = "peers"
PEX_VERSION = 1
MAX_ANSWER_ENTRIES = 16
MAX_BOOK = 512
MAX_PER_SOURCE = 32
MAX_FAILURES = 3
MAX_PEX_BYTES = 4096
RETRY_BASE_S = 5.0
SAVED = "saved"
"""The source of an address read back from the peers file: not a peer id, so it shares no per-source cap."""
_PEER_ID_RE = re.compile(r"[1-9A-HJ-NP-Za-km-z]{32,64}")
_ADDR_RE = re.compile(r"/ip4/([0-9.]{7,15})/tcp/([0-9]{1,5})")


def encode_request(listen_port: int) -> bytes:
    return pack([PEX_VERSION, listen_port])


def decode_request(data: bytes) -> int:
    """The asker's listening port (0: none); P2PError if malformed."""
    try:
        value = unpack(data, MAX_PEX_BYTES)
    except DecodeError as exc:
        raise P2PError(f"malformed peers request: {exc}") from None
    if (not isinstance(value, list) or len(value) != 2 or value[0] != PEX_VERSION or not isinstance(value[1], int)
            or isinstance(value[1], bool) or not 0 <= value[1] <= 65535):
        raise P2PError("malformed peers request")
    return int(value[1])


def encode_response(entries: list[tuple[str, str]]) -> bytes:
    return pack([PEX_VERSION, [[peer, addr] for peer, addr in entries[:MAX_ANSWER_ENTRIES]]])


def parse_ip4_tcp(addr: str) -> tuple[ipaddress.IPv4Address, int] | None:
    """(ip, port) of `/ip4/A.B.C.D/tcp/PORT`, or None."""
    m = _ADDR_RE.fullmatch(addr)
    if m is None:
        return None
    try:
        ip = ipaddress.IPv4Address(m.group(1))
    except ValueError:
        return None
    port = int(m.group(2))
    if not 0 < port < 65536:
        return None
    return ip, port


def is_acceptable_address(addr: str, source_is_loopback: bool) -> bool:
    parsed = parse_ip4_tcp(addr)
    if parsed is None:
        return False
    ip, _ = parsed
    if ip.is_unspecified or ip.is_multicast or ip.is_reserved or ip == ipaddress.IPv4Address("255.255.255.255"):
        return False
    return not ip.is_loopback or source_is_loopback


def decode_response(data: bytes, source_is_loopback: bool) -> list[tuple[str, str]]:
    """The entries of an answer; P2PError if the answer is malformed or too long (then none is used)."""
    try:
        value = unpack(data, MAX_PEX_BYTES)
    except DecodeError as exc:
        raise P2PError(f"malformed peers answer: {exc}") from None
    if not isinstance(value, list) or len(value) != 2 or value[0] != PEX_VERSION or not isinstance(value[1], list):
        raise P2PError("malformed peers answer")
    if len(value[1]) > MAX_ANSWER_ENTRIES:
        raise P2PError(f"peers answer with {len(value[1])} entries (at most {MAX_ANSWER_ENTRIES})")
    entries = []
    for entry in value[1]:
        if (not isinstance(entry, list) or len(entry) != 2 or not isinstance(entry[0], str)
                or not isinstance(entry[1], str) or not is_peer_id(entry[0])
                or not is_acceptable_address(entry[1], source_is_loopback)):
            raise P2PError(f"peers answer has a bad entry {str(entry)[:120]!r}")
        entries.append((entry[0], entry[1]))
    return entries


def is_peer_id(text: str) -> bool:
    return _PEER_ID_RE.fullmatch(text) is not None


def with_port(observed: str, port: int) -> str | None:
    """`/ip4/IP/tcp/<port>` from an observed connection address `/ip4/IP/tcp/<ephemeral>`."""
    parsed = parse_ip4_tcp(observed)
    if parsed is None or not 0 < port < 65536:
        return None
    return f"/ip4/{parsed[0]}/tcp/{port}"


@dataclass
class Entry:
    addr: str
    source: str
    """Peer id that told us, "" when we saw it work ourselves (dialed it, or its own ask), or SAVED when an
    earlier run of this node saw it work (p2p/peer_store.py)."""
    failures: int = 0
    next_try: float = 0.0


class AddressBook:
    """Addresses of peers we may dial; used only on the trio thread."""

    def __init__(self, own_peer_id: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.own = own_peer_id
        self.clock = clock
        self.entries: dict[str, Entry] = {}
        self.verified: dict[str, str] = {}
        """Peer id -> an address we have seen work: what we tell others."""

    def learn_verified(self, peer: str, addr: str) -> None:
        """An address seen work (we dialed it, or the peer asked from it). Both maps stay within MAX_BOOK: every
        inbound peer that asks is learnt here, and one making up a fresh id per connection would otherwise grow
        them, and the peers file, without bound. The verified address seen longest ago goes first; for the dial
        candidate, an entry heard from others before one seen work."""
        if peer == self.own:
            return
        self.verified.pop(peer, None)
        self.verified[peer] = addr
        while len(self.verified) > MAX_BOOK:
            del self.verified[next(iter(self.verified))]
        if peer not in self.entries and len(self.entries) >= MAX_BOOK:
            victim = next((p for p, e in self.entries.items() if e.source), next(iter(self.entries)))
            del self.entries[victim]
        self.entries[peer] = Entry(addr, "")

    def restore(self, saved: list[tuple[str, str]]) -> int:
        """Add the addresses an earlier run saw work as dial candidates (not yet told to others: they may be stale
        now); forgotten after MAX_FAILURES failed dials like learnt ones. The number added."""
        added = 0
        for peer, addr in saved:
            if peer == self.own or peer in self.entries or len(self.entries) >= MAX_BOOK:
                continue
            self.entries[peer] = Entry(addr, SAVED)
            added += 1
        return added

    def to_save(self) -> list[tuple[str, str]]:
        """What the peers file should hold: addresses seen work in this run, and those read back from the file
        that have not failed MAX_FAILURES dials since (a node restarted twice before reconnecting keeps them)."""
        peers = dict(self.verified)
        for peer, entry in self.entries.items():
            if entry.source == SAVED:
                peers.setdefault(peer, entry.addr)
        return sorted(peers.items())

    def learn(self, source: str, entries: list[tuple[str, str]]) -> int:
        """Add what `source` told us (at most MAX_PER_SOURCE entries from it in the book); the number added."""
        added = 0
        held = sum(1 for e in self.entries.values() if e.source == source)
        for peer, addr in entries:
            if peer == self.own or peer in self.entries or held >= MAX_PER_SOURCE or len(self.entries) >= MAX_BOOK:
                continue
            self.entries[peer] = Entry(addr, source)
            held += 1
            added += 1
        return added

    def forget_source(self, source: str) -> None:
        """Drop what a banned peer told us."""
        for peer in [p for p, e in self.entries.items() if e.source == source]:
            del self.entries[peer]

    def dial_failed(self, peer: str) -> None:
        entry = self.entries.get(peer)
        if entry is None:
            return
        entry.failures += 1
        if entry.failures >= MAX_FAILURES and entry.source:
            del self.entries[peer]
            return
        entry.next_try = self.clock() + RETRY_BASE_S * 2 ** min(entry.failures, 6)

    def dial_succeeded(self, peer: str) -> None:
        entry = self.entries.get(peer)
        if entry is not None:
            entry.failures, entry.next_try = 0, 0.0

    def candidates(self, skip: Callable[[str], bool], count: int) -> list[tuple[str, str]]:
        """Up to `count` (peer, addr) to dial now, in random order."""
        now = self.clock()
        ready = [(p, e.addr) for p, e in self.entries.items() if e.next_try <= now and not skip(p)]
        random.shuffle(ready)
        return ready[:count]

    def answer(self, connected: list[str], asker: str) -> list[tuple[str, str]]:
        """What we tell `asker`: verified addresses of peers connected now, at most MAX_ANSWER_ENTRIES, random."""
        known = [(p, self.verified[p]) for p in connected if p in self.verified and p != asker]
        random.shuffle(known)
        return known[:MAX_ANSWER_ENTRIES]
