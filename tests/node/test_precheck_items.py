"""`precheck.signature_items` (the importing thread's cut of each extrinsic's signing message from its encoding)
against the extrinsic's own `signing_payload`: the same message, signer, signature and cache key for every layout the
encoding can take (each scheme's signature length, a mortal era's two bytes, each compact width of nonce and tip,
a payload signed as its hash, a 4-byte length prefix, an inherent), and a change of any signed byte changes them."""

from __future__ import annotations

import pytest

from btt_chain.node.precheck import NO_SIGNATURE, signature_items
from btt_chain.primitives.account_keys import key_from_secret
from btt_chain.primitives.extrinsic import IMMORTAL, Call, Era, Extrinsic, Inherent, sign_extrinsic
from btt_chain.primitives.hashing import blake2b_256
from btt_chain.primitives.signatures import ECDSA, ED25519, SR25519, verify_multi
from runtime.modules import RUNTIME

GENESIS = bytes(range(32))
BIRTH = bytes(range(32, 64))
SPEC = RUNTIME.spec_version
TX_VERSION = 3


def _signed(scheme: int, call_arg: bytes, nonce: int, tip: int, era: Era) -> Extrinsic:
    pair = key_from_secret(scheme, bytes([scheme + 1]) * 32)
    # any call's bytes: the cut never decodes the call (a block's were decoded before), so a large one may be raw
    call = RUNTIME.call("system.remark", call_arg) if len(call_arg) < 4096 else Call(0, 0, call_arg)
    birth = GENESIS if era.immortal else BIRTH
    return sign_extrinsic(pair, call, nonce, GENESIS, SPEC, tip=tip, era=era, birth_hash=birth, tx_version=TX_VERSION)


CASES = [
    (ED25519, b"x", 0, 0, IMMORTAL),
    (SR25519, b"x" * 10, 63, 1, IMMORTAL),
    (ECDSA, b"y", 64, 2**14 - 1, IMMORTAL),  # one- and two-byte compacts
    (ED25519, b"z", 2**14, 2**30 - 1, Era.mortal(64, 1_000)),  # four-byte compacts, a mortal era
    (ED25519, b"w", 2**30, 2**100, Era.mortal(4, 7)),  # big-integer compacts
    (SR25519, b"p" * 300, 5, 0, IMMORTAL),  # a payload over 256 bytes: signed as its hash
    (ED25519, b"q" * 20_000, 1, 0, IMMORTAL),  # over 16,383 bytes: a four-byte length prefix
]


def _reference(xt: Extrinsic) -> tuple[bytes, tuple[bytes, bytes, bytes]]:
    birth = GENESIS if xt.era.immortal else BIRTH
    msg = xt.signing_payload(GENESIS, birth, SPEC, TX_VERSION)
    return blake2b_256(msg + xt.signer + xt.multi_signature), (xt.signer, msg, xt.multi_signature)


def test_every_layout_is_cut_as_the_extrinsic_signs_it() -> None:
    xts = [_signed(*case) for case in CASES]
    inherent = Inherent(RUNTIME.call("timestamp.set", 12_000))
    encodings = [inherent.encode(), *(xt.encode() for xt in xts)]
    births = [b"", *(GENESIS if xt.era.immortal else BIRTH for xt in xts)]
    keys, items = signature_items(encodings, births, GENESIS, SPEC, TX_VERSION)
    assert keys[0] == NO_SIGNATURE and items[0] == (b"", b"", b"")
    for xt, key, item in zip(xts, keys[1:], items[1:], strict=True):
        assert (key, item) == _reference(xt)
        assert verify_multi(*item)
    assert encodings[-1][0] & 0b11 == 2  # the four-byte prefix was exercised
    assert len(items[6][1]) == 32  # the long payload's message is its hash


def test_a_wrong_birth_version_or_genesis_changes_the_message() -> None:
    xt = _signed(ED25519, b"x", 3, 0, Era.mortal(64, 1_000))
    (key, item), = zip(*signature_items([xt.encode()], [BIRTH], GENESIS, SPEC, TX_VERSION), strict=True)
    for births, genesis, spec, version in (
        ([GENESIS], GENESIS, SPEC, TX_VERSION), ([BIRTH], BIRTH, SPEC, TX_VERSION),
        ([BIRTH], GENESIS, SPEC + 1, TX_VERSION), ([BIRTH], GENESIS, SPEC, TX_VERSION + 1),
    ):
        other_keys, other_items = signature_items([xt.encode()], births, genesis, spec, version)
        assert other_keys[0] != key and other_items[0][1] != item[1]
        assert not verify_multi(*other_items[0])


def test_a_changed_signed_byte_fails_its_check() -> None:
    xt = _signed(ED25519, b"remark", 9, 0, IMMORTAL)
    encoded = bytearray(xt.encode())
    (key,), ((signer, msg, sig),) = signature_items([bytes(encoded)], [GENESIS], GENESIS, SPEC, TX_VERSION)
    for at in (len(encoded) - 1, 3 + 32, len(encoded) - 3):  # the call, the signature, the nonce's byte
        tampered = bytearray(encoded)
        tampered[at] ^= 1
        (other_key,), (item,) = signature_items([bytes(tampered)], [GENESIS], GENESIS, SPEC, TX_VERSION)
        assert other_key != key
        assert not verify_multi(*item)


def test_births_must_match_the_extrinsics() -> None:
    xt = _signed(ED25519, b"x", 0, 0, IMMORTAL)
    with pytest.raises(ValueError):
        signature_items([xt.encode()], [], GENESIS, SPEC, TX_VERSION)


def test_the_compiled_cut_is_the_python_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """The compiled cut (btt_chain/node/_sigbatch.c) against the Python loop on every case above and an inherent,
    together in one block; and encodings no decoded block has fall back to the Python loop, which raises its error."""
    from btt_chain.node import precheck

    if precheck._NATIVE_ITEMS is None:
        pytest.skip("btt_chain/node/_sigbatch.c is not built")
    xts = [_signed(*case) for case in CASES]
    encodings = [x.encode() for x in xts] + [Inherent(RUNTIME.call("timestamp.set", 6_000)).encode()]
    births = [GENESIS if x.era.immortal else BIRTH for x in xts] + [GENESIS]
    compiled = signature_items(encodings, births, GENESIS, SPEC, TX_VERSION)
    monkeypatch.setattr(precheck, "_NATIVE_ITEMS", None)
    assert compiled == signature_items(encodings, births, GENESIS, SPEC, TX_VERSION)
    monkeypatch.undo()
    for bad in ([b""], [b"\x04"], [encodings[0][:40]]):
        with pytest.raises((IndexError, KeyError)):
            signature_items(bad, [GENESIS], GENESIS, SPEC, TX_VERSION)


def test_the_compiled_extrinsics_root_is_merkle_root() -> None:
    """`extrinsic_hashes_root` (btt_chain/node/_sigbatch.c) against `blake2b_256` and `merkle_root` for every count
    from none to 70 (odd nodes promoted at each level) and encodings of every length."""
    import random

    from btt_chain.node.precheck import extrinsic_hashes_root
    from btt_chain.primitives.hashing import merkle_root

    rng = random.Random(4)
    if extrinsic_hashes_root([]) is None:
        pytest.skip("btt_chain/node/_sigbatch.c is not built")
    for n in [*range(0, 20), 31, 32, 33, 64, 65, 70]:
        encodings = [rng.randbytes(rng.choice([0, 1, 127, 128, 129, 300])) for _ in range(n)]
        hashes = [blake2b_256(e) for e in encodings]
        assert extrinsic_hashes_root(encodings) == (hashes, merkle_root(hashes))
