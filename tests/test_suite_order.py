"""The suite's slow-first order names files that exist: a renamed or removed file would silently fall back to
pytest's order (and a lane's tail)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import SLOW_FIRST

REPO = Path(__file__).resolve().parent.parent


def test_every_slow_first_file_exists_once() -> None:
    assert len(set(SLOW_FIRST)) == len(SLOW_FIRST)
    missing = [path for path in SLOW_FIRST if not (REPO / path).is_file()]
    assert not missing, missing
