"""Fixtures of every test: the process-wide weights source and the root logger are put back after each test. A node
installs its content store as the runtime's weights source (and puts the previous one back when it closes); a test
that leaves a node open must not leave the tests after it without the models they registered. `btt-chain node` run
in-process configures the root logger (its handler and level): the tests after it must see what a fresh process
shows, not its log lines."""

from __future__ import annotations

import os

BLAS_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")
"""One BLAS and OpenMP thread in every test process (and the processes tests start), unless the environment says
otherwise: the suite runs two workers on two cores beside other busy processes, where the classifiers of
tests/models (scikit-learn, numpy) with a thread per core spun and waited on each other: 100 s for a test that
takes 12 with one thread, and ~2x the CPU."""
for _var in BLAS_THREAD_VARIABLES:
    os.environ.setdefault(_var, "1")  # before numpy loads its BLAS

import logging  # noqa: E402
from collections.abc import Iterator  # noqa: E402

import pytest  # noqa: E402
from _pytest.logging import LogCaptureHandler  # noqa: E402
from hypothesis import settings  # noqa: E402

# before any test module imports plyvel, so that plyvel binds to btt-chain's LevelDB build (storage/leveldb_build.py)
import storage.leveldb_build  # noqa: E402,F401
from btt_chain.primitives import hash_chain  # noqa: E402
from runtime.compute import weights_source  # noqa: E402

hash_chain.CACHED_CHAINS = 64
"""A test process is hundreds of nodes in turn, not one: with a node's 8 cached hash chains, the tests that make keys
of their own (rotations, joins) pushed the dev validators' chains out, and each of the four was built again 12-18
times (2**20 steps, ~0.23 s each: 17 s of the in-process tests' CPU). 64 chains of at most 2**24 reveals hold at most
~80 MiB of checkpoints, 64 of the dev chains' 2**20 ~5 MiB."""


# no per-example time limit (hypothesis' default is 200 ms): a busy machine stretches any example past a fixed budget
settings.register_profile("btt", deadline=None)
settings.load_profile("btt")


@pytest.fixture(autouse=True)
def weights_source_restored() -> Iterator[None]:
    saved = weights_source.installed()
    yield
    if weights_source.installed() is not saved:
        weights_source.install(saved)


@pytest.fixture(autouse=True)
def root_logger_restored() -> Iterator[None]:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    root.setLevel(level)
    for handler in list(root.handlers):
        # pytest's own capture handlers come and go with each phase of a test: only what the test added goes
        if handler not in handlers and not isinstance(handler, LogCaptureHandler):
            root.removeHandler(handler)
