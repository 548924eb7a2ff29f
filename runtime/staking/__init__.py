"""Module `staking`: term deposits in five tiers with yield from Community Incentives, tier benefits, and the
stakers' pro-rata share of transaction fees."""
