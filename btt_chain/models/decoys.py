"""Decoy cases for private jobs (issue 51): fresh cases of the same distribution as a clinic's real ones, drawn
once from the clinic's secret seed, never equal or close to any published case, so that a provider who sees a
job's plaintexts cannot tell which items the chain will check.

The generator, fitted per class on int8 rows of the model's input (the model's own quantisation):
- a class is a mixture of Gaussian copulas (`copula.py`), one per k-means cluster of its rows: each feature keeps
  its empirical distribution within the cluster (kernel-smoothed for continuous features), the features'
  dependence is the cluster's latent correlation shrunk toward the class's;
- k is calibrated per class on the fit rows alone, against the attack a provider can run with public data: the
  distance from a case to its nearest published case. A fresh real case lies about as far from the fit rows as
  a fit row lies from the others (leave one out), so k is the candidate whose decoys' median nearest-neighbour
  distance is nearest that target (k = 1 draws from one smooth copula, far from every row; a large k resamples
  near the rows);
- a draw picks a class by its share, a cluster by its size, samples, rounds and clamps to int8, and is refused if
  its L1 distance to a published row or to an earlier decoy is at most `min_distance` (the 1st percentile of the
  published rows' own nearest-neighbour distances: a real case is that close to a published one 1% of the time).

Numpy and the standard library only: the clinic fits and draws without the `models` extra.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from btt_chain.models.copula import CopulaComponent, fit_component, kmeans, latent_correlation
from btt_chain.models.decoy_rng import MIN_SEED_BYTES, DecoyStream
from btt_chain.primitives.errors import ConfigError

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
I8 = npt.NDArray[np.int8]

MIN_CLASS_ROWS = 8
"""A class is modelled from at least this many rows (fewer say too little about its spread)."""
CLOSE_QUANTILE = 0.01
"""`min_distance` is this quantile of the published rows' nearest-neighbour L1 distances."""
CLOSE_PROBES = 512
"""Published rows (evenly spaced) whose nearest-neighbour distances estimate that quantile."""
CALIBRATION_DRAWS = 512
"""Decoys drawn per class and candidate k to calibrate k."""
MAX_ROUNDS = 64
"""Batches a draw may take before it gives up (only a published set crowding the whole distribution needs more
than one or two)."""
_FIT_SEED = hashlib.sha256(b"btt-chain/decoys/fit").digest()
"""The public seed of fitting's own randomness (k-means seeds, calibration draws): a fit is reproducible."""


class DecoyError(ConfigError):
    """Decoys cannot be fitted or drawn as asked."""


@dataclass(frozen=True)
class DecoyConfig:
    """How a generator is fitted."""

    smooth: bool = False
    """Kernel-smooth each feature's empirical distribution: for continuous measurements (a real case takes values
    no fit row took); not for counts such as pixel intensities."""
    shrinkage: float = 0.5
    """How far a cluster's latent correlation is pulled toward its class's (0: its own, 1: the class's)."""
    components: Mapping[int, int] | None = None
    """Clusters per class label; None calibrates them (see the module docstring)."""
    min_component_rows: int = 8
    """A cluster holds at least this many rows on average: k is at most rows // this."""
    candidates: tuple[int, ...] = (1, 2, 3, 4, 6, 8, 12, 16, 24)
    """The k calibration tries."""


@dataclass(frozen=True, eq=False)
class ClassMixture:
    """One class's mixture: its label, its share of the fit rows, and its clusters' copulas with their weights."""

    label: int
    share: float
    weights: F64
    components: tuple[CopulaComponent, ...]


@dataclass(frozen=True, eq=False)
class DecoyGenerator:
    """A fitted generator: rows of `width` int8 values, per-class mixtures, and the published rows decoys keep at
    an L1 distance above `min_distance` from."""

    width: int
    classes: tuple[ClassMixture, ...]
    published: I8
    min_distance: int

    @property
    def labels(self) -> tuple[int, ...]:
        return tuple(c.label for c in self.classes)

    def components(self) -> dict[int, int]:
        """Clusters per class label (what calibration chose)."""
        return {c.label: len(c.components) for c in self.classes}


