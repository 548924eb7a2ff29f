"""Names of the PayFi payments module's parameters (values and bounds are genesis data, see TOKENOMICS.md)."""

from __future__ import annotations

FEE = "payments.fee_bps"
"""Payment fee, as a share of the amount paid (charged to the payer on top of the amount)."""
FEE_BURN = "payments.fee_burn_bps"
"""Share of the payment fee that is burned; the rest goes to the treasury."""

ALL = (FEE, FEE_BURN)
