"""Module `system`: accounts (nonce and balances record), block number and time, recent block hashes, issuance."""
