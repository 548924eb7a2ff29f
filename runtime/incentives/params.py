"""Names of the patient incentives module's parameters (values and bounds are genesis data)."""

from __future__ import annotations

from runtime.roles.types import ACTIVITIES

REDEEM_RATE = "incentives.redeem_rate"
"""Base units of BTT one point redeems for (paid from the Community Incentives pool)."""
REDEEM_CAP = "incentives.redeem_cap_per_epoch"
"""The most BTT one patient may redeem in one epoch."""
GLOBAL_REDEEM_CAP = "incentives.redeem_cap_global_per_epoch"
"""The most BTT all patients together may redeem in one epoch (Sybil patients of a corrupt oracle share it)."""


def points(activity: str) -> str:
    """Points an attested activity of this type earns."""
    return f"incentives.points.{activity}"


ALL = (REDEEM_RATE, REDEEM_CAP, GLOBAL_REDEEM_CAP, *(points(a) for a in ACTIVITIES))
