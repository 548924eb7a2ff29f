"""Module `incentives`: patient activity attestations by appointed oracles, points, and redemption for BTT."""
