"""Spec 11 is the first spec a chain records (`system.spec_version` absent): every module at storage version 0, and
nothing to migrate from."""

from __future__ import annotations

STORAGE_VERSIONS: dict[str, int] = {}
MIGRATIONS: tuple[object, ...] = ()
