"""Run a test module's state-tree tests once with the compiled update and once with the Python one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import storage.smt as smt

IMPLS = ["native", "python"] if smt.NATIVE_UPDATE else ["python"]


@pytest.fixture(scope="module", autouse=True, params=IMPLS)
def tree_update_impl(request: pytest.FixtureRequest) -> Iterator[str]:
    """Every SparseMerkleTree the module makes uses this update (module scope: hypothesis allows it)."""
    saved = smt._native  # noqa: SLF001
    if request.param == "python":
        smt._native = None  # noqa: SLF001
    try:
        yield request.param
    finally:
        smt._native = saved  # noqa: SLF001
