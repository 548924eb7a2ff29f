"""Fixtures of every test: the process-wide weights source is put back after each test. A node installs its content
store as the runtime's weights source (and puts the previous one back when it closes); a test that leaves a node
open must not leave the tests after it without the models they registered."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import settings

from runtime.compute import weights_source

# no per-example time limit (hypothesis' default is 200 ms): a busy machine stretches any example past a fixed budget
settings.register_profile("btt", deadline=None)
settings.load_profile("btt")


@pytest.fixture(autouse=True)
def weights_source_restored() -> Iterator[None]:
    saved = weights_source.installed()
    yield
    if weights_source.installed() is not saved:
        weights_source.install(saved)
