"""Types of the roles module: the activity types health oracles attest, and the list limits."""

from __future__ import annotations

ACTIVITIES = ("preventive_visit", "treatment_adherence", "healthy_lifestyle", "referral")
"""Patient activity types (TOKENOMICS.md, health incentives); governance appoints oracles per type."""
MAX_ACTIVITY_NAME = 32
MAX_REPRESENTATIVES = 100
"""Most community representatives at once (the representatives house is one account, one vote)."""
REPRESENTATIVES_ARG_LIMIT = 1_000
"""Decoding bound of `set_representatives`' list: longer lists are refused at decoding, lists between
MAX_REPRESENTATIVES and this by the call, with a readable error."""
MAX_SCHEDULE_YEARS = 100
"""Longest decentralisation schedule (entries of `institution_share_bps`)."""
BPS_DENOMINATOR = 10_000
