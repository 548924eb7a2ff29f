"""BIP-39 mnemonics and Substrate's secret URIs for account keys of each scheme (the `mnemonic` package holds the
word list and checksum rules; `derivation` parses the URI and derives ed25519 and ECDSA seeds, `sr25519` its keys).

A secret URI is `<12-24 words | 0x seed>[//junction...][///password]`, or `//junction...[///password]` on the
public dev phrase: what `subkey inspect --scheme ed25519|sr25519|ecdsa` takes. Soft junctions (`/j`) derive
sr25519 keys only; ed25519 and ECDSA refuse them. Every scheme starts from the same 32-byte seed (a phrase's
mini secret, or the `0x` seed; sr25519 also takes a 64-byte `0x` secret key). `generate()` makes 12 words (128 bits
of entropy).
"""

from __future__ import annotations

from btt_chain.primitives import ecdsa
from btt_chain.primitives.account_keys import AccountKey
from btt_chain.primitives.derivation import SecretUri, derive_junctions, hard_junctions, mini_secret, parse_suri
from btt_chain.primitives.ecdsa import EcdsaKeypair
from btt_chain.primitives.errors import ConfigError
from btt_chain.primitives.keys import DEV_ENTROPY, DEV_MINI_SECRET, DEV_PHRASE, Keypair
from btt_chain.primitives.signatures import ECDSA, ED25519, SCHEME_NAMES, SR25519, scheme_named
from btt_chain.primitives.sr25519 import SECRET_KEY_LEN, Sr25519Keypair

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


def root_seed(uri: SecretUri, scheme: int = ED25519) -> bytes:
    """The seed a URI's junctions start from (sp_core `Pair::from_string_with_seed`): the phrase's mini secret
    under the URI's password, or the `0x` seed itself (for sr25519, 32 bytes or a 64-byte secret key)."""
    password = uri.password or ""
    if uri.phrase is None:
        return mini_secret(DEV_ENTROPY, password) if password else DEV_MINI_SECRET
    if uri.phrase.startswith("0x"):
        try:
            seed = bytes.fromhex(uri.phrase[2:])
        except ValueError:
            seed = b""
        if len(seed) != 32 and not (scheme == SR25519 and len(seed) == SECRET_KEY_LEN):
            also = ", or an sr25519 secret key of 128" if scheme == SR25519 else ""
            raise ConfigError(f"a 0x secret seed is 64 hex digits (32 bytes){also}")
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


def split_scheme(text: str) -> tuple[int | None, str]:
    """(scheme, the rest) of a secret URI written with its scheme's name first, `sr25519://Alice`,
    `ecdsa:<words>//0`; (None, text) when `text` starts with no `name:` (no phrase, path, address or hex id holds
    a colon). An unknown name is refused."""
    head, sep, rest = text.partition(":")
    if not (sep and head.isascii() and head.isalnum()):
        return None, text
    return scheme_named(head), rest


def keypair_from_suri(suri: str, scheme: int = ED25519) -> AccountKey:
    """The key of a secret URI under `scheme` (ed25519 by default), as `subkey inspect --scheme <scheme> "<suri>"`
    derives it."""
    uri = parse_suri(suri)
    if scheme == SR25519:
        return Sr25519Keypair.from_secret(root_seed(uri, scheme)).derive(uri.junctions)
    if scheme not in (ED25519, ECDSA):
        raise ConfigError(f"unknown signature scheme {scheme}")
    hard_junctions(uri.junctions, SCHEME_NAMES[scheme])  # before the key stretching: a soft junction fails at once
    if scheme == ECDSA:
        return EcdsaKeypair(derive_junctions(root_seed(uri), uri.junctions, ecdsa.HDKD_TAG))
    return Keypair(derive_junctions(root_seed(uri), uri.junctions))
