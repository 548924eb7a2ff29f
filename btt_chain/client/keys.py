"""Keys from what a script writes: a secret URI `"<12-24 words>[//path][///password]"`, or one on the public dev
phrase, `//Alice`, `//Bob//stash`, `//Alice//0///password` (dev accounts have funds on dev chains only), in any of
the account schemes: ed25519 (the default: btt's dev accounts), sr25519 (what polkadot.js Apps, the browser
extensions and substrate-interface make) or ecdsa, named by `scheme` or written first, `sr25519://Alice`. Paths are
Substrate's derivation (`btt_chain.primitives.mnemonic`): soft junctions `/j` for sr25519 only."""

from __future__ import annotations

from btt_chain.primitives.account_keys import AccountKey
from btt_chain.primitives.errors import ConfigError
from btt_chain.primitives.mnemonic import keypair_from_suri, split_scheme
from btt_chain.primitives.signatures import ED25519, SCHEME_NAMES, scheme_named


def keypair_from_uri(uri: str, scheme: str | None = None) -> AccountKey:
    """The key of a secret URI (`"<words>//hard//path"`, `"0x<seed>//0"`) or dev path (`"//Alice"`), as
    `subkey inspect --scheme <scheme>` derives it: `scheme` ("ed25519", "sr25519" or "ecdsa"), or the URI's own
    prefix (`"sr25519://Alice"`), else ed25519."""
    named, rest = split_scheme(uri)
    wanted = None if scheme is None else scheme_named(scheme)
    if named is not None and wanted is not None and named != wanted:
        raise ConfigError(f"the URI's scheme {SCHEME_NAMES[named]} contradicts scheme={scheme!r}")
    phrase = rest.split("/", 1)[0]
    if rest.startswith("/") or len(phrase.split()) > 1 or (phrase.startswith("0x") and len(phrase) in (66, 130)):
        return keypair_from_suri(rest, named if named is not None else wanted if wanted is not None else ED25519)
    raise ConfigError("a key URI is a recovery phrase of 12 or more words with an optional //path and ///password, "
                      "or a dev path such as //Alice, optionally after its scheme (sr25519://Alice)")
