"""Fixtures shared by the node tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from btt_chain.node.service import Node, set_clock_skew_ms


@pytest.fixture
def nodes() -> Iterator[list[Node]]:
    """The nodes a test opens (it appends them): closed afterwards, their networks dropped first, and the clock skew
    a test may have set put back to 0."""
    opened: list[Node] = []
    yield opened
    set_clock_skew_ms(0)
    for n in opened:
        n.network = n.p2p = None
        n.close()
