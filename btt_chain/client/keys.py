"""Keys from what a script writes: a secret URI `"<12-24 words>[//path][///password]"`, or one on the public dev
phrase, `//Alice`, `//Bob//stash`, `//Alice//0///password` (dev accounts have funds on dev chains only). Paths are
Substrate's ed25519 derivation (`btt_chain.primitives.derivation`): hard junctions only."""

from __future__ import annotations

from btt_chain.primitives.errors import ConfigError
from btt_chain.primitives.keys import Keypair
from btt_chain.primitives.mnemonic import keypair_from_suri


def keypair_from_uri(uri: str) -> Keypair:
    """The ed25519 key of a secret URI (`"<words>//hard//path"`, `"0x<seed>//0"`) or dev path (`"//Alice"`), as
    `subkey inspect --scheme ed25519` derives it."""
    phrase = uri.split("/", 1)[0]
    if uri.startswith("/") or len(phrase.split()) > 1 or (phrase.startswith("0x") and len(phrase) == 66):
        return keypair_from_suri(uri)
    raise ConfigError("a key URI is a recovery phrase of 12 or more words with an optional //path and ///password, "
                      "or a dev path such as //Alice")
