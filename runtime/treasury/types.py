"""Types of the treasury module: which module accounts governance may spend from."""

from __future__ import annotations

SPEND_SOURCES = ("ecosystem_fund", "community_incentives")
"""Module accounts `treasury.spend` may pay grants from."""
STRATEGIC_RESERVE = "strategic_reserve"
"""Frozen whole at genesis; only `treasury.release_strategic_reserve` unfreezes it."""
