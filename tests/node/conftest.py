"""Fixtures shared by the node tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from btt_chain.node import sigcheck
from btt_chain.node.service import Node, set_clock_skew_ms
from btt_chain.node.sigcheck import SignatureChecker


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


@pytest.fixture
def threaded(monkeypatch: pytest.MonkeyPatch) -> Iterator[SignatureChecker]:
    """A checker whose ed25519 checks of any block go to a verify thread (as a big block's do)."""
    monkeypatch.setattr(sigcheck, "PARALLEL_THRESHOLD", 1)
    checker = SignatureChecker(workers=1)
    assert not checker.has_workers  # the block's stateless checks are made by the importer
    yield checker
    checker.close()
