"""Names of the patient incentives module's parameters (values and bounds are genesis data)."""

from __future__ import annotations

from ..roles.types import ACTIVITIES

REDEEM_RATE = "incentives.redeem_rate"
"""Base units of BTT one point redeems for (paid from the Community Incentives pool). An epoch's requests are paid
at the rate of its first request; zero refuses new requests and, at settlement, pays nothing (points go back)."""
REDEEM_CAP = "incentives.redeem_cap_per_epoch"
"""The most BTT one patient's request may ask in one epoch (checked when the request is filed or grows)."""
GLOBAL_REDEEM_CAP = "incentives.redeem_cap_global_per_epoch"
"""The most BTT all patients' requests of one epoch are paid together; an over-subscribed epoch pays every request
the same share (Sybil patients of a corrupt oracle share it with everyone, first or last). Read at settlement."""


def points(activity: str) -> str:
    """Points an attested activity of this type earns."""
    return f"incentives.points.{activity}"


ALL = (REDEEM_RATE, REDEEM_CAP, GLOBAL_REDEEM_CAP, *(points(a) for a in ACTIVITIES))
