"""Key files are written at argon2id's interactive limits: a test without `tests.support.light_kdf` sees what a node
or a wallet writes (and reads it back at those limits)."""

from __future__ import annotations

import json

import nacl.pwhash.argon2id as argon2id

from btt_chain.primitives.keys import Keypair
from btt_chain.primitives.keystore import load_keyfile, save_keyfile

PASSWORD = b"a long enough password"


def test_key_files_written_without_the_fixture_use_the_interactive_limits(tmp_path):
    pair = Keypair.generate()
    path = tmp_path / "k.json"
    save_keyfile(path, pair, 42, PASSWORD)
    crypto = json.loads(path.read_text())["crypto"]
    assert (crypto["kdf"], crypto["opslimit"], crypto["memlimit"]) == (
        "argon2id", argon2id.OPSLIMIT_INTERACTIVE, argon2id.MEMLIMIT_INTERACTIVE)
    assert load_keyfile(path, lambda: PASSWORD).public == pair.public
