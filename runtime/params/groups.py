"""Parameters that split one whole between them: their values always add up to 10,000 bps.

A member of a group never changes alone (`params.set_parameter` refuses it); `params.set_shares` changes
the whole group at once, on the emergency track. These are names, not figures: the figures are genesis data.
"""

from __future__ import annotations

from ..governance import params as governance_params

SHARE_GROUPS: dict[str, tuple[str, ...]] = {
    "fees": ("fees.author_bps", "fees.stakers_bps", "fees.development_bps"),
    "compute": ("compute.provider_bps", "compute.development_bps", "compute.foundation_bps", "compute.reserve_bps"),
    "governance houses": tuple(governance_params.house_weight(h) for h in governance_params.HOUSES),
}
SHARE_TOTAL = 10_000


def group_of(name: str) -> str | None:
    for group, names in SHARE_GROUPS.items():
        if name in names:
            return group
    return None
