"""Module `treasury`: governance spends from the grant funds (Ecosystem Development Fund, Community
Incentives) and releases the Strategic Reserve. These are module accounts with no key, so no signed origin
can ever move them; only a governance origin reaches these calls."""
