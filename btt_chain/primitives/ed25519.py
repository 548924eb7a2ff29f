"""The chain's ed25519 acceptance rule, for extrinsics, block seals and finality votes alike: strict RFC 8032
verification as libsodium applies it, with every check but the curve equation made here, before the library is
called, so that no library version or build option widens or narrows what the chain accepts.

A signature `R || S` (32 + 32 bytes) of a message M by the public key A (32 bytes) is valid when

1. S is canonical: S < L, the order of the base point (2^252 + 27742317777372353535851937790883648493);
2. A and R are canonical encodings: the y coordinate (the low 255 bits, little-endian) is below p = 2^255 - 19;
3. neither A nor R is one of the 8 points of small order, whose y coordinates are 0, 1, p - 1 and the two listed
   in `SMALL_ORDER_Y` (compared whatever the sign bit, which also refuses the sign bit set on x = 0, the only
   other non-canonical encoding of a point with y < p);
4. the cofactorless equation holds: encode([S]B - [k]A) == R, k = SHA-512(R || A || M) mod L. libsodium
   (`crypto_sign_open`) checks this, and refuses an A that is not a point of the curve.

Why this rule rather than ZIP-215, the one ed25519-zebra applies for Substrate's `sp_core::ed25519`:

- The wallets agree either way. Every signer (subkey, polkadot.js, substrate-interface, PyNaCl, hardware wallets)
  makes prime-order keys and canonical signatures, which both rules accept; the rules part only on signatures made
  by hand around small-order or non-canonically encoded points (the ed25519-speccheck vectors, pinned by
  tests/primitives/test_ed25519_rule.py: this rule accepts 1 of the 15, ZIP-215 12).
- Nobody signs for a key nobody holds. Under ZIP-215's cofactored equation the 64 zero bytes are a valid signature
  of every message by the account `0x00...00` (a point of order 4) and by `0x0100...00` (the neutral element), and
  likewise for every small-order id: ids people use as burn or placeholder addresses, whose funds anyone could
  then spend (FRAME's CheckNonZeroSender shuts out the first one only). Here no small-order or non-canonical
  point signs anything, for accounts, block seals and finality votes alike.
- Cheap to refuse. Checks 1-3 are one integer comparison and set look-ups on the bytes, with no curve
  arithmetic; an invalid signature costs at most one libsodium verification (~45 us on one core) and is
  refused by the pool at no fee. ZIP-215 cannot be had from libsodium (cofactored equation, non-canonical points
  decoded): it would take a second native library or pure-Python curve arithmetic, milliseconds per signature,
  which an attacker sending invalid signatures would make every node pay.
- Continuity. Every seal, vote and extrinsic the chain has already accepted (PyNaCl-signed) is accepted under it.

What it gives up: a signature that Substrate accepts for such a hand-made or small-order key is refused here; no
key derivation makes one, so no wallet's account is affected.
"""

from __future__ import annotations

import nacl.bindings
import nacl.exceptions

PUBLIC_KEY_LEN = 32
SIGNATURE_LEN = 64
P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
"""The order of the base point B (and of the prime-order subgroup)."""
SMALL_ORDER_Y = frozenset({
    0,  # order 4: (+-sqrt(-1), 0)
    1,  # order 1: the neutral element (0, 1)
    P - 1,  # order 2: (0, -1)
    2707385501144840649318225287225658788936804267575313519463743609750303402022,  # order 8
    55188659117513257062467267217118295137698188065244968500265048394206261417927,  # order 8
})
"""The y coordinates of the 8 points of small order (libsodium's `ge25519_has_small_order` blocklist; a test derives
them from the curve)."""
_Y_BITS = (1 << 255) - 1


def is_acceptable_point(encoding: bytes) -> bool:
    """Checks 2 and 3 on a 32-byte point encoding: canonical (y < p) and not of small order, by its bytes alone."""
    y = int.from_bytes(encoding, "little") & _Y_BITS
    return y < P and y not in SMALL_ORDER_Y


def verify(public: bytes, message: bytes, signature: bytes) -> bool:
    """True when `signature` is a valid ed25519 signature of `message` by `public` under the chain's rule (this
    module's docstring)."""
    if len(public) != PUBLIC_KEY_LEN or len(signature) != SIGNATURE_LEN:
        return False
    if int.from_bytes(signature[32:], "little") >= L:
        return False
    if not (is_acceptable_point(public) and is_acceptable_point(signature[:32])):
        return False
    try:
        nacl.bindings.crypto_sign_open(bytes(signature) + bytes(message), bytes(public))
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError, nacl.exceptions.TypeError):
        return False
    return True
