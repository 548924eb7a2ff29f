"""BIP-39 mnemonics and Substrate's secret URIs for ed25519 account keys (the `mnemonic` package holds the word list
and checksum rules; `derivation` parses the URI and derives).

A secret URI is `<12-24 words | 0x seed>[//junction...][///password]`, or `//junction...[///password]` on the
public dev phrase: what `subkey inspect --scheme ed25519` takes, soft junctions (`/j`) aside, which ed25519 cannot
derive. `generate()` makes 12 words (128 bits of entropy).
"""

from __future__ import annotations

from btt_chain.primitives.derivation import SecretUri, derive_junctions, hard_junctions, mini_secret, parse_suri
from btt_chain.primitives.errors import ConfigError
from btt_chain.primitives.keys import DEV_ENTROPY, DEV_MINI_SECRET, DEV_PHRASE, Keypair

WORD_COUNTS = (12, 15, 18, 21, 24)


def _wordlist():  # type: ignore[no-untyped-def]
    from mnemonic import Mnemonic

    return Mnemonic("english")


def generate(words: int = 12) -> str:
    strength = {12: 128, 15: 160, 18: 192, 21: 224, 24: 256}.get(words)
    if strength is None:
        raise ConfigError("a mnemonic has 12, 15, 18, 21 or 24 words")
    return str(_wordlist().generate(strength))


def is_mnemonic(text: str) -> bool:
    """Whether `text` starts with a phrase of 12 or more words (before any `/`)."""
    return len(text.split("/", 1)[0].split()) >= 12


def is_dev_phrase(uri: SecretUri) -> bool:
    """Whether `uri` derives from the public dev phrase (written out, or left out as in `//Alice`): anyone can
    compute such a key."""
    if uri.phrase is None:
        return True
    if uri.phrase.startswith("0x"):
        return uri.phrase[2:].lower() == DEV_MINI_SECRET.hex()
    return uri.phrase.split() == DEV_PHRASE.split()


def root_seed(uri: SecretUri) -> bytes:
    """The seed a URI's junctions start from (sp_core `Pair::from_string_with_seed`): the phrase's mini secret
    under the URI's password, or the `0x` seed itself."""
    password = uri.password or ""
    if uri.phrase is None:
        return mini_secret(DEV_ENTROPY, password) if password else DEV_MINI_SECRET
    if uri.phrase.startswith("0x"):
        try:
            seed = bytes.fromhex(uri.phrase[2:])
        except ValueError:
            seed = b""
        if len(seed) != 32:
            raise ConfigError("a 0x secret seed is 64 hex digits (32 bytes)")
        if password:
            raise ConfigError("a ///password applies to a recovery phrase only, not to a 0x seed (Substrate would "
                              "ignore it): drop it")
        return seed
    words = uri.phrase.split()
    if len(words) not in WORD_COUNTS:
        raise ConfigError(f"not a valid BIP-39 mnemonic: a recovery phrase has 12, 15, 18, 21 or 24 words, this one "
                          f"has {len(words)}")
    wordlist = _wordlist()
    phrase = " ".join(words)
    if not wordlist.check(phrase):
        raise ConfigError("not a valid BIP-39 mnemonic (unknown word or bad checksum)")
    return mini_secret(bytes(wordlist.to_entropy(phrase)), password)


def keypair_from_suri(suri: str) -> Keypair:
    """The ed25519 key of a secret URI, as `subkey inspect --scheme ed25519 "<suri>"` derives it."""
    uri = parse_suri(suri)
    hard_junctions(uri.junctions)  # before the key stretching, so a soft junction is refused at once
    return Keypair(derive_junctions(root_seed(uri), uri.junctions))
