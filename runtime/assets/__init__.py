"""Module `assets`: the registry of real-world healthcare assets and their fractional tokens."""