@dataclass(frozen=True, eq=False)
class Decoys:
    """Drawn decoys: int8 rows (count, width) and the class each was drawn from."""

    inputs: I8
    labels: I64

    def items(self) -> tuple[bytes, ...]:
        """Each decoy as a job's input item (its int8 values, in order)."""
        return tuple(row.tobytes() for row in self.inputs)


# --- fitting --------------------------------------------------------------------------------------------------


def _int8_rows(rows: npt.ArrayLike, what: str, width: int | None = None) -> I8:
    a = np.asarray(rows)
    if a.dtype != np.int8:
        raise DecoyError(f"{what} must be int8 rows (the model's quantised input), got {a.dtype}")
    a = a.reshape(len(a), -1) if a.ndim > 2 else a
    if a.ndim != 2 or (width is not None and a.shape[1] != width):
        raise DecoyError(f"{what} must be rows of {width or 'the same'} values, got shape {a.shape}")
    return a


def _nearest_l2(x: F64, ref: F64, exclude_self: bool = False) -> F64:
    """Each row of `x`'s Euclidean distance to its nearest row of `ref` (itself excluded when x is ref)."""
    d2 = (x * x).sum(axis=1)[:, None] + (ref * ref).sum(axis=1)[None, :] - 2.0 * x @ ref.T
    if exclude_self:
        np.fill_diagonal(d2, np.inf)
    return np.asarray(np.sqrt(np.maximum(d2.min(axis=1), 0.0)), dtype=np.float64)


def nearest_l1(x: I8, ref: I8, exclude_self: bool = False, chunk: int = 64) -> I64:
    """Each row of `x`'s L1 distance to its nearest row of `ref` (itself excluded when x is ref); a large value
    when `ref` is empty."""
    out = np.full(len(x), 2**31, dtype=np.int64)
    if not len(ref):
        return out
    r = ref.astype(np.int16)  # |a - b| <= 255: int16 differences, summed in int64
    for start in range(0, len(x), chunk):
        diff = np.abs(x[start:start + chunk].astype(np.int16)[:, None, :] - r[None, :, :])
        block = diff.sum(axis=2, dtype=np.int64)
        if exclude_self:
            block[np.arange(len(block)), np.arange(start, start + len(block))] = 2**31
        out[start:start + chunk] = block.min(axis=1)
    return out


def _mixture(x: F64, label: int, k: int, share: float, config: DecoyConfig) -> ClassMixture:
    prior = latent_correlation(x)
    assign = kmeans(x, k, DecoyStream(_FIT_SEED, b"kmeans/%d/%d" % (label, k))) if k > 1 else np.zeros(len(x), int)
    assign = _merge_small(x, assign, config.min_component_rows)
    comps, sizes = [], []
    for j in range(int(assign.max()) + 1):
        members = x[assign == j]
        comps.append(fit_component(members, prior, config.shrinkage, config.smooth))
        sizes.append(len(members))
    weights = np.array(sizes, dtype=np.float64) / len(x)
    return ClassMixture(label, share, weights, tuple(comps))


def _merge_small(x: F64, assign: I64, min_rows: int) -> I64:
    """Clusters of fewer than `min_rows` rows (or 2) given to the nearest large cluster's centre, renumbered."""
    counts = np.bincount(assign)
    large = np.flatnonzero(counts >= max(2, min_rows))
    if len(large) == 0:
        return np.zeros(len(x), dtype=np.int64)
    centres = np.array([x[assign == j].mean(axis=0) for j in large])
    out = assign.copy()
    for i in np.flatnonzero(~np.isin(assign, large)):
        out[i] = large[int(np.argmin(((centres - x[i]) ** 2).sum(axis=1)))]
    _, dense = np.unique(out, return_inverse=True)
    return dense.astype(np.int64)


