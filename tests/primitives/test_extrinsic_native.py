"""A block's common signed extrinsics decoded compiled (btt_chain/primitives/_extrinsic_native.c, through
`AnyExtrinsicField.decode_many`) against the Python decoder: random blocks of every scheme, era, nonce and tip size
(each compact form and its boundaries), inherents and other calls between them; then every truncation and many
single-byte changes and insertions of a block's encoding, which must decode to the very same values or fail with the
very same error either way. The compiled part takes only what it is sure of and leaves the rest to Python."""

from __future__ import annotations

import random
from typing import Any

import pytest

from btt_chain.primitives import extrinsic
from btt_chain.primitives.block import Block, Digest, Header
from btt_chain.primitives.errors import DecodeError
from btt_chain.primitives.extrinsic import Call, Era, Extrinsic, Inherent
from btt_chain.primitives.signatures import ECDSA, ED25519, SIGNATURE_LENGTHS, SR25519

pytestmark = pytest.mark.skipif(extrinsic._native is None, reason="_extrinsic_native.c is not built")

COMPACT_EDGES = [0, 1, 63, 64, 16383, 16384, 2**30 - 1, 2**30, 2**32 - 1]
TIP_EDGES = [*COMPACT_EDGES, 2**32, 2**64 - 1, 2**64, 2**127, 2**128 - 1]


def _xt(rng: random.Random) -> Any:
    if rng.random() < 0.05:
        return Inherent(Call(3, 0, rng.randbytes(rng.randrange(1, 12))))
    scheme = rng.choice([ED25519, SR25519, ECDSA])
    era = Era(0, 0) if rng.random() < 0.8 else Era.mortal(64, rng.randrange(0, 10_000))
    nonce = rng.choice(COMPACT_EDGES) if rng.random() < 0.4 else rng.randrange(0, 2**32)
    tip = rng.choice(TIP_EDGES) if rng.random() < 0.4 else rng.randrange(0, 10**20)
    call = Call(rng.randrange(256), rng.randrange(256), rng.randbytes(rng.choice([0, 1, 33, 40, 300])))
    return Extrinsic(rng.randbytes(32), nonce, tip, era, call, rng.randbytes(SIGNATURE_LENGTHS[scheme]), scheme)


def _block(rng: random.Random, n: int) -> bytes:
    header = Header(bytes(32), 1, 1, 6_000, bytes(32), bytes(32), bytes(32), bytes(32), Digest())
    return Block(header, tuple(_xt(rng) for _ in range(n))).encode()


def _decode(raw: bytes) -> Any:
    """(the extrinsics' fields and encodings) or the error, as Block.decode gives it."""
    try:
        block = Block.decode(raw)
    except DecodeError as exc:
        return ("error", str(exc))
    return [(type(x).__name__, repr(x), x.encode(), x.__dict__.get("_encoded")) for x in block.extrinsics]


def _both(raw: bytes, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    compiled = _decode(raw)
    with monkeypatch.context() as m:
        m.setattr(extrinsic, "_native", None)
        python = _decode(raw)
    return compiled, python


def test_random_blocks_decode_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(8)
    for _ in range(30):
        raw = _block(rng, rng.randrange(0, 60))
        compiled, python = _both(raw, monkeypatch)
        assert compiled == python
        assert compiled[0] != "error"


def test_damaged_blocks_decode_or_fail_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(9)
    raw = _block(rng, 12)
    cuts = range(0, len(raw), 7)
    for cut in cuts:
        compiled, python = _both(raw[:cut], monkeypatch)
        assert compiled == python, cut
    for _ in range(1500):
        at = rng.randrange(len(raw))
        changed = bytearray(raw)
        roll = rng.random()
        if roll < 0.6:
            changed[at] = rng.randrange(256)
        elif roll < 0.8:
            changed[at:at] = bytes([rng.randrange(256)])
        else:
            del changed[at]
        compiled, python = _both(bytes(changed), monkeypatch)
        assert compiled == python, at


def test_the_compiled_part_takes_the_common_ones() -> None:
    rng = random.Random(10)
    xts = [Extrinsic(rng.randbytes(32), n, 0, Era(0, 0), Call(5, 0, rng.randbytes(40)), rng.randbytes(64), ED25519)
           for n in range(20)]
    data = b"".join(x.encode() for x in xts)
    run, end = extrinsic._native.decode_run(data, 0, 20, Extrinsic, Call, extrinsic.IMMORTAL, SIGNATURE_LENGTHS,
                                            extrinsic.MAX_EXTRINSIC_SIZE, extrinsic.NONCE_MAX)
    assert len(run) == 20 and end == len(data) and list(run) == xts
    mortal = Extrinsic(rng.randbytes(32), 0, 0, Era.mortal(64, 5), Call(5, 0, b""), rng.randbytes(64), ED25519)
    data = xts[0].encode() + mortal.encode() + xts[1].encode()
    run, end = extrinsic._native.decode_run(data, 0, 3, Extrinsic, Call, extrinsic.IMMORTAL, SIGNATURE_LENGTHS,
                                            extrinsic.MAX_EXTRINSIC_SIZE, extrinsic.NONCE_MAX)
    assert len(run) == 1 and end == len(xts[0].encode())  # stopped before the mortal one, for Python to take
