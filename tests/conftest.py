"""Fixtures of every test: the process-wide weights source and the root logger are put back after each test. A node
installs its content store as the runtime's weights source (and puts the previous one back when it closes); a test
that leaves a node open must not leave the tests after it without the models they registered. `btt-chain node` run
in-process configures the root logger (its handler and level): the tests after it must see what a fresh process
shows, not its log lines."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from _pytest.logging import LogCaptureHandler
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
