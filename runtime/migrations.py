"""This spec's storage versions and the migrations that bring an older spec's state to them: spec 12's from 11 (session
and evidence), kept so that a spec-11 chain may upgrade straight to this spec (a spec-12 chain's state is at their
versions already, and `upgrade.run_migrations` passes them by). Spec 13 changed no stored record (private jobs live
in new maps of their own), so it added none. Spec 14 (issue 52) adds the parameters its rules read, re-keys compute's
eviction index by whole price, records what assignments made before it hold of their providers' bonds, and replays
the incentives attestations into per-oracle totals and home oracles by the most points. Spec 15 (issue 53) adds the
parameters of its new modules, `utility` and `proxy` (their storage starts empty, at version 0). Spec 16 keeps a closed
private job's decoy cases while its assignment is late; its migration (compute 2 -> 3) clears the revealed positions
of the late private jobs whose cases spec 15 had dropped, so that their late reveals open nothing. Spec 17 puts a
requester's own inputs on chain before a provider is held to them (`compute.posted_inputs`): new maps only, and a job
posted or drawn before it keeps spec 16's rules, so it adds no migration. Spec 18 has a job posted again for a
failed place read its original's input chunks instead of a copy (`compute.inputs_from`, `compute.input_sharers`): new
maps only, and a copy spec 17 made is released as it always was, so it adds no migration either. Spec 19 weighs and
bounds the compute module's start-of-block work: its one new parameter, `compute.hook_max_weight`, is written by
the params migration 2 -> 3 (its backlog marker is a new value, absent until work waits). Spec 20 sums the compute
house's whole weight from per-epoch credit totals: compute 3 -> 4 records the epoch they start at (one item).

The contributors' rule: a change of a stored record's shape or meaning bumps its module's version here and adds the
migration from the previous version (tested on a database the previous spec made); a change of rules is a new spec.
"""

from __future__ import annotations

from .compute.credit_totals_migration import CREDIT_TOTALS
from .compute.hold_migration import RECORD_HOLDS
from .compute.late_decoys_migration import LATE_DECOYS
from .compute.migrations import EVICTABLE_BY_PRICE
from .evidence.migrations import REPORTS_BY_ACCOUNT
from .incentives.migrations import ATTESTED_AND_HOMES
from .params.migrations import ADD_SPEC14_PARAMETERS, ADD_SPEC15_PARAMETERS, ADD_SPEC19_PARAMETERS
from .session.migrations import RECORD_EVERY_OWNER

STORAGE_VERSIONS: dict[str, int] = {
    "system": 0,
    "consensus": 0,
    "balances": 0,
    "params": 3,  # spec 14: the parameters its rules read (1); spec 15: the utility and proxy modules' (2); spec 19:
    # the compute hook's budget (3)
    "session": 1,  # spec 12: every session key's owner recorded
    "evidence": 1,  # spec 12: reported offences kept by account
    "vesting": 0,
    "treasury": 0,
    "roles": 0,
    "staking": 0,
    "bonds": 0,
    "compute": 4,  # spec 14: eviction by whole price and owners' eviction indexes (1); bond holds (2); spec 16: the
    # late private jobs whose decoys spec 15 dropped open nothing (3); spec 20: per-epoch credit totals (4)
    "multisig": 0,
    "governance": 0,
    "assets": 0,
    "payments": 0,
    "incentives": 1,  # spec 14: points attested per oracle kept, home oracles by the most points
    "timestamp": 0,
    "utility": 0,  # spec 15: stores nothing
    "proxy": 0,  # spec 15: a new module, its storage empty before it
}
"""Every module -> the storage version this spec's code reads and writes (0: as spec 11 stored it, which recorded no
version). A module added later declares its version here too (tests/runtime/test_upgrade.py holds every module to
it)."""

MIGRATIONS = (
    RECORD_EVERY_OWNER,
    REPORTS_BY_ACCOUNT,  # after the session's: it names offenders by the key owners that one records
    ADD_SPEC14_PARAMETERS,  # spec 14: first, the rules of the blocks after read them
    ADD_SPEC15_PARAMETERS,  # spec 15: the utility and proxy modules' parameters
    ADD_SPEC19_PARAMETERS,  # spec 19: the compute hook's budget, read from the first block of spec 19
    EVICTABLE_BY_PRICE,
    RECORD_HOLDS,
    LATE_DECOYS,  # spec 16
    CREDIT_TOTALS,  # spec 20
    ATTESTED_AND_HOMES,
)
