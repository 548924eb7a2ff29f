"""A Gaussian copula over a handful of rows, the building block of the decoy generator: each feature keeps its own
empirical distribution (the sorted values the rows hold, optionally smoothed by a Gaussian kernel), and the
features' dependence is a Gaussian's correlation, estimated on normal scores of the rows' ranks. Sampling draws a
latent normal vector, maps each coordinate to the feature's empirical quantile, and adds the kernel's jitter
(shrunk toward the feature's mean so that smoothing keeps its variance: the smoothed bootstrap of Silverman,
Density Estimation, 1986, section 6.4).

Also here: the k-means clustering that splits a class into the components of its mixture (Lloyd's algorithm from
k-means++ seeds drawn from a `DecoyStream`, so the split is the same wherever it is computed from the same rows).
Numpy and the standard library only: a clinic running the node's install (no scikit-learn, no scipy) fits and
samples these.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

from btt_chain.models.decoy_rng import DecoyStream

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

MIN_EIGENVALUE = 1e-6
"""Eigenvalues of an estimated correlation are held at least this large, so its factor exists (a component of
fewer rows than features has a singular correlation)."""


def normal_quantile(p: npt.ArrayLike) -> F64:
    """The standard normal quantile of each value of `p` (all strictly between 0 and 1)."""
    a = np.asarray(p, dtype=np.float64)
    if a.size and not ((a > 0) & (a < 1)).all():
        raise ValueError("normal quantiles are of probabilities strictly between 0 and 1")
    values, inverse = np.unique(a, return_inverse=True)
    inv = NormalDist().inv_cdf
    return np.array([inv(float(v)) for v in values], dtype=np.float64)[inverse].reshape(a.shape)


def normal_scores(x: F64) -> F64:
    """Each column's values replaced by the normal quantile of their mid-rank, (rank + 0.5) / n (tied values
    share their average rank, so a column's ties keep one score)."""
    n, d = x.shape
    scores = np.empty((n, d), dtype=np.float64)
    for j in range(d):
        values, inverse, counts = np.unique(x[:, j], return_inverse=True, return_counts=True)
        starts = np.cumsum(counts) - counts
        mid = starts + (counts - 1) / 2.0
        scores[:, j] = normal_quantile((mid + 0.5) / n)[inverse]
    return scores


def latent_correlation(x: F64) -> F64:
    """The correlation of the rows' normal scores; a feature constant over the rows is uncorrelated with all."""
    z = normal_scores(x)
    z = z - z.mean(axis=0)
    norms = np.sqrt((z * z).sum(axis=0))
    live = norms > 1e-12
    c = np.eye(x.shape[1])
    if live.any():
        zl = z[:, live] / norms[live]
        c[np.ix_(live, live)] = zl.T @ zl
    np.fill_diagonal(c, 1.0)
    return c


def correlation_factor(c: F64) -> F64:
    """A factor L with L @ L.T the correlation nearest `c` with eigenvalues at least MIN_EIGENVALUE, rescaled to a
    unit diagonal (so every latent coordinate stays standard normal)."""
    w, v = np.linalg.eigh((c + c.T) / 2.0)
    factor = v * np.sqrt(np.maximum(w, MIN_EIGENVALUE))
    scale = np.sqrt((factor * factor).sum(axis=1))
    return factor / scale[:, None]


def kernel_bandwidth(x: F64) -> F64:
    """Silverman's rule per column, 0.9 * min(std, IQR / 1.34) * n ** -0.2 (0 for a constant column)."""
    n = x.shape[0]
    std = x.std(axis=0)
    q75, q25 = np.percentile(x, [75, 25], axis=0)
    spread = np.minimum(std, (q75 - q25) / 1.34)
    spread = np.where(spread > 0, spread, std)
    return np.asarray(0.9 * spread * n ** -0.2, dtype=np.float64)


