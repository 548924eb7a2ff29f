"""Genesis of the roles module: the community representatives and the founding institutions house (accounts,
weights and the decentralisation schedule), with the rules the calls and the genesis loader enforce."""

from __future__ import annotations

from collections.abc import Iterable

from runtime.overlay import Overlay

from ..roles import errors, logic, storage
from ..roles.types import BPS_DENOMINATOR, MAX_SCHEDULE_YEARS


def build(
    state: Overlay,
    representatives: Iterable[bytes],
    institutions: Iterable[tuple[bytes, int]],
    institution_share_bps: Iterable[int],
) -> None:
    """Store the three. ValueError for repeated or too many representatives, a repeated institution or one
    without weight, or a schedule entry outside 1..10,000 bps, a rising schedule or one too long."""
    reps = tuple(representatives)
    try:
        logic.check_representatives(reps)
    except errors.RolesError as exc:
        raise ValueError(f"genesis representatives: {exc}") from None
    storage.representatives.put(state, reps)
    for who, weight in institutions:
        if storage.institutions.contains(state, who):
            raise ValueError(f"institution {who.hex()} appears twice")
        if weight <= 0:
            raise ValueError(f"institution {who.hex()} has no voting weight")
        storage.institutions.put(state, who, weight)
    shares = tuple(institution_share_bps)
    if len(shares) > MAX_SCHEDULE_YEARS:
        raise ValueError(f"the decentralisation schedule has {len(shares)} years, at most {MAX_SCHEDULE_YEARS}")
    if any(not 0 < s <= BPS_DENOMINATOR for s in shares):
        raise ValueError(f"institution shares must be 1..{BPS_DENOMINATOR} bps, got {shares}")
    if any(b > a for a, b in zip(shares, shares[1:], strict=False)):
        raise ValueError(f"institution shares must not rise from year to year, got {shares}")
    storage.institution_share_bps.put(state, shares)


def appoint(state: Overlay, verifiers: Iterable[bytes], oracles: Iterable[tuple[str, bytes]]) -> None:
    """Store the verifiers and oracles appointed at genesis. ValueError for a repeat or an unknown activity."""
    for who in verifiers:
        if storage.verifiers.contains(state, who):
            raise ValueError(f"verifier {who.hex()} appears twice")
        storage.verifiers.put(state, who, True)
    for activity, who in oracles:
        try:
            logic.check_activity(activity)
        except errors.RolesError as exc:
            raise ValueError(f"genesis oracles: {exc}") from None
        if storage.oracles.contains(state, (activity, who)):
            raise ValueError(f"oracle {who.hex()} of {activity} appears twice")
        storage.oracles.put(state, (activity, who), True)