def _sample(mixture: ClassMixture, stream: DecoyStream, n: int) -> F64:
    width = mixture.components[0].sorted_values.shape[1]
    picks = stream.choice(mixture.weights, n)
    latent = stream.normal(n * width).reshape(n, width)
    jitter = stream.normal(n * width).reshape(n, width)
    out = np.empty((n, width), dtype=np.float64)
    for j, comp in enumerate(mixture.components):
        rows = picks == j
        if rows.any():
            out[rows] = comp.sample(latent[rows], jitter[rows])
    return out


def _to_int8(values: F64) -> I8:
    return np.clip(np.round(values), -128, 127).astype(np.int8)


def calibrate(rows: I8, labels: I64, config: DecoyConfig = DecoyConfig()) -> dict[int, int]:
    """Clusters per class: the candidate k whose decoys' median distance to the nearest fit row is nearest the
    fit rows' own median leave-one-out distance (ties to the smaller k)."""
    x = rows.astype(np.float64)
    own = _nearest_l2(x, x, exclude_self=True)
    chosen: dict[int, int] = {}
    for label in np.unique(labels):
        members = x[labels == label]
        target = float(np.median(own[labels == label]))
        best: tuple[float, int] | None = None
        for k in sorted({min(k, max(1, len(members) // config.min_component_rows)) for k in config.candidates}):
            mix = _mixture(members, int(label), k, 1.0, config)
            stream = DecoyStream(_FIT_SEED, b"calibrate/%d/%d" % (int(label), k))
            drawn = _to_int8(_sample(mix, stream, CALIBRATION_DRAWS)).astype(np.float64)
            stat = float(np.median(_nearest_l2(drawn, x)))
            gap = abs(np.log(max(stat, 1e-9) / max(target, 1e-9)))
            if best is None or gap < best[0] - 1e-12:
                best = (gap, k)
        assert best is not None
        chosen[int(label)] = best[1]
    return chosen


def close_distance(published: I8) -> int:
    """The L1 distance at or below which a draw counts as a copy of a published row: the CLOSE_QUANTILE of the
    published rows' own nearest-neighbour distances (0 for fewer than two rows: only equal rows are copies)."""
    n = len(published)
    if n < 2:
        return 0
    probes = np.unique(np.linspace(0, n - 1, min(n, CLOSE_PROBES)).astype(np.int64))
    others = np.ones(n, dtype=bool)
    distances = []
    for i in probes:  # each probe's nearest other row: rows equal to it elsewhere in the set count as distance 0
        others[i] = False
        distances.append(int(nearest_l1(published[i:i + 1], published[others])[0]))
        others[i] = True
    return int(np.floor(np.quantile(np.array(distances), CLOSE_QUANTILE)))


def fit_generator(rows: npt.ArrayLike, labels: npt.ArrayLike, published: npt.ArrayLike | None = None,
                  config: DecoyConfig = DecoyConfig()) -> DecoyGenerator:
    """A generator fitted on int8 `rows` (n, width) of classes `labels`; decoys keep away from the fit rows and
    the `published` rows (every case anyone may hold: the model's training and held-out sets, earlier jobs'
    revealed decoys). DecoyError naming the problem."""
    x = _int8_rows(rows, "the fit rows")
    width = x.shape[1]
    y = np.asarray(labels)
    if y.dtype.kind not in "iu" or y.shape != (len(x),):
        raise DecoyError(f"labels must be one integer per fit row ({len(x)}), got {y.dtype} of shape {y.shape}")
    y = y.astype(np.int64)
    pub = _int8_rows(np.zeros((0, width), np.int8) if published is None else published, "the published rows", width)
    values, counts = np.unique(y, return_counts=True)
    if not len(values):
        raise DecoyError("no fit rows")
    thin = [f"{int(v)} ({int(c)})" for v, c in zip(values, counts, strict=True) if c < MIN_CLASS_ROWS]
    if thin:
        raise DecoyError(f"each class needs at least {MIN_CLASS_ROWS} fit rows; too few of class {', '.join(thin)}")
    if not 0.0 <= config.shrinkage <= 1.0 or config.min_component_rows < 2:
        raise DecoyError("shrinkage is from 0 to 1 and a cluster holds at least 2 rows")
    ks = dict(config.components) if config.components is not None else calibrate(x, y, config)
    missing = [int(v) for v, c in zip(values, counts, strict=True) if not 1 <= ks.get(int(v), 0) <= c // 2]
    if missing:
        raise DecoyError(f"clusters per class must be 1 to half the class's rows; wrong for class {missing}")
    xf = x.astype(np.float64)
    mixtures = tuple(_mixture(xf[y == v], int(v), ks[int(v)], float(c) / len(x), config)
                     for v, c in zip(values, counts, strict=True))
    everything = np.unique(np.concatenate([x, pub]), axis=0)
    everything.setflags(write=False)
    return DecoyGenerator(width, mixtures, everything, close_distance(everything))


# --- drawing --------------------------------------------------------------------------------------------------


def _shares(gen: DecoyGenerator, class_shares: Mapping[int, float] | None) -> F64:
    if class_shares is None:
        return np.array([c.share for c in gen.classes])
    unknown = sorted(set(class_shares) - set(gen.labels))
    if unknown:
        raise DecoyError(f"no decoys of class {unknown}: the generator knows classes {list(gen.labels)}")
    shares = np.array([float(class_shares.get(label, 0.0)) for label in gen.labels])
    if not np.isfinite(shares).all() or (shares < 0).any() or shares.sum() <= 0:
        raise DecoyError("class shares must be finite, non-negative and not all zero")
    return shares


def draw_decoys(gen: DecoyGenerator, seed: bytes, count: int, class_shares: Mapping[int, float] | None = None,
                avoid: Sequence[bytes] = ()) -> Decoys:
    """`count` decoys from the secret `seed` (at least 16 bytes, fresh per job: e.g. a hash of the clinic's secret
    and the job's nonce), the same for the same seed. Classes follow `class_shares` (label -> weight; default the
    fit rows' shares: give the clinic's own mix, since a provider sees every item's predicted class). No decoy
    lies within `gen.min_distance` (L1) of a published row, of an item in `avoid` (e.g. the job's real cases) or
    of another decoy. DecoyError if the seed is short or the published rows crowd out every draw."""
    if not isinstance(seed, bytes | bytearray) or len(seed) < MIN_SEED_BYTES:
        raise DecoyError(f"a decoy seed is at least {MIN_SEED_BYTES} secret bytes")
    if count < 0:
        raise DecoyError(f"a count of decoys is not negative, got {count}")
    shares = _shares(gen, class_shares)
    bad = [i for i, item in enumerate(avoid) if len(item) != gen.width]
    if bad:
        raise DecoyError(f"items to avoid are {gen.width} bytes each; item {bad[0]} is not")
    kept = np.concatenate([gen.published] + [np.frombuffer(bytes(a), np.int8)[None, :] for a in avoid]) \
        if avoid else gen.published
    stream = DecoyStream(bytes(seed), b"draw")
    rows = np.empty((count, gen.width), dtype=np.int8)
    labels = np.empty(count, dtype=np.int64)
    kept_count = 0
    for _ in range(MAX_ROUNDS):
        if kept_count >= count:
            break
        n = count - kept_count + 4
        picks = stream.choice(shares, n)
        batch = np.empty((n, gen.width), dtype=np.int8)
        for j, mixture in enumerate(gen.classes):
            sel = picks == j
            if sel.any():
                batch[sel] = _to_int8(_sample(mixture, stream, int(sel.sum())))
        far = nearest_l1(batch, kept) > gen.min_distance
        for i in np.flatnonzero(far):
            if kept_count >= count:
                break
            if int(nearest_l1(batch[i:i + 1], rows[:kept_count])[0]) <= gen.min_distance:
                continue  # too near an earlier decoy of this draw
            rows[kept_count], labels[kept_count] = batch[i], gen.classes[int(picks[i])].label
            kept_count += 1
    if kept_count < count:
        raise DecoyError(f"only {kept_count} of {count} draws kept away from the published cases; the generator's "
                         f"distribution is crowded by them (min_distance {gen.min_distance})")
    return Decoys(rows, labels)
