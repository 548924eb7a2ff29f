"""This spec's storage versions and the migrations that bring the previous spec's state to them (spec 12, from 11).

The contributors' rule: a change of a stored record's shape or meaning bumps its module's version here and adds the
migration from the previous version (tested on a database the previous spec made); a change of rules is a new spec.
"""

from __future__ import annotations

from .evidence.migrations import REPORTS_BY_ACCOUNT
from .session.migrations import RECORD_EVERY_OWNER

STORAGE_VERSIONS: dict[str, int] = {
    "session": 1,
    "evidence": 1,
}
"""Module -> the storage version this spec's code reads and writes (absent: 0)."""

MIGRATIONS = (
    RECORD_EVERY_OWNER,
    REPORTS_BY_ACCOUNT,  # after the session's: it names offenders by the key owners that one records
)
