"""The pinned @polkadot/keyring (tests/substrate/js) as an oracle for secret URIs: it still derives the committed
vectors (tests/primitives/data/ed25519_suri_vectors.json), and derives what btt-chain derives for a few hundred
URIs made at random from every path form both implement alike: numeric, text, long and non-ASCII junctions,
phrases of 12 to 24 words, passwords with slashes, and their combinations."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest
from mnemonic import Mnemonic

from btt_chain.primitives.errors import ConfigError
from btt_chain.primitives.mnemonic import keypair_from_suri

JS = Path(__file__).parent / "js"
VECTORS = Path(__file__).parents[1] / "primitives" / "data" / "ed25519_suri_vectors.json"

pytestmark = pytest.mark.skipif(shutil.which("node") is None,
                                reason="Node.js is not installed (scripts/bootstrap-test-tools installs it)")


def keyring(uris: list[str]) -> list[dict[str, str]]:
    assert (JS / "node_modules" / "@polkadot" / "keyring" / "package.json").exists(), (
        "run scripts/bootstrap-test-tools: it installs tests/substrate/js's pinned packages with npm ci")
    done = subprocess.run(["node", "suri_keys.mjs"], input=json.dumps(uris), cwd=JS, capture_output=True, text=True,
                          timeout=600, check=True)
    return list(json.loads(done.stdout))


def random_uris(rng: random.Random, count: int) -> list[str]:
    words = Mnemonic("english")
    texts = ["Alice", "stash", "hello world", "Ünïcødé", "日本語", "x" * 31, "y" * 32, "z" * 90, "a.b-c_d", "ßø"]

    def junction() -> str:
        kind = rng.randrange(4)
        if kind == 0:
            return str(rng.randrange(1000))
        if kind == 1:
            return str(rng.randrange(2**64)).zfill(rng.randrange(1, 25))  # leading zeros, up to the largest u64
        if kind == 2:
            return rng.choice(texts)
        return "".join(rng.choice("abcdefghijklmnopqrstuvwxyzABC0123456789 -_.é") for _ in range(rng.randrange(1, 70)))

    uris = []
    for _ in range(count):
        phrase = ""
        if rng.random() < 0.6:
            strength = rng.choice([128, 160, 192, 224, 256])
            phrase = words.to_mnemonic(rng.randbytes(strength // 8))
        path = "".join("//" + junction() for _ in range(rng.randrange(0 if phrase else 1, 4)))
        password = ""
        if rng.random() < 0.4:
            password = "///" + "".join(rng.choice("pass/wörd 123") for _ in range(rng.randrange(0, 20)))
        uris.append(phrase + path + password)
    return uris


def test_the_keyring_still_derives_the_committed_vectors() -> None:
    vectors = json.loads(VECTORS.read_text())["keyring"]["keys"]
    got = keyring([v["uri"] for v in vectors])
    assert [(g["uri"], g.get("public"), g.get("address")) for g in got] == [
        (v["uri"], v["public"], v["address"]) for v in vectors]


def test_btt_chain_derives_what_the_keyring_derives_for_random_uris() -> None:
    uris = random_uris(random.Random(29), 300)
    for theirs in keyring(uris):
        assert "error" not in theirs, theirs
        assert keypair_from_suri(theirs["uri"]).public.hex() == theirs["public"], theirs["uri"]


def test_both_refuse_soft_junctions_for_ed25519() -> None:
    dev_phrase = "bottom drive obey lake curtain smoke basket hold race lonely fit walk"
    uris = ["//Alice/soft", "//Alice//0/1///pw", dev_phrase + "/0"]
    for theirs in keyring(uris):
        assert "soft" in theirs.get("error", "").lower(), theirs
        with pytest.raises(ConfigError, match="ed25519 cannot derive soft junction"):
            keypair_from_suri(theirs["uri"])
