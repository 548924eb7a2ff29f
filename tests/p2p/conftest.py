"""Fixtures for the p2p tests: `net` builds services in this process and stops them all afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.p2p.harness import Net


@pytest.fixture
async def net(tmp_path: Path) -> AsyncIterator[Net]:
    network = Net(tmp_path)
    yield network
    await network.stop_all()
