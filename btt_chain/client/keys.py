"""Keys from what a script writes: a secret URI `<12+ words>[//path]`, or a dev path `//Alice`, `//Bob//stash`
(Substrate's ed25519 derivation of the dev phrase: accounts with funds on dev chains only)."""

from __future__ import annotations

from btt_chain.primitives.errors import ConfigError
from btt_chain.primitives.keys import Keypair, dev_keypair
from btt_chain.primitives.mnemonic import is_mnemonic, keypair_from_suri


def keypair_from_uri(uri: str) -> Keypair:
    """The ed25519 key of a secret URI (`"<words>//hard//path"`) or dev path (`"//Alice"`)."""
    if is_mnemonic(uri):
        return keypair_from_suri(uri)
    if uri.startswith("//") and len(uri) > 2:
        return dev_keypair(uri[2:])
    raise ConfigError("a key URI is a recovery phrase of 12 or more words with an optional //path, or a dev "
                      "path such as //Alice")
