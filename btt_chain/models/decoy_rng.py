"""The random numbers behind a clinic's decoys: SHAKE-256 in counter mode, keyed by the clinic's secret seed.

A decoy is only as hidden as its randomness: with numpy's PCG64 a provider who saw a few revealed decoys could in
principle recover the generator's state and predict the next job's decoys. Here every request hashes
(key, request counter) with SHAKE-256, so a draw reveals nothing about any other draw, and the same seed gives the
same numbers on any machine (the conversions below are exact integer or IEEE operations).
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

MIN_SEED_BYTES = 16
"""A seed shorter than 128 bits could be searched."""
_TAG = b"btt-chain/decoys/v1"


class DecoyStream:
    """A deterministic, unpredictable stream of numbers from a secret `seed` and a public `domain` label (one
    stream per purpose, so two uses of one secret never share numbers)."""

    def __init__(self, seed: bytes, domain: bytes = b"") -> None:
        if not isinstance(seed, bytes | bytearray) or len(seed) < MIN_SEED_BYTES:
            raise ValueError(f"a decoy seed is at least {MIN_SEED_BYTES} secret bytes")
        framed = _TAG + len(domain).to_bytes(4, "little") + bytes(domain) + bytes(seed)
        self._key = hashlib.shake_256(framed).digest(32)
        self._counter = 0

    def _words(self, n: int) -> npt.NDArray[np.uint64]:
        """n fresh 64-bit words: SHAKE-256(key || counter), the counter advancing once per request."""
        data = hashlib.shake_256(self._key + self._counter.to_bytes(8, "little")).digest(8 * n)
        self._counter += 1
        return np.frombuffer(data, dtype="<u8").astype(np.uint64)

    def uniform(self, n: int) -> F64:
        """n numbers in the open interval (0, 1), 53 random bits each."""
        top = (self._words(n) >> np.uint64(11)).astype(np.float64)
        return (top + 0.5) / float(1 << 53)

    def normal(self, n: int) -> F64:
        """n standard normal numbers (Box-Muller on uniforms in (0, 1): never log(0))."""
        half = (n + 1) // 2
        u = self.uniform(2 * half)
        radius = np.sqrt(-2.0 * np.log(u[:half]))
        angle = 2.0 * math.pi * u[half:]
        return np.concatenate([radius * np.cos(angle), radius * np.sin(angle)])[:n]

    def below(self, bound: int, n: int) -> I64:
        """n integers uniform in 0..bound-1, without modulo bias (words above the last whole multiple of `bound`
        are drawn again)."""
        if not 1 <= bound <= 2**32:
            raise ValueError(f"a bound is 1 to 2**32, got {bound}")
        limit = (2**64 // bound) * bound
        out: list[int] = []
        while len(out) < n:
            out.extend(int(w) % bound for w in self._words(n - len(out)) if int(w) < limit)
        return np.array(out, dtype=np.int64)

    def choice(self, weights: npt.ArrayLike, n: int) -> I64:
        """n indices drawn with probabilities proportional to `weights` (non-negative, not all zero)."""
        w = np.asarray(weights, dtype=np.float64)
        if w.ndim != 1 or not len(w) or (w < 0).any() or not np.isfinite(w).all() or w.sum() <= 0:
            raise ValueError("weights must be finite, non-negative and not all zero")
        cumulative = np.cumsum(w / w.sum())
        picks = np.searchsorted(cumulative, self.uniform(n), side="right")
        last = int(np.flatnonzero(w > 0)[-1])  # a sum rounding below 1 never picks past the last weighted index
        return np.minimum(picks, last).astype(np.int64)