@dataclass(frozen=True, eq=False)
class CopulaComponent:
    """One Gaussian copula: its rows' sorted values per feature, the normal-score cut points between them, the
    latent correlation's factor and the kernel bandwidth per feature (zeros: no smoothing)."""

    sorted_values: F64
    """(n, d): column j is feature j's values over the component's rows, ascending."""
    cuts: F64
    """(n - 1,): the normal quantiles of 1/n, ..., (n-1)/n; a latent coordinate above i of them takes value i."""
    factor: F64
    """(d, d): L with L @ L.T the latent correlation."""
    bandwidth: F64
    """(d,): the standard deviation of the Gaussian kernel added to each feature's value."""
    centre: F64
    """(d,): each feature's mean over the rows."""
    shrink: F64
    """(d,): 1 / sqrt(1 + bandwidth**2 / variance): a smoothed value is pulled toward the centre by this, so the
    kernel widens no feature's spread (its mean and variance stay the rows')."""

    @property
    def rows(self) -> int:
        return int(self.sorted_values.shape[0])

    def sample(self, latent: F64, jitter: F64) -> F64:
        """Rows from standard normal draws: `latent` (m, d) through the correlation to the empirical quantiles,
        plus `jitter` (m, d) scaled by the bandwidth."""
        z = latent @ self.factor.T
        index = np.searchsorted(self.cuts, z, side="right")
        values = self.sorted_values[index, np.arange(self.sorted_values.shape[1])]
        # centre + (value + jitter - centre) * shrink, written so that an unsmoothed feature keeps its value exactly
        smoothed = values + jitter * self.bandwidth * self.shrink + (values - self.centre) * (self.shrink - 1.0)
        return np.asarray(smoothed, dtype=np.float64)


def fit_component(x: F64, prior: F64 | None = None, shrinkage: float = 0.0, smooth: bool = False) -> CopulaComponent:
    """The copula of rows `x` (n >= 2, d); its correlation is shrunk toward `prior` by `shrinkage` (0..1): a
    component of few rows borrows the dependence of its whole class."""
    n, d = x.shape
    if n < 2:
        raise ValueError("a copula needs at least two rows")
    if not 0.0 <= shrinkage <= 1.0:
        raise ValueError(f"shrinkage is from 0 to 1, got {shrinkage}")
    c = latent_correlation(x)
    if prior is not None and shrinkage > 0:
        c = (1.0 - shrinkage) * c + shrinkage * prior
    cuts = normal_quantile(np.arange(1, n) / n)
    bandwidth = kernel_bandwidth(x) if smooth else np.zeros(d)
    variance = x.var(axis=0)
    shrink = np.where(variance > 0, 1.0 / np.sqrt(1.0 + bandwidth**2 / np.where(variance > 0, variance, 1.0)), 1.0)
    return CopulaComponent(np.sort(x, axis=0), cuts, correlation_factor(c), bandwidth, x.mean(axis=0), shrink)


def kmeans(x: F64, k: int, stream: DecoyStream, iterations: int = 30) -> I64:
    """Cluster index (0..k'-1, k' <= k: empty clusters dropped) of each row of `x`: k-means++ seeds, then
    Lloyd's iterations until the assignment stops changing."""
    n = x.shape[0]
    if not 1 <= k <= n:
        raise ValueError(f"k is 1 to the number of rows ({n}), got {k}")
    centres = [x[int(stream.below(n, 1)[0])]]
    for _ in range(1, k):
        d2 = np.min([((x - c) ** 2).sum(axis=1) for c in centres], axis=0)
        if d2.sum() <= 0:
            break
        centres.append(x[int(stream.choice(d2, 1)[0])])
    centre = np.array(centres)
    assign = np.full(n, -1, dtype=np.int64)
    for _ in range(iterations):
        d2 = (x * x).sum(axis=1)[:, None] + (centre * centre).sum(axis=1)[None, :] - 2.0 * x @ centre.T
        new = np.argmin(d2, axis=1).astype(np.int64)
        if (new == assign).all():
            break
        assign = new
        centre = np.array([x[assign == j].mean(axis=0) if (assign == j).any() else centre[j]
                           for j in range(len(centre))])
    _, dense = np.unique(assign, return_inverse=True)
    return dense.astype(np.int64)
