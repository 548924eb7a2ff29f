"""Migrations of the incentives module's records: version 0 -> 1 fills `attested` and recomputes every home oracle
(issue 52, finding 5)."""

from __future__ import annotations

from itertools import islice

from runtime.overlay import Overlay

from ..incentives import storage
from ..migration import Migration
from ..session.migrations import items_after
from ..storage_version import storage_version


def attested_and_homes(state: Overlay, cursor: bytes, limit: int) -> tuple[bytes | None, int]:
    """Version 0 -> 1: `attested` holds what each oracle attested each patient, and `home_oracle` is the oracle that
    attested the patient the most points (spec 13 kept the oracle of its first attestation, and nothing for a patient
    attested before home oracles were kept; `attested` did not exist).

    The attestations are replayed under the new rule (`home.credit`), each patient's oldest first from the
    `by_patient` index: the points counted, the home moved to an oracle that has now attested strictly more than the
    home. A patient's replay starts from the home spec 13 recorded (its first attestation's oracle), or from its
    first attestation's oracle; so a tie keeps the earliest oracle, as the rule does (of two oracles tied in one
    block, the index's order, by evidence hash, decides, where the live rule takes the block's order). No patient
    has chosen a home yet. Each step replays up to `limit` attestations from its cursor, the index key of the last
    one replayed (a step may end inside a patient's attestations: the partial sums are in the state), and returns
    None once none is left."""
    batch = list(islice(items_after(state, storage.by_patient, cursor), limit + 1))  # read before writing any
    for key, _ in batch[:limit]:
        patient, evidence = key[:32], key[40:]
        a = storage.evidence.get(state, evidence)
        total = storage.attested.get(state, (patient, a.oracle)) + a.points
        storage.attested.put(state, (patient, a.oracle), total)
        home = storage.home_oracle.get(state, patient)
        if home is None or (home != a.oracle and total > storage.attested.get(state, (patient, home))):
            storage.home_oracle.put(state, patient, a.oracle)
    if len(batch) <= limit:
        return None, len(batch)
    return (batch[limit - 1][0] if limit else cursor), limit


def _count(state: Overlay) -> int:
    """Attestations left to replay: every attestation (each has one `by_patient` entry) while the module is at
    version 0, none once it is at 1 (the replay is done: its last step recorded the version; the entries stay)."""
    if storage_version(state, "incentives") >= 1:
        return 0
    return sum(1 for _ in state.iterate(storage.by_patient.prefix))


REPLAY_WEIGHT = 32
"""An attestation replayed, in weight units: its index entry and its record read, its oracle's sum read and written,
the home read (with the home's sum, and at times written): one or two state-tree leaves written. Measured with
`bench/upgrade_bench.py`'s database (LevelDB, the state tree and its root included; 2026-11-26, a 2-core host
shared with other work, the faster of 2 runs, one step each): 14.6 us an attestation with 10,000 of them, 20.4 with
100,000, 23.9 with 300,000 (patients of 5 attestations by 20 oracles); 23.9 x 1.3, rounded up, as the compute
weights' margin."""

ATTESTED_AND_HOMES = Migration(
    "incentives", 0, 1, "incentives: points attested per oracle kept, home oracles by the most points",
    attested_and_homes, item_weight=REPLAY_WEIGHT, count=_count,
)
