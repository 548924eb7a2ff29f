"""BIP-39 mnemonics for account keys (the `mnemonic` package holds the word list and checksum rules).

A secret URI is `<words>[//junction...]` (Substrate's `suri`, hard junctions only for ed25519); `///password`
is not supported. `generate()` makes 12 words (128 bits of entropy).
"""

from __future__ import annotations

from btt_chain.primitives.derivation import derive_path, mini_secret
from btt_chain.primitives.errors import ConfigError
from btt_chain.primitives.keys import Keypair


def _wordlist():  # type: ignore[no-untyped-def]
    from mnemonic import Mnemonic

    return Mnemonic("english")


def generate(words: int = 12) -> str:
    strength = {12: 128, 15: 160, 18: 192, 21: 224, 24: 256}.get(words)
    if strength is None:
        raise ConfigError("a mnemonic has 12, 15, 18, 21 or 24 words")
    return str(_wordlist().generate(strength))


def is_mnemonic(text: str) -> bool:
    return len(text.split("//", 1)[0].split()) >= 12


def keypair_from_suri(suri: str) -> Keypair:
    """The key of `<words>//path`: checked words (checksum), then Substrate's hard derivation."""
    phrase, _, rest = suri.partition("//")
    phrase = " ".join(phrase.split())
    words = _wordlist()
    if not words.check(phrase):
        raise ConfigError("not a valid BIP-39 mnemonic (unknown word or bad checksum)")
    seed = mini_secret(bytes(words.to_entropy(phrase)))
    return Keypair(derive_path(seed, "//" + rest if rest else ""))
