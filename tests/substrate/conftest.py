"""Fixtures for the Substrate client tests (real node processes): a harness that keeps data and logs on failure."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.functional.framework import Harness


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture
def harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    h = Harness(request.node.name.replace("[", "-").replace("]", ""))
    yield h
    failed = getattr(request.node, "rep_call", None) is None or request.node.rep_call.failed
    h.teardown(failed)
