"""Names of the asset registry's parameters (values and bounds are genesis data, see TOKENOMICS.md)."""

from __future__ import annotations

MINT_FEE = "assets.mint_fee_bps"
"""Tokenisation fee, as a share of the asset's valuation."""
MINT_FEE_BURN = "assets.mint_fee_burn_bps"
"""Share of the tokenisation fee that is burned; the rest goes to the treasury."""
TRADE_FEE = "assets.trade_fee_bps"
"""Secondary trade fee, as a share of the trade's price."""
TRADE_FEE_BURN = "assets.trade_fee_burn_bps"
REVALUE_FEE = "assets.revalue_fee_bps"
"""Revaluation fee, as a share of the new valuation."""
REVALUE_FEE_BURN = "assets.revalue_fee_burn_bps"

ALL = (MINT_FEE, MINT_FEE_BURN, TRADE_FEE, TRADE_FEE_BURN, REVALUE_FEE, REVALUE_FEE_BURN)
