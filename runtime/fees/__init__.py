"""Module `fees`: inclusion fee (base + per byte + per weight unit), tips, and the fee split at block end."""
