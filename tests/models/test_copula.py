"""The copula behind the decoys: normal quantiles as the standard library computes them, tied values sharing a
score, a factor whose correlation is valid even from a broken estimate, samples that keep each feature's values
(or, smoothed, its mean and variance) and the rows' dependence, and k-means that finds separated clusters the same
way every time. Bad arguments are refused."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pytest

from btt_chain.models.copula import (
    correlation_factor,
    fit_component,
    kmeans,
    latent_correlation,
    normal_quantile,
    normal_scores,
)
from btt_chain.models.decoy_rng import DecoyStream

SEED = b"copula tests seed 0123456789abcdef"


def _rows(n: int = 400) -> np.ndarray:
    rng = np.random.default_rng(7)
    a = rng.normal(0, 10, n)
    return np.column_stack([a, 0.8 * a + rng.normal(0, 6, n), np.exp(rng.normal(2, 0.5, n)), np.full(n, 3.0)])


def test_normal_quantile_is_the_standard_librarys_and_refuses_the_ends() -> None:
    p = np.array([[0.001, 0.5], [0.3, 0.999]])
    q = normal_quantile(p)
    assert q.shape == p.shape
    assert q.tolist() == [[NormalDist().inv_cdf(v) for v in row] for row in p.tolist()]
    for bad in ([0.0], [1.0], [0.5, -0.1], [float("nan")]):
        with pytest.raises(ValueError, match="strictly between 0 and 1"):
            normal_quantile(bad)


def test_normal_scores_keep_the_order_and_give_ties_one_score() -> None:
    x = np.array([[3.0], [1.0], [3.0], [2.0], [3.0]])
    z = normal_scores(x)[:, 0]
    assert z[0] == z[2] == z[4] > z[3] > z[1]
    assert z[4] == pytest.approx(NormalDist().inv_cdf((3 + 0.5) / 5))  # mid-rank of ranks 2, 3, 4


def test_latent_correlation_leaves_a_constant_feature_uncorrelated() -> None:
    c = latent_correlation(_rows())
    assert c[3].tolist() == [0.0, 0.0, 0.0, 1.0] and np.allclose(np.diag(c), 1)
    assert c[0, 1] > 0.7 and abs(c[0, 2]) < 0.2


def test_the_factor_of_a_broken_correlation_is_a_valid_one() -> None:
    broken = np.array([[1.0, 0.99, -0.99], [0.99, 1.0, 0.99], [-0.99, 0.99, 1.0]])  # not positive semi-definite
    assert np.linalg.eigvalsh(broken).min() < 0
    factor = correlation_factor(broken)
    c = factor @ factor.T
    assert np.allclose(np.diag(c), 1) and np.linalg.eigvalsh(c).min() > 0


def test_samples_keep_each_features_values_and_the_dependence() -> None:
    x = _rows()
    comp = fit_component(x)
    stream = DecoyStream(SEED)
    n = 4000
    s = comp.sample(stream.normal(n * 4).reshape(n, 4), stream.normal(n * 4).reshape(n, 4))
    for j in range(4):
        assert np.isin(s[:, j], x[:, j]).all()  # no smoothing: only values the rows hold
    assert abs(np.corrcoef(s[:, 0], s[:, 1])[0, 1] - np.corrcoef(x[:, 0], x[:, 1])[0, 1]) < 0.05
    assert np.allclose(np.sort(s[:, 0])[[n // 10, n // 2, 9 * n // 10]], np.percentile(x[:, 0], [10, 50, 90]),
                       atol=2.5)


def test_smoothing_invents_values_but_keeps_mean_and_variance() -> None:
    x = _rows()[:, :3]
    comp = fit_component(x, smooth=True)
    assert (comp.bandwidth > 0).all() and (comp.shrink < 1).all()
    stream = DecoyStream(SEED)
    n = 20_000
    s = comp.sample(stream.normal(n * 3).reshape(n, 3), stream.normal(n * 3).reshape(n, 3))
    assert not np.isin(s[:, 0], x[:, 0]).all()
    se_mean = x.std(axis=0) / np.sqrt(n)
    assert (np.abs(s.mean(axis=0) - x.mean(axis=0)) < 5 * se_mean + 1e-9).all()
    assert np.allclose(s.var(axis=0) / x.var(axis=0), 1, atol=0.05)


def test_shrinkage_pulls_the_correlation_toward_the_prior() -> None:
    x = _rows()[:, :2]
    own = fit_component(x)
    pulled = fit_component(x, prior=np.eye(2), shrinkage=1.0)
    assert (own.factor @ own.factor.T)[0, 1] > 0.7
    assert abs((pulled.factor @ pulled.factor.T)[0, 1]) < 1e-9


def test_a_component_refuses_one_row_and_shrinkage_outside_0_to_1() -> None:
    with pytest.raises(ValueError, match="at least two rows"):
        fit_component(np.zeros((1, 3)))
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError, match="shrinkage is from 0 to 1"):
            fit_component(_rows(), np.eye(4), bad)


def test_kmeans_finds_separated_clusters_the_same_way_every_time() -> None:
    rng = np.random.default_rng(3)
    centres = np.array([[0.0, 0.0], [50.0, 0.0], [0.0, 50.0]])
    truth = np.repeat(np.arange(3), 40)
    x = centres[truth] + rng.normal(0, 1, (120, 2))
    a = kmeans(x, 3, DecoyStream(SEED, b"k"))
    b = kmeans(x, 3, DecoyStream(SEED, b"k"))
    assert a.tolist() == b.tolist()
    # one cluster per true group, whatever the numbering
    assert {tuple(sorted(set(a[truth == g].tolist()))) for g in range(3)} == {(0,), (1,), (2,)}


def test_kmeans_drops_empty_clusters_and_refuses_bad_k() -> None:
    x = np.zeros((10, 2))
    assert set(kmeans(x, 4, DecoyStream(SEED)).tolist()) == {0}  # identical rows: one cluster
    for k in (0, 11):
        with pytest.raises(ValueError, match="k is 1 to the number of rows"):
            kmeans(x, k, DecoyStream(SEED))
