"""Node identity: key files persist the peer id, our peer id computation matches libp2p's, files are 0600."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import nacl.bindings
import nacl.signing
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from btt_chain.primitives.errors import ConfigError
from p2p import NodeKey, P2PConfig, P2PService, generate_node_key, load_or_create_node_key, peer_id_from_key_file
from tests.p2p.harness import GENESIS


def test_key_file_is_created_once_with_mode_0600_and_keeps_the_peer_id(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "node.key"
    first = load_or_create_node_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = load_or_create_node_key(path)
    assert again.peer_id == first.peer_id and again.seed == first.seed
    assert peer_id_from_key_file(path) == first.peer_id
    assert first.peer_id.startswith("12D3KooW")
    assert json.loads(path.read_text())["peer_id"] == first.peer_id
    assert "seed" not in repr(first) and first.seed.hex() not in repr(first)


def test_service_identity_comes_from_the_key_file(tmp_path: Path) -> None:
    path = tmp_path / "node.key"
    key = generate_node_key(path)
    one = P2PService(P2PConfig(0, path, GENESIS))
    two = P2PService(P2PConfig(0, path, GENESIS))
    assert one.local_peer_id == two.local_peer_id == key.peer_id


def test_generate_refuses_to_overwrite_and_bad_files_are_clear_errors(tmp_path: Path) -> None:
    path = tmp_path / "node.key"
    generate_node_key(path)
    with pytest.raises(ConfigError, match="already exists"):
        generate_node_key(path)
    with pytest.raises(ConfigError, match="not found"):
        peer_id_from_key_file(tmp_path / "missing.key")
    (tmp_path / "junk.key").write_text("not json")
    with pytest.raises(ConfigError, match="not a node key file"):
        peer_id_from_key_file(tmp_path / "junk.key")
    data = json.loads(path.read_text())
    data["peer_id"] = "12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo"
    (tmp_path / "tampered.key").write_text(json.dumps(data))
    with pytest.raises(ConfigError, match="does not match"):
        peer_id_from_key_file(tmp_path / "tampered.key")


@settings(max_examples=25, deadline=None)
@given(st.binary(min_size=32, max_size=32))
def test_peer_id_matches_libp2p(seed: bytes) -> None:
    from libp2p.peer.id import ID

    assume(nacl.bindings.crypto_core_ed25519_is_valid_point(bytes(nacl.signing.SigningKey(seed).verify_key)))
    key = NodeKey(seed)
    pair = key.libp2p_key_pair()
    assert ID.from_pubkey(pair.public_key).to_base58() == key.peer_id
    assert pair.public_key.to_bytes() == key.public
