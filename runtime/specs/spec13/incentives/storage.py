"""Storage of the incentives module: points held, used evidence hashes, a per-patient index of attestations and
home oracle, the open epoch's redemption requests with their oracle groups, and what the latest settlement paid."""

from __future__ import annotations

from btt_chain.primitives.codec import ACCOUNT, AMOUNT, BOOL, HASH, U64, Nested
from runtime.overlay import Overlay

from ..incentives.types import Attestation, OracleGroup, Payout, RedeemRound, RoundResult
from ..items import ID_KEY, StorageMap, StorageValue, u64_from_key, u64_key

M = "incentives"

points: StorageMap[int] = StorageMap(M, "points", U64, default=0, key_types=(ACCOUNT,))
"""Account -> points held (absent: none; the entry goes when the last point is requested for redemption)."""

evidence: StorageMap[Attestation] = StorageMap(M, "evidence", Nested(Attestation))
"""Evidence hash -> the attestation it paid for. Never removed: a stored hash can never be rewarded again."""


def patient_key(key: tuple[bytes, int, bytes]) -> bytes:
    """(patient, block, evidence) -> patient (32) | block (u64) | evidence (32): a patient's attestations share
    a prefix and iterate oldest first."""
    patient, block, evidence_hash = key
    return patient + u64_key(block) + evidence_hash


def patient_from_key(raw: bytes) -> tuple[bytes, int, bytes]:
    return raw[:32], u64_from_key(raw[32:40]), raw[40:]


by_patient: StorageMap[bool] = StorageMap(M, "by_patient", BOOL, patient_key, patient_from_key,
                                         key_types=(ACCOUNT, ID_KEY, HASH))
"""(patient, block, evidence hash) -> True for each attestation of the patient (the index behind queries)."""

home_oracle: StorageMap[bytes] = StorageMap(M, "home_oracle", ACCOUNT, key_types=(ACCOUNT,))
"""Patient -> the oracle of its first attestation, set then and never changed: its redemption requests belong to
that oracle's group (`redemption.py`). No later attestation, by any oracle, moves a patient to another group."""


def request_key(key: tuple[int, bytes]) -> bytes:
    """(epoch, account) -> epoch (u64) | account (32): an epoch's entries share a prefix (requests by patient, oracle
    groups by oracle)."""
    epoch, who = key
    return u64_key(epoch) + who


def request_from_key(raw: bytes) -> tuple[int, bytes]:
    return u64_from_key(raw[:8]), raw[8:]


requests: StorageMap[int] = StorageMap(M, "requests", U64, request_key, request_from_key, default=0,
                                       key_types=(ID_KEY, ACCOUNT))
"""(epoch, patient) -> points the patient asked to redeem in that epoch, not yet paid. Only the open round's
epoch has entries; its settlement removes them all, and an eviction the one it evicts."""


def group_row_key(key: tuple[int, bytes, int]) -> bytes:
    """(epoch, oracle, n) -> epoch (u64) | oracle (32) | n (u64): a group's rows share a prefix, in filing order."""
    epoch, oracle, n = key
    return u64_key(epoch) + oracle + u64_key(n)


def group_row_from_key(raw: bytes) -> tuple[int, bytes, int]:
    return u64_from_key(raw[:8]), raw[8:40], u64_from_key(raw[40:48])


group_rows: StorageMap[bytes] = StorageMap(M, "group_rows", ACCOUNT, group_row_key, group_row_from_key,
                                           key_types=(ID_KEY, ACCOUNT, ID_KEY))
"""(epoch, oracle, n) -> the patient of the n-th row (from 0) the oracle's group holds in that epoch's table: a
stack, so the group's newest row is found in one read. Settled and cleared with the round."""


oracle_groups: StorageMap[OracleGroup] = StorageMap(M, "oracle_groups", Nested(OracleGroup), request_key,
                                                    request_from_key, key_types=(ID_KEY, ACCOUNT))
"""(epoch, oracle) -> the rows its patients hold in that epoch's table and its place in `groups_by_rows` (absent:
none)."""


def epoch_pair_key(key: tuple[int, int, int]) -> bytes:
    """(epoch, a, b) -> epoch (u64) | a (u64) | b (u64)."""
    epoch, a, b = key
    return u64_key(epoch) + u64_key(a) + u64_key(b)


def epoch_pair_from_key(raw: bytes) -> tuple[int, int, int]:
    return u64_from_key(raw[:8]), u64_from_key(raw[8:16]), u64_from_key(raw[16:24])


groups_by_rows: StorageMap[bytes] = StorageMap(M, "groups_by_rows", ACCOUNT, epoch_pair_key, epoch_pair_from_key,
                                               key_types=(ID_KEY, ID_KEY, ID_KEY))
"""(epoch, rows, slot) -> an oracle whose group holds `rows` rows of that epoch's table; slots 0.. are dense (see
`groups_with_rows`), so a group this large is found in one read and leaves the list in one step."""


def epoch_u64_key(key: tuple[int, int]) -> bytes:
    """(epoch, n) -> epoch (u64) | n (u64)."""
    epoch, n = key
    return u64_key(epoch) + u64_key(n)


def epoch_u64_from_key(raw: bytes) -> tuple[int, int]:
    return u64_from_key(raw[:8]), u64_from_key(raw[8:16])


groups_with_rows: StorageMap[int] = StorageMap(M, "groups_with_rows", U64, epoch_u64_key, epoch_u64_from_key,
                                               default=0, key_types=(ID_KEY, ID_KEY))
"""(epoch, rows) -> how many oracle groups hold exactly `rows` rows of that epoch's table (absent: none)."""

open_round: StorageValue[RedeemRound] = StorageValue(M, "open_round", Nested(RedeemRound))
"""The open round: the epoch whose requests wait for payment, with its rate and totals (absent: none)."""

payouts: StorageMap[Payout] = StorageMap(M, "payouts", Nested(Payout), key_types=(ACCOUNT,))
"""Account -> what its latest settled request asked and was paid."""

last_round: StorageValue[RoundResult] = StorageValue(M, "last_round", Nested(RoundResult))
"""How the latest settled round was paid (absent before the first settlement)."""

outstanding_points: StorageValue[int] = StorageValue(M, "outstanding_points", U64, default=0)
"""Points attested and not yet paid, over all patients: the sum of `points` and of `requests`."""

total_paid: StorageValue[int] = StorageValue(M, "total_paid", AMOUNT, default=0)
"""Base units paid out of the Community Incentives pool by every settlement so far."""


def requests_of_epoch(state: Overlay, epoch: int) -> list[tuple[bytes, int]]:
    """(patient, points) of every request of `epoch`, in account order."""
    prefix = requests.prefix + u64_key(epoch)
    n = len(prefix)
    return [(key[n:], requests.codec.decode(raw)) for key, raw in state.iterate(prefix)]


ROUND_ITEMS = (requests, group_rows, oracle_groups, groups_by_rows, groups_with_rows)
"""The maps that hold one epoch's table under the epoch's prefix: a settlement empties each (at most
MAX_REQUESTS_PER_EPOCH entries apiece: every group holds a row, every row count a group)."""


def round_keys(state: Overlay, epoch: int) -> list[bytes]:
    """Every key of `epoch`'s table in the ROUND_ITEMS maps."""
    return [key for item in ROUND_ITEMS for key, _ in state.iterate(item.prefix + u64_key(epoch))]
