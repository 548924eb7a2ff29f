"""Storage of the roles module: appointed verifiers and oracles, and the governance houses' membership.

The house data lives here rather than in the governance module because roles owns every membership list:
`representatives` is changed by `roles.set_representatives`; `institutions` and `institution_share_bps` are
written once at genesis (`runtime.genesis.build_state`) and read by the governance tally.
"""

from __future__ import annotations

from btt_chain.primitives.codec import ACCOUNT, AMOUNT, BOOL, U16, ListOf, Text

from ..items import MAX_KEY_TEXT, StorageMap, StorageValue, str_from_key, str_key
from ..roles.types import MAX_REPRESENTATIVES, MAX_SCHEDULE_YEARS

M = "roles"

verifiers: StorageMap[bool] = StorageMap(M, "verifiers", BOOL, key_types=(ACCOUNT,))
"""Account -> True for each appointed asset verifier (absent: not a verifier)."""


def oracle_key(key: tuple[str, bytes]) -> bytes:
    """(activity, account) -> SCALE(activity) | account (32 bytes): an activity's oracles share a prefix."""
    activity, who = key
    return str_key(activity) + who


def oracle_from_key(raw: bytes) -> tuple[str, bytes]:
    return str_from_key(raw[:-32]), raw[-32:]


oracles: StorageMap[bool] = StorageMap(M, "oracles", BOOL, oracle_key, oracle_from_key,
                                       key_types=(Text(MAX_KEY_TEXT), ACCOUNT))
"""(activity, account) -> True for each appointed health oracle of that activity type."""

representatives: StorageValue[tuple[bytes, ...]] = StorageValue(
    M, "representatives", ListOf(ACCOUNT, MAX_REPRESENTATIVES), default=()
)
"""The community representatives house, in the order governance set it (one account, one vote)."""

institutions: StorageMap[int] = StorageMap(M, "institutions", AMOUNT, default=0, key_types=(ACCOUNT,))
"""The founding institutions house: account -> voting weight (its genesis allocation, base units; 0 for any other
account). Written at genesis only."""

institution_share_bps: StorageValue[tuple[int, ...]] = StorageValue(
    M, "institution_share_bps", ListOf(U16, MAX_SCHEDULE_YEARS), default=()
)
"""Progressive decentralisation: the institutions' share in bps for year 1, 2, ...; the last entry holds for
every later year. Genesis only."""
