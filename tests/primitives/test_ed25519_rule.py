"""The chain's ed25519 rule (`btt_chain.primitives.ed25519`: strict RFC 8032 as libsodium applies it, checks 1-3 made
by the project) pinned by the 15 vectors of novifinancial/ed25519-speccheck: each vector's verdict and the first check
it fails, the same through `verify_multi`, the table in docs/wire-format.md, and a pure-Python reference of the curve
(here only, never on a node's path) that classifies every vector and so shows that the verdicts follow from the
stated rule, not from a library's version.

tests/data/ed25519_speccheck_cases.json is `scripts/cases.json` of github.com/novifinancial/ed25519-speccheck at
be19d3781879d4e0a17c8fafc0baf8b188a6c184 (Apache-2.0), unchanged: its 15 vectors (the repository's top-level
cases.json holds a later selection of 12)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import nacl.bindings
import nacl.exceptions
import nacl.signing
import pytest

from btt_chain.primitives import ed25519
from btt_chain.primitives.keys import verify as keys_verify
from btt_chain.primitives.signatures import verify_multi

CASES_FILE = Path(__file__).parents[1] / "data" / "ed25519_speccheck_cases.json"
CASES_SHA256 = "ce45ee88410445d3c5e18c50eb7ddff81daffad16ac3dabb6f6ed291dcaf7722"
DOC = (Path(__file__).parents[2] / "docs" / "wire-format.md").read_text()

FIRST_FAILING_CHECK: dict[int, int | None] = {
    0: 3, 1: 3, 2: 3, 3: 3, 4: 3, 5: 3,  # a small-order A or R
    6: 4, 8: 4,  # only the cofactored equation holds
    7: None,  # mixed-order A and R, both equations hold: accepted
    9: 1, 10: 1,  # S >= L
    11: 2, 12: 2,  # a non-canonical R (p, which is 0: of small order too)
    13: 3, 14: 3,  # A is the point of order 2
}
"""The rule's verdict on each vector: the first of its checks (1 S < L, 2 canonical A and R, 3 neither of small order,
4 the cofactorless equation) that the vector fails, None for the one it accepts."""
ZIP215_ACCEPTS = {0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 13, 14}
"""What ed25519-zebra (ZIP-215, Substrate's sp_core ed25519) accepts: the documentation's table says so."""


def cases() -> list[tuple[bytes, bytes, bytes]]:
    return [(bytes.fromhex(c["message"]), bytes.fromhex(c["pub_key"]), bytes.fromhex(c["signature"]))
            for c in json.loads(CASES_FILE.read_text())]


def test_the_vectors_are_speccheck_s_fifteen() -> None:
    assert hashlib.sha256(CASES_FILE.read_bytes()).hexdigest() == CASES_SHA256
    assert len(cases()) == 15 == len(FIRST_FAILING_CHECK)


@pytest.mark.parametrize("index", range(15))
def test_each_vector_gets_the_rules_verdict_on_every_path(index: int) -> None:
    message, public, signature = cases()[index]
    accepted = FIRST_FAILING_CHECK[index] is None
    assert ed25519.verify(public, message, signature) is accepted
    assert keys_verify(public, message, signature) is accepted  # block seals and finality votes
    assert verify_multi(public, message, b"\x00" + signature) is accepted  # extrinsics


def test_checks_1_to_3_are_the_projects_not_the_librarys(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a library that accepted every signature, only what fails the equation alone (check 4) gets through: a
    library change can move check 4 only, and vectors 6, 7 and 8 pin that."""
    monkeypatch.setattr(nacl.bindings, "crypto_sign_open", lambda signed, public: signed[64:])
    through = {i for i, (m, a, s) in enumerate(cases()) if ed25519.verify(a, m, s)}
    assert through == {i for i, check in FIRST_FAILING_CHECK.items() if check in (None, 4)} == {6, 7, 8}


def test_the_other_columns_are_what_the_libraries_answer() -> None:
    """ZIP-215 is ed25519-zebra's answer (the bindings substrate-interface installs), libsodium PyNaCl's own."""
    zebra = pytest.importorskip("ed25519_zebra")
    assert {i for i, (m, a, s) in enumerate(cases()) if zebra.ed_verify(s, m, a)} == ZIP215_ACCEPTS

    def libsodium(message: bytes, public: bytes, signature: bytes) -> bool:
        try:
            nacl.signing.VerifyKey(public).verify(message, signature)
        except nacl.exceptions.BadSignatureError:
            return False
        return True

    assert {i for i, c in enumerate(cases()) if libsodium(*c)} == {7}


def test_the_documents_table_is_the_rules() -> None:
    block = DOC.split("<!-- ed25519-vectors:begin -->\n", 1)[1].split("<!-- ed25519-vectors:end -->", 1)[0]
    rows = [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in block.strip().splitlines()[2:]]
    assert [int(r[0]) for r in rows] == list(range(15))
    for number, _what, ours, zip215, libsodium in rows:
        check = FIRST_FAILING_CHECK[int(number)]
        assert ours == ("accepted" if check is None else f"refused ({check})"), number
        assert zip215 == ("accepted" if int(number) in ZIP215_ACCEPTS else "refused"), number
        assert libsodium == ("accepted" if check is None else "refused"), number


def test_honest_signatures_verify_and_small_changes_do_not() -> None:
    for n in range(50):
        key = nacl.signing.SigningKey(hashlib.sha256(b"key %d" % n).digest())
        message = b"message %d" % n
        signature = key.sign(message).signature
        public = bytes(key.verify_key)
        assert ed25519.verify(public, message, signature)
        assert not ed25519.verify(public, message + b"!", signature)
        assert not ed25519.verify(public, message, signature[:-1])
        high_s = signature[:32] + (int.from_bytes(signature[32:], "little") + ed25519.L).to_bytes(32, "little")
        assert not ed25519.verify(public, message, high_s)  # S + L: the same point, refused by check 1


# --- a reference of the curve, to show the verdicts follow from the stated rule ------------------------------------

P, L = ed25519.P, ed25519.L
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)
Point = tuple[int, int, int, int]  # extended coordinates (X, Y, Z, T)
IDENTITY: Point = (0, 1, 1, 0)


