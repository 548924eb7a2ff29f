"""sr25519 (Schnorr signatures over Ristretto255, the schnorrkel crate) as Substrate's `sp_core::sr25519` signs,
verifies and derives, through py-sr25519-bindings (schnorrkel itself, compiled).

- Signing and verification use Substrate's signing context `b"substrate"` (the bindings fix it):
  `PublicKey::from_bytes(public).verify_simple(b"substrate", message, Signature::from_bytes(signature))`, which
  refuses a non-canonical public key, a signature without schnorrkel's marker bit (byte 63's top bit) and a
  non-canonical scalar, so a signature has one encoding. Signatures are randomised: signing twice gives two.
- The account is the 32-byte public key.
- Keys: a 32-byte mini secret (the BIP-39 seed of `derivation`, or a `0x` seed) expands to a key pair in
  schnorrkel's Ed25519 mode; a 64-byte secret key (scalar || nonce) is taken as it is.
- Derivation (sp_core `sr25519::Pair::derive`), junction chain codes as for every scheme (`derivation.chain_code`):
  a hard junction `//j` is `secret.hard_derive_mini_secret_key(chain_code(j), b"")` expanded again; a soft junction
  `/j` is `secret.derived_key_simple(chain_code(j), b"")`, whose public key anyone can derive from the parent's
  (its secret nonce is random, so two soft derivations sign alike but store different secrets). After a junction
  the mini secret is not known here (the bindings return the expanded key only), so a derived key is stored and
  shown as its 64-byte secret key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import sr25519 as schnorrkel

from btt_chain.primitives.derivation import Junction
from btt_chain.primitives.errors import ConfigError

PUBLIC_KEY_LEN = 32
SIGNATURE_LEN = 64
MINI_SECRET_LEN = 32
SECRET_KEY_LEN = 64
SCHEME = 1
"""FRAME's MultiSignature variant of sr25519."""


def verify(public: bytes, message: bytes, signature: bytes) -> bool:
    """True when `signature` is a valid sr25519 signature of `message` by `public` in the context `substrate`."""
    if len(public) != PUBLIC_KEY_LEN or len(signature) != SIGNATURE_LEN:
        return False
    try:
        return bool(schnorrkel.verify(bytes(signature), bytes(message), bytes(public)))
    except (TypeError, ValueError):
        return False


@dataclass(frozen=True)
class Sr25519Keypair:
    """An sr25519 key pair: from a mini secret (`from_seed`), a 64-byte secret key (`from_secret_key`), and
    derived by junctions (`derive`)."""

    secret_key: bytes = field(repr=False)
    """schnorrkel's 64-byte secret key: the scalar, then the signing nonce."""
    public: bytes
    seed: bytes | None = field(default=None, repr=False)
    """The 32-byte mini secret it was expanded from; None for a derived key (see the module docstring)."""
    scheme: ClassVar[int] = SCHEME

    @classmethod
    def from_seed(cls, seed: bytes) -> Sr25519Keypair:
        if len(seed) != MINI_SECRET_LEN:
            raise ConfigError("an sr25519 mini secret (seed) is 32 bytes")
        public, secret_key = schnorrkel.pair_from_seed(bytes(seed))
        return cls(bytes(secret_key), bytes(public), bytes(seed))

    @classmethod
    def from_secret(cls, secret: bytes) -> Sr25519Keypair:
        """From a 32-byte mini secret or a 64-byte secret key (sp_core `sr25519::Pair::from_seed_slice`)."""
        return cls.from_secret_key(secret) if len(secret) == SECRET_KEY_LEN else cls.from_seed(secret)

    @classmethod
    def from_secret_key(cls, secret_key: bytes) -> Sr25519Keypair:
        if len(secret_key) != SECRET_KEY_LEN:
            raise ConfigError("an sr25519 secret key is 64 bytes (scalar and nonce)")
        try:
            public = schnorrkel.public_from_secret_key(bytes(secret_key))
        except ValueError:
            raise ConfigError("not an sr25519 secret key (its scalar is not canonical)") from None
        return cls(bytes(secret_key), bytes(public))

    @property
    def account(self) -> bytes:
        """The AccountId32: an sr25519 account is its public key."""
        return self.public

    @property
    def secret(self) -> bytes:
        """What restores this key: the mini secret when known, else the 64-byte secret key."""
        return self.seed if self.seed is not None else self.secret_key

    def sign(self, message: bytes) -> bytes:
        return bytes(schnorrkel.sign((self.public, self.secret_key), bytes(message)))

    def derive(self, junctions: tuple[Junction, ...]) -> Sr25519Keypair:
        """The key at `junctions` below this one, as sp_core's `sr25519::Pair::derive` makes it."""
        pair = self
        for junction in junctions:
            extended = (junction.chain_code, pair.public, pair.secret_key)
            step = schnorrkel.hard_derive_keypair if junction.hard else schnorrkel.derive_keypair
            _, public, secret_key = step(extended, b"")
            pair = Sr25519Keypair(bytes(secret_key), bytes(public))
        return pair
