"""The decoys' random stream: SHAKE-256 in counter mode (re-derived here from hashlib as the oracle), the same
numbers for the same seed and domain and unrelated ones otherwise, each conversion in its stated range and
unbiased, and short seeds or bad weights refused."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest

from btt_chain.models.decoy_rng import MIN_SEED_BYTES, DecoyStream

SEED = bytes(range(32))


def test_the_stream_is_shake256_of_the_key_and_a_counter() -> None:
    domain = b"draw"
    key = hashlib.shake_256(b"btt-chain/decoys/v1" + len(domain).to_bytes(4, "little") + domain + SEED).digest(32)
    first = hashlib.shake_256(key + (0).to_bytes(8, "little")).digest(16)
    second = hashlib.shake_256(key + (1).to_bytes(8, "little")).digest(8)
    expected = [((int.from_bytes(w, "little") >> 11) + 0.5) / 2**53 for w in (first[:8], first[8:], second)]
    stream = DecoyStream(SEED, domain)
    assert stream.uniform(2).tolist() == expected[:2]
    assert stream.uniform(1).tolist() == expected[2:]


def test_same_seed_and_domain_give_the_same_numbers_and_others_do_not() -> None:
    a, b = DecoyStream(SEED, b"x"), DecoyStream(SEED, b"x")
    assert a.normal(50).tolist() == b.normal(50).tolist()
    assert a.below(7, 20).tolist() == b.below(7, 20).tolist()
    base = DecoyStream(SEED, b"x").uniform(8)
    for other in (DecoyStream(SEED, b"y"), DecoyStream(bytes(31) + b"\x01", b"x"), DecoyStream(SEED + b"\x00", b"x")):
        assert not np.isin(other.uniform(8), base).any()


@pytest.mark.parametrize("seed", [b"", bytes(MIN_SEED_BYTES - 1), "a string of more than sixteen characters"])
def test_short_or_non_byte_seeds_are_refused(seed: object) -> None:
    with pytest.raises(ValueError, match="at least 16 secret bytes"):
        DecoyStream(seed)  # type: ignore[arg-type]


def test_uniforms_lie_strictly_inside_the_unit_interval_and_normals_are_standard() -> None:
    stream = DecoyStream(SEED)
    u = stream.uniform(20_000)
    assert ((u > 0) & (u < 1)).all()
    n = 20_000
    z = stream.normal(n)
    assert len(z) == n and len(stream.normal(3)) == 3  # an odd count
    # mean within 5 standard errors of 0; variance within 5 standard errors (sqrt(2/n)) of 1
    assert abs(z.mean()) < 5 / math.sqrt(n)
    assert abs(z.var() - 1) < 5 * math.sqrt(2 / n)


def test_below_covers_its_range_evenly_and_refuses_bad_bounds() -> None:
    stream = DecoyStream(SEED)
    draws = stream.below(6, 12_000)
    assert draws.min() == 0 and draws.max() == 5
    counts = np.bincount(draws, minlength=6)
    chi2 = float(((counts - 2000) ** 2 / 2000).sum())
    assert chi2 < 20.5, counts  # the 0.001 critical value of chi-square with 5 degrees of freedom
    assert stream.below(1, 5).tolist() == [0] * 5
    for bound in (0, -3, 2**32 + 1):
        with pytest.raises(ValueError, match="a bound is 1 to 2"):
            stream.below(bound, 1)


def test_choice_never_picks_a_zero_weight_and_refuses_bad_weights() -> None:
    stream = DecoyStream(SEED)
    picks = stream.choice([0.0, 3.0, 0.0, 1.0, 0.0], 4000)
    assert set(np.unique(picks).tolist()) == {1, 3}
    assert abs((picks == 1).mean() - 0.75) < 0.04
    for weights in ([], [0.0, 0.0], [1.0, -1.0], [1.0, float("nan")], [[1.0]]):
        with pytest.raises(ValueError, match="weights must be"):
            stream.choice(weights, 1)