def add(p: Point, q: Point) -> Point:
    a = (p[1] - p[0]) * (q[1] - q[0]) % P
    b = (p[1] + p[0]) * (q[1] + q[0]) % P
    c = 2 * D * p[3] * q[3] % P
    d = 2 * p[2] * q[2] % P
    e, f, g, h = b - a, d - c, d + c, b + a
    return e * f % P, g * h % P, f * g % P, e * h % P


def mul(k: int, p: Point) -> Point:
    q = IDENTITY
    while k:
        if k & 1:
            q = add(q, p)
        p, k = add(p, p), k >> 1
    return q


def same(p: Point, q: Point) -> bool:
    return (p[0] * q[2] - q[0] * p[2]) % P == 0 and (p[1] * q[2] - q[1] * p[2]) % P == 0


def decode(encoding: bytes) -> Point | None:
    """Any encoding of a point (non-canonical y taken mod p), as the lenient decoders do; None if not on the curve."""
    value = int.from_bytes(encoding, "little")
    y, sign = (value & ((1 << 255) - 1)) % P, value >> 255
    xx = (y * y - 1) * pow(D * y * y + 1, P - 2, P) % P
    x = pow(xx, (P + 3) // 8, P)
    if (x * x - xx) % P:
        x = x * SQRT_M1 % P
    if (x * x - xx) % P:
        return None
    if x & 1 != sign:
        x = P - x
    return x, y, 1, x * y % P


def y_of(p: Point) -> int:
    return p[1] * pow(p[2], P - 2, P) % P


BASE = decode((4 * pow(5, P - 2, P) % P).to_bytes(32, "little"))


def order_8_point() -> Point:
    """A point of order 8: the torsion part, [L]Q, of the first point Q of the curve that has one of order 8."""
    for y in range(2, 100):
        q = decode(y.to_bytes(32, "little"))
        if q is not None and not same(mul(4, mul(L, q)), IDENTITY):
            return mul(L, q)
    raise AssertionError("no point of order 8 found")


def reference_first_failing_check(message: bytes, public: bytes, signature: bytes) -> int | None:
    s = int.from_bytes(signature[32:], "little")
    if s >= L:
        return 1
    if any(int.from_bytes(e, "little") & ((1 << 255) - 1) >= P for e in (public, signature[:32])):
        return 2
    a, r = decode(public), decode(signature[:32])
    assert a is not None and r is not None and BASE is not None
    if same(mul(8, a), IDENTITY) or same(mul(8, r), IDENTITY):
        return 3
    k = int.from_bytes(hashlib.sha512(signature[:32] + public + message).digest(), "little") % L
    return None if same(mul(s, BASE), add(r, mul(k, a))) else 4


def test_the_reference_of_the_stated_rule_gives_the_same_verdicts() -> None:
    assert {i: reference_first_failing_check(*c) for i, c in enumerate(cases())} == FIRST_FAILING_CHECK


def test_the_small_order_ys_are_the_curves_eight_torsion_points() -> None:
    torsion = order_8_point()  # it generates all eight
    assert {y_of(mul(i, torsion)) for i in range(8)} == set(ed25519.SMALL_ORDER_Y)


def test_under_zip215_anyone_signs_for_a_small_order_account_and_here_nobody_does() -> None:
    """64 zero bytes sign every message for the all-zero account (order 4) and for 0x01 00...00 (the neutral
    element) under ed25519-zebra, Substrate's rule; this rule refuses them (check 3)."""
    zebra = pytest.importorskip("ed25519_zebra")  # ed25519-zebra's bindings, installed with substrate-interface
    for account in (bytes(32), b"\x01" + bytes(31)):
        for message in (b"transfer everything to me", b"another message"):
            assert zebra.ed_verify(bytes(64), message, account)
            assert not ed25519.verify(account, message, bytes(64))
            assert not verify_multi(account, message, bytes(65))
