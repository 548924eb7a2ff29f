"""Module `treasury`: governance spends from the grant funds (Ecosystem Development Fund, Community
Incentives), executes the milestone burns from the Foundation allocation, and (emergency track only) releases
the Strategic Reserve. These are module accounts with no key, so no signed origin can ever move them; only a
governance origin reaches these calls."""
