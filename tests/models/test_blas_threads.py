"""The test processes run numpy's BLAS and scikit-learn's OpenMP on one thread (tests/conftest.py): a pool of a
thread per core, beside the suite's other worker and other busy processes, made the classifier tests ~8x slower."""

from __future__ import annotations

import os

import pytest

threadpoolctl = pytest.importorskip("threadpoolctl")
pytest.importorskip("sklearn")


def test_every_blas_and_openmp_pool_of_a_test_process_has_one_thread() -> None:
    import numpy as np
    from sklearn.neighbors import KNeighborsClassifier

    # load the libraries the classifier tests use (OpenMP comes with scikit-learn's compiled parts)
    KNeighborsClassifier(n_neighbors=1).fit(np.eye(3), [0, 1, 2]).predict(np.eye(3))
    pools = threadpoolctl.threadpool_info()
    assert pools, "no BLAS or OpenMP pool found: nothing to check"
    assert {p["user_api"] for p in pools} >= {"blas"}
    chosen = {v: os.environ.get(v) for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    assert all(chosen.values()), f"tests/conftest.py sets each of them (to 1 unless already set): {chosen}"
    if set(chosen.values()) == {"1"}:  # the suite's setting, unless whoever ran it chose otherwise
        assert all(p["num_threads"] == 1 for p in pools), pools
