"""Private patient cases (issue 51): a provider's X25519 box key, items sealed to it so that anyone can re-check a
revealed one, the clinic's commitment to its decoys, and the odds that a provider faking items escapes the check.

Everything here is pure and deterministic except the four generators named `generate`/`new_*`/`choose_*`, which
draw from the operating system for a clinic or a miner (never for the chain).

Box key. X25519 (libsodium's `crypto_box` key). The public key is 32 bytes, little-endian u-coordinate, and must be
canonical (below p = 2**255 - 19, which also means its top bit is clear: one key has one encoding) and not one of
the low-order points libsodium's `crypto_box` refuses (0, 1, p - 1 and the two points of order 8; with p, p + 1 and
the top-bit variants, which canonicity already refuses). A key is generated, or derived from a seed as
`BLAKE2b-256(seed, person="btt-box-key")`: a miner derives it from its account's secret, keeps nothing new beside its
key file, and rotates it with that key.

Sealed item (`seal_item`): a sealed box made explicitly, so that it is a function of what the clinic reveals:

    sealed = epk (32) || mac (16) || xsalsa20(plaintext) (len(plaintext))         epk = X25519(esk, basepoint)
    mac || xsalsa20(...) = crypto_box_easy(plaintext, nonce, recipient_pk, esk)     (XSalsa20-Poly1305)
    nonce = BLAKE2b-192(epk || recipient_pk || binding, person="btt-seal-nonce")
    binding = genesis_hash (32) || job_id (u64 LE) || item_index (u32 LE) || direction (u8)     45 bytes

libsodium's `crypto_box_seal` is the same construction with nonce BLAKE2b-192(epk || recipient_pk) and an
ephemeral key it draws itself, which nobody could re-check; here the clinic's `esk` is revealed for a decoy and
every node re-seals. Because the binding is in the nonce, a ciphertext opens (and a revealed decoy re-seals) only
under the one chain, job, item and direction it was made for: another job's or item's ciphertext or decoy opening
fails the Poly1305 check. A sealed item is `SEAL_OVERHEAD` = 48 bytes longer than its plaintext; a job's items are
all its model's input width, so every ciphertext of a job has the same length, and sizes and timing are visible.

Ephemeral secrets (`item_secret`): the clinic keeps one 32-byte secret and derives each item's `esk` as keyed
BLAKE2b-256(key=clinic_secret, binding || recipient_pk || BLAKE2b-256(plaintext), person="btt-seal-esk"), clamped
(RFC 7748), so it stores one secret however many items it seals. An `esk` must never serve two items: a decoy's
`esk` is published, and with it anyone computes X25519(esk, recipient_pk) and opens every item sealed under the same
`esk` and recipient (the nonces are public); and the same key and nonce over two plaintexts would reuse the XSalsa20
keystream and the Poly1305 key (the XOR of the cases leaks, forgeries follow). Putting the binding and the recipient
in the derivation gives each (chain, job, item, direction, recipient) its own `esk`; putting the plaintext's digest
in it too means that even a clinic that re-seals a changed case under the same binding gets a fresh `esk` (the
construction is then misuse-resistant, like SIV). Revealing one `esk` tells nothing of the clinic secret nor of any
other `esk` (keyed BLAKE2b is a PRF). `seal_item` and `reseal_matches` take only clamped secrets, so a ciphertext
has exactly one opening (plaintext, esk): the five bits X25519 ignores cannot make a second one.

Decoy commitment (`decoy_commitment`), posted with the job before the provider is known:

    item_hash_k = BLAKE2b-256(plaintext_k, person="btt-decoy-item")            for each decoy, in position order
    list_hash   = BLAKE2b-256(item_hash_0 || ... || item_hash_{d-1}, person="btt-decoy-list")
    commitment  = BLAKE2b-256(salt (32) || items (u32 LE) || d (u32 LE) || positions (d x u32 LE, strictly
                              increasing, each < items) || list_hash (32), person="btt-decoy-commit")

Every field has a fixed width or a count before it, so the preimage is one reading of one (salt, items, positions,
decoys); a commitment opens to one position set unless BLAKE2b collides (binding). The 32-byte random salt hides the
positions (hiding): without it the provider, who has opened every item, could hash each and try every position set
(C(16, 8) = 12,870 for a 16-case job) until one matched.

Detection (`escape_probability`): the decoys are `checked` positions drawn uniformly among `items`; a provider that
cannot tell them apart and fakes `faked` items escapes iff none of its faked items is checked:
P(escape) = C(items - checked, faked) / C(items, faked) = C(items - faked, checked) / C(items, checked).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import os
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import nacl.bindings
import nacl.exceptions

from btt_chain.primitives.errors import BttError

KEY_BYTES = 32
NONCE_BYTES = 24
MAC_BYTES = 16
SEAL_OVERHEAD = KEY_BYTES + MAC_BYTES
"""Bytes a sealed item adds to its plaintext: the ephemeral public key and the Poly1305 tag."""
SALT_BYTES = 32
CLINIC_SECRET_BYTES = 32
BINDING_BYTES = 32 + 8 + 4 + 1
MAX_JOB_ID = 2**64 - 1
MAX_ITEMS = 2**32 - 1
"""Item indices and decoy positions are u32; a job holds at most this many items."""

CASE = 0
"""Direction of a case the clinic seals to the provider."""
RESULT = 1
"""Direction of an output the provider seals back to the clinic."""
DIRECTIONS = (CASE, RESULT)

FIELD_PRIME = 2**255 - 19
LOW_ORDER_POINTS = frozenset({
    0,
    1,
    FIELD_PRIME - 1,
    0x00B8495F16056286FDB1329CEB8D09DA6AC49FF1FAE35616AEB8413B7C7AEBE0,
    0x57119FD0DD4E22D8868E1C58C45C44045BEF839C55B1D0B1248C50A3BC959C5F,
})
"""The canonical u-coordinates of libsodium's `has_small_order` list (x25519_ref10.c): 0, 1, p - 1 and the two
points of order 8. Its other entries (p, p + 1, and each with the top bit set) are not canonical."""

_BOX_KEY = b"btt-box-key"
_NONCE = b"btt-seal-nonce"
_ESK = b"btt-seal-esk"
_DECOY_ITEM = b"btt-decoy-item"
_DECOY_LIST = b"btt-decoy-list"
_DECOY_COMMIT = b"btt-decoy-commit"


class SealError(BttError):
    """A sealed case, box key or decoy commitment is malformed or does not check."""


class BadBoxKey(SealError):
    """An X25519 box key is not 32 bytes, not canonical, or a low-order point that libsodium refuses."""


class SealedItemUnreadable(SealError):
    """A sealed item does not open: wrong key, another job's or item's ciphertext, changed or truncated bytes."""


class BadDecoys(SealError):
    """Decoy positions or their commitment are malformed: positions must be distinct, increasing and below the count."""


def _blake2b(data: bytes, person: bytes, size: int = 32, key: bytes = b"") -> bytes:
    return hashlib.blake2b(data, digest_size=size, person=person, key=key).digest()


def _u32(value: int) -> bytes:
    return value.to_bytes(4, "little")


def _is_uint(value: object, largest: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= largest


# --- box keys -------------------------------------------------------------------------------------------------


def box_key_problem(raw: bytes) -> str | None:
    """Why `raw` is not a usable X25519 public key, or None when it is."""
    if not isinstance(raw, bytes) or len(raw) != KEY_BYTES:
        return f"a box key must be {KEY_BYTES} bytes"
    value = int.from_bytes(raw, "little")
    if value >= FIELD_PRIME:
        return "a box key must be canonical (below 2**255 - 19, top bit clear)"
    if value in LOW_ORDER_POINTS:
        return "a box key must not be a low-order point (libsodium's crypto_box refuses it)"
    return None


@dataclass(frozen=True)
class BoxPublicKey:
    """A provider's (or a clinic's) X25519 public key, checked on construction."""

    raw: bytes
    """32 bytes, canonical, not of low order."""

    def __post_init__(self) -> None:
        problem = box_key_problem(self.raw)
        if problem is not None:
            raise BadBoxKey(problem)

    def hex(self) -> str:
        return "0x" + self.raw.hex()


@dataclass(frozen=True)
class BoxKeypair:
    """An X25519 key pair: the secret scalar (X25519 clamps it) and its public key."""

    secret: bytes = field(repr=False)
    public: BoxPublicKey = field(init=False)

    def __post_init__(self) -> None:
        if not isinstance(self.secret, bytes) or len(self.secret) != KEY_BYTES:
            raise BadBoxKey(f"a box secret key must be {KEY_BYTES} bytes")
        object.__setattr__(self, "public", BoxPublicKey(bytes(nacl.bindings.crypto_scalarmult_base(self.secret))))

    @classmethod
    def generate(cls) -> BoxKeypair:
        """A fresh random key pair (off-chain only)."""
        return cls(os.urandom(KEY_BYTES))

    @classmethod
    def from_seed(cls, seed: bytes) -> BoxKeypair:
        """The key pair derived from a secret seed of at least 32 bytes (an account's seed or secret key)."""
        if not isinstance(seed, bytes) or len(seed) < 32:
            raise BadBoxKey("a box key seed must be at least 32 secret bytes")
        return cls(_blake2b(seed, _BOX_KEY))


# --- sealing --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SealBinding:
    """What one sealed item belongs to: its chain, job, item and direction (bound into the nonce)."""

    genesis_hash: bytes
    """The chain's genesis hash (32 bytes)."""
    job_id: int
    """u64."""
    item_index: int
    """u32, below the job's item count."""
    direction: int = CASE
    """CASE (clinic to provider) or RESULT (provider to clinic)."""

    def __post_init__(self) -> None:
        if not isinstance(self.genesis_hash, bytes) or len(self.genesis_hash) != 32:
            raise SealError("a seal binding's genesis hash must be 32 bytes")
        if not _is_uint(self.job_id, MAX_JOB_ID):
            raise SealError(f"a seal binding's job id must be a u64, got {self.job_id}")
        if not _is_uint(self.item_index, MAX_ITEMS):
            raise SealError(f"a seal binding's item index must be a u32, got {self.item_index}")
        if self.direction not in DIRECTIONS:
            raise SealError(f"a seal binding's direction must be CASE (0) or RESULT (1), got {self.direction}")

    def encode(self) -> bytes:
        """genesis_hash (32) || job_id (u64 LE) || item_index (u32 LE) || direction (u8): 45 bytes."""
        return (self.genesis_hash + self.job_id.to_bytes(8, "little") + _u32(self.item_index)
                + bytes((self.direction,)))


def sealed_size(width: int) -> int:
    """The length of a sealed item of `width` plaintext bytes."""
    if width < 0:
        raise SealError(f"an item width must not be negative, got {width}")
    return width + SEAL_OVERHEAD


def clamp(scalar: bytes) -> bytes:
    """The RFC 7748 clamped form of a 32-byte X25519 scalar (what X25519 uses of it)."""
    if len(scalar) != KEY_BYTES:
        raise SealError(f"an X25519 scalar must be {KEY_BYTES} bytes")
    out = bytearray(scalar)
    out[0] &= 248
    out[31] = (out[31] & 127) | 64
    return bytes(out)


def is_clamped(scalar: bytes) -> bool:
    """True for a 32-byte scalar already in its clamped form (the only form `seal_item` takes)."""
    return isinstance(scalar, bytes) and len(scalar) == KEY_BYTES and clamp(scalar) == scalar


def new_clinic_secret() -> bytes:
    """A fresh 32-byte clinic secret (off-chain only): keep it until the job's decoys are revealed."""
    return os.urandom(CLINIC_SECRET_BYTES)


def item_secret(clinic_secret: bytes, binding: SealBinding, recipient: BoxPublicKey, plaintext: bytes) -> bytes:
    """The clamped ephemeral secret for sealing `plaintext` as `binding`'s item to `recipient` (see the module
    docstring for why each input is in it). `clinic_secret` is the sealer's: a provider sealing RESULT items back
    to the clinic uses a secret of its own the same way."""
    if not isinstance(clinic_secret, bytes) or len(clinic_secret) != CLINIC_SECRET_BYTES:
        raise SealError(f"a clinic secret must be {CLINIC_SECRET_BYTES} bytes")
    data = binding.encode() + recipient.raw + hashlib.blake2b(plaintext, digest_size=32).digest()
    return clamp(_blake2b(data, _ESK, key=clinic_secret))


def seal_nonce(epk: bytes, recipient: BoxPublicKey, binding: SealBinding) -> bytes:
    """The 24-byte nonce of the item sealed with ephemeral public key `epk` to `recipient` as `binding`."""
    return _blake2b(epk + recipient.raw + binding.encode(), _NONCE, NONCE_BYTES)


def seal_item(plaintext: bytes, recipient: BoxPublicKey, item_esk: bytes, binding: SealBinding) -> bytes:
    """epk || crypto_box_easy(plaintext, nonce, recipient, esk): deterministic in its inputs."""
    if not is_clamped(item_esk):
        raise SealError("an item's ephemeral secret must be 32 bytes in clamped form (use item_secret)")
    if not isinstance(plaintext, bytes):
        raise SealError(f"a case to seal must be bytes, got {type(plaintext).__name__}")
    epk = bytes(nacl.bindings.crypto_scalarmult_base(item_esk))
    boxed = nacl.bindings.crypto_box_easy(plaintext, seal_nonce(epk, recipient, binding), recipient.raw,
                                          item_esk)
    return epk + bytes(boxed)


def open_item(sealed: bytes, keypair: BoxKeypair, binding: SealBinding) -> bytes:
    """The plaintext of `sealed`, for the recipient holding `keypair`; SealedItemUnreadable when it does not open."""
    if not isinstance(sealed, bytes):
        raise SealedItemUnreadable(f"a sealed item must be bytes, got {type(sealed).__name__}")
    if len(sealed) < SEAL_OVERHEAD:
        raise SealedItemUnreadable(f"a sealed item is at least {SEAL_OVERHEAD} bytes, got {len(sealed)}")
    epk = sealed[:KEY_BYTES]
    problem = box_key_problem(epk)
    if problem is not None:
        raise SealedItemUnreadable(f"the sealed item's ephemeral key is unusable: {problem}")
    try:
        plain = nacl.bindings.crypto_box_open_easy(sealed[KEY_BYTES:], seal_nonce(epk, keypair.public, binding),
                                                   epk, keypair.secret)
    except (nacl.exceptions.CryptoError, nacl.exceptions.ValueError, nacl.exceptions.RuntimeError):
        raise SealedItemUnreadable("the sealed item does not open with this key as this chain's job and item: wrong "
                                   "recipient key, another job's or item's ciphertext, or changed bytes") from None
    return bytes(plain)


def shared_key(sealed: bytes, keypair: BoxKeypair) -> bytes:
    """The recipient's 32-byte key for this one sealed item (crypto_box_beforenm of its ephemeral key and the
    recipient's secret). Revealing it opens this item only: every item has its own ephemeral key. A clinic reveals it
    to show the chain what a sealed output says (`open_with_shared_key`)."""
    if not isinstance(sealed, bytes) or len(sealed) < SEAL_OVERHEAD:
        raise SealedItemUnreadable(f"a sealed item is at least {SEAL_OVERHEAD} bytes")
    epk = sealed[:KEY_BYTES]
    problem = box_key_problem(epk)
    if problem is not None:
        raise SealedItemUnreadable(f"the sealed item's ephemeral key is unusable: {problem}")
    return bytes(nacl.bindings.crypto_box_beforenm(epk, keypair.secret))


def open_with_shared_key(sealed: bytes, key: bytes, recipient: BoxPublicKey, binding: SealBinding) -> bytes:
    """The plaintext of `sealed` opened with its revealed `shared_key`; SealedItemUnreadable when it does not open.
    Poly1305 under a key nobody chose lets no other key open the provider's ciphertext to another plaintext (a forger
    would have to hit a 128-bit tag), so a revealed key shows the one plaintext the sealer sealed."""
    if not isinstance(sealed, bytes) or len(sealed) < SEAL_OVERHEAD:
        raise SealedItemUnreadable(f"a sealed item is at least {SEAL_OVERHEAD} bytes")
    if not isinstance(key, bytes) or len(key) != KEY_BYTES:
        raise SealedItemUnreadable(f"a shared key is {KEY_BYTES} bytes")
    nonce = seal_nonce(sealed[:KEY_BYTES], recipient, binding)
    try:
        return bytes(nacl.bindings.crypto_box_open_easy_afternm(sealed[KEY_BYTES:], nonce, key))
    except (nacl.exceptions.CryptoError, nacl.exceptions.ValueError, nacl.exceptions.RuntimeError):
        raise SealedItemUnreadable("the sealed item does not open with this key as this chain's job and item") from None


def reseal_problem(sealed: bytes, plaintext: bytes, item_esk: bytes, recipient: BoxPublicKey,
                   binding: SealBinding) -> str | None:
    """Why a revealed (plaintext, esk) is not the opening of `sealed`, or None when re-sealing gives `sealed`
    byte for byte. Needs no secret of the recipient; never raises on what the clinic supplies."""
    if not isinstance(item_esk, bytes) or len(item_esk) != KEY_BYTES:
        return f"the revealed ephemeral secret is not {KEY_BYTES} bytes"
    if not is_clamped(item_esk):
        return "the revealed ephemeral secret is not in clamped form"
    if not isinstance(plaintext, bytes) or not isinstance(sealed, bytes):
        return "the revealed case and the sealed item must be bytes"
    if len(sealed) != sealed_size(len(plaintext)):
        return f"a {len(plaintext)}-byte case seals to {sealed_size(len(plaintext))} bytes, the item has {len(sealed)}"
    if not hmac.compare_digest(seal_item(plaintext, recipient, item_esk, binding), sealed):
        return "the revealed case and ephemeral secret do not re-seal to the committed item"
    return None


def reseal_matches(sealed: bytes, plaintext: bytes, item_esk: bytes, recipient: BoxPublicKey,
                   binding: SealBinding) -> bool:
    """True when the revealed (plaintext, esk) re-seals to `sealed`: what every node checks of a revealed decoy."""
    return reseal_problem(sealed, plaintext, item_esk, recipient, binding) is None


# --- decoy commitment -----------------------------------------------------------------------------------------


def positions_problem(items: int, positions: Sequence[int]) -> str | None:
    """Why `positions` is not a valid decoy set of a job of `items` items, or None when it is."""
    if not _is_uint(items, MAX_ITEMS) or items == 0:
        return f"a job's item count must be 1 to {MAX_ITEMS}, got {items}"
    if not positions:
        return "a job needs at least one decoy"
    if len(positions) > items:
        return f"{len(positions)} decoys do not fit in {items} items"
    previous = -1
    for p in positions:
        if not isinstance(p, int) or isinstance(p, bool):
            return f"decoy positions must be integers, got {p!r}"
        if not 0 <= p < items:
            return f"decoy position {p} is not an item of a {items}-item job"
        if p <= previous:
            return f"decoy positions must be distinct and increasing, got {p} after {previous}"
        previous = p
    return None


def decoy_item_hash(plaintext: bytes) -> bytes:
    """BLAKE2b-256 of one decoy case, personalised "btt-decoy-item"."""
    return _blake2b(plaintext, _DECOY_ITEM)


def commitment_preimage(salt: bytes, items: int, positions: Sequence[int], item_hashes: Sequence[bytes]) -> bytes:
    """salt (32) || items (u32 LE) || d (u32 LE) || positions (d x u32 LE) || list_hash (32); BadDecoys when any part
    is malformed."""
    if not isinstance(salt, bytes) or len(salt) != SALT_BYTES:
        raise BadDecoys(f"a decoy salt must be {SALT_BYTES} random bytes")
    problem = positions_problem(items, positions)
    if problem is not None:
        raise BadDecoys(problem)
    if len(item_hashes) != len(positions):
        raise BadDecoys(f"{len(positions)} decoy positions but {len(item_hashes)} decoy hashes")
    if any(not isinstance(h, bytes) or len(h) != 32 for h in item_hashes):
        raise BadDecoys("each decoy hash must be 32 bytes")
    list_hash = _blake2b(b"".join(item_hashes), _DECOY_LIST)
    return salt + _u32(items) + _u32(len(positions)) + b"".join(_u32(p) for p in positions) + list_hash


def decoy_commitment(salt: bytes, items: int, positions: Sequence[int], item_hashes: Sequence[bytes]) -> bytes:
    """The 32-byte commitment a job is posted with: decoys at `positions` (increasing) of a job of `items` items,
    `item_hashes[k]` the `decoy_item_hash` of the decoy at `positions[k]`."""
    return _blake2b(commitment_preimage(salt, items, positions, item_hashes), _DECOY_COMMIT)


def commitment_problem(commitment: bytes, salt: bytes, items: int, positions: Sequence[int],
                       plaintexts: Sequence[bytes]) -> str | None:
    """Why the revealed salt, positions and decoy cases do not open `commitment`, or None when they do. Never
    raises on what the clinic supplies."""
    try:
        hashes = [decoy_item_hash(p) for p in plaintexts]
        expected = decoy_commitment(salt, items, positions, hashes)
    except (BadDecoys, TypeError) as exc:
        return str(exc)
    if not isinstance(commitment, bytes) or not hmac.compare_digest(expected, commitment):
        return "the revealed salt, positions and decoys do not open the job's decoy commitment"
    return None


def opens_commitment(commitment: bytes, salt: bytes, items: int, positions: Sequence[int],
                     plaintexts: Sequence[bytes]) -> bool:
    """True when the revealed salt, positions and decoy cases (in position order) open `commitment`."""
    return commitment_problem(commitment, salt, items, positions, plaintexts) is None


def new_salt() -> bytes:
    """32 random bytes (off-chain only): the salt that hides a job's decoy positions until they are revealed."""
    return os.urandom(SALT_BYTES)


def choose_decoy_positions(items: int, decoys: int, rng: random.Random | None = None) -> tuple[int, ...]:
    """`decoys` distinct positions among `items`, drawn uniformly (off-chain only; the system's randomness unless
    a seeded `rng` is given, as tests do), increasing."""
    if not 1 <= decoys <= items <= MAX_ITEMS:
        raise BadDecoys(f"need 1 <= decoys <= items <= {MAX_ITEMS}, got {decoys} decoys of {items} items")
    draw = rng if rng is not None else random.SystemRandom()
    return tuple(sorted(draw.sample(range(items), decoys)))


# --- detection ------------------------------------------------------------------------------------------------


def escape_probability(items: int, checked: int, faked: int) -> Fraction:
    """The chance that a provider faking `faked` of `items` items, unable to tell which `checked` items are
    checked decoys (uniform among the items), fakes none of them: C(items - checked, faked) / C(items, faked)."""
    if not 0 <= checked <= items or not 0 <= faked <= items:
        raise ValueError(f"need 0 <= checked, faked <= items, got {checked} checked, {faked} faked of {items}")
    return Fraction(math.comb(items - checked, faked), math.comb(items, faked))


def caught_probability(items: int, checked: int, faked: int) -> Fraction:
    """1 - escape_probability: the chance at least one faked item is a checked decoy."""
    return 1 - escape_probability(items, checked, faked)


def decoys_needed(items: int, faked: int, max_escape: Fraction) -> int:
    """The fewest checked decoys that hold a provider faking `faked` of `items` items to an escape chance of at most
    `max_escape` (0 < max_escape; items when even checking every item is needed)."""
    if not 1 <= faked <= items or max_escape <= 0:
        raise ValueError(f"need 1 <= faked <= items and a positive bound, got {faked} of {items}, {max_escape}")
    return next(d for d in range(items + 1) if escape_probability(items, d, faked) <= max_escape)
