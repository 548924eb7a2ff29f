"""The peers a node has seen work, kept in its data directory so that a restart dials them again.

Without it a node with no bootnodes of its own (the network's first bootnode, typically) comes back from a
restart knowing nobody: it waits for others to dial it, and they do not while they have their outbound peers
(CometBFT keeps `addrbook.json` for the same reason). The file holds the addresses this node dialed or saw a
peer's own connection come from (`AddressBook.verified`); on start they are dial candidates like addresses
learnt by peer exchange: dialed while outbound slots are free, forgotten after `discovery.MAX_FAILURES` failed
dials, and told to others only once they have worked again.

The file is our own but is read as untrusted input: a malformed file (not JSON, nested too deeply for the parser,
over `MAX_PEERS_FILE_BYTES`, the wrong shape), entry or address is skipped with one warning, never a failed
start; at most `discovery.MAX_BOOK` entries are read. Written whole to a temporary file and renamed, so a crash
mid-write leaves the previous version.

Format: {"version": 1, "peers": [[peer_id, "/ip4/A.B.C.D/tcp/PORT"], ...]}
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from p2p import discovery

log = logging.getLogger("btt.p2p")

PEERS_FILE_VERSION = 1
MAX_PEERS_FILE_BYTES = 1 << 20
"""A full book (MAX_BOOK entries of about 100 bytes) is some 60 KB; a larger file is not one we wrote."""


def load_peers(path: Path) -> list[tuple[str, str]]:
    """The (peer id, address) entries saved at `path`; [] when there is no file or it cannot be used."""
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_PEERS_FILE_BYTES + 1)
    except FileNotFoundError:
        return []
    except OSError as exc:
        log.warning("cannot read the saved peers %s (%s); starting without them", path, exc)
        return []
    if len(raw) > MAX_PEERS_FILE_BYTES:
        log.warning("saved peers %s: larger than %d bytes; starting without them", path, MAX_PEERS_FILE_BYTES)
        return []
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        # RecursionError: brackets nested deeper than the parser goes (6 KB of `[` is enough)
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        log.warning("saved peers %s are not JSON (%s); starting without them", path, reason)
        return []
    if (not isinstance(doc, dict) or type(doc.get("version")) is not int or doc["version"] != PEERS_FILE_VERSION
            or not isinstance(doc.get("peers"), list)):
        log.warning("saved peers %s: not a version %d peers file; starting without them", path, PEERS_FILE_VERSION)
        return []
    peers: list[tuple[str, str]] = []
    skipped = 0
    for entry in doc["peers"][: discovery.MAX_BOOK]:
        if (isinstance(entry, list) and len(entry) == 2 and all(isinstance(x, str) for x in entry)
                and discovery.is_peer_id(entry[0]) and discovery.is_acceptable_address(entry[1], True)):
            peers.append((entry[0], entry[1]))
        else:
            skipped += 1
    if skipped:
        log.warning("saved peers %s: skipped %d malformed entries", path, skipped)
    return peers


def save_peers(path: Path, peers: list[tuple[str, str]]) -> None:
    """Write `peers` (at most MAX_BOOK) to `path` atomically. OSError is the caller's to report."""
    doc = {"version": PEERS_FILE_VERSION, "peers": [[p, a] for p, a in sorted(peers)[: discovery.MAX_BOOK]]}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1) + "\n")
    os.replace(tmp, path)
